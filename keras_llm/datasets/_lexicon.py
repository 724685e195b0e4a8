"""Word lists of the built-in synthetic English-like grammar.

Every word belongs to exactly one word class (verb forms of one verb may
coincide, e.g. ``read``/``read``). Keeping the classes disjoint, together with
the attachment rules in ``grammar.py``, makes the grammar unambiguous, so the
synthetic translation task is a deterministic function of the source string.
"""


def _pairs(text):
    """Parses ``"dog/dogs cat/cats"`` into ``[("dog", "dogs"), ...]``."""
    return [tuple(item.split("/")) for item in text.split()]


ANIMATE_NOUNS = _pairs(
    "dog/dogs cat/cats bird/birds horse/horses fox/foxes wolf/wolves mouse/mice "
    "child/children teacher/teachers farmer/farmers doctor/doctors "
    "student/students king/kings queen/queens baker/bakers sailor/sailors "
    "artist/artists neighbor/neighbors girl/girls boy/boys man/men woman/women "
    "rabbit/rabbits owl/owls bear/bears friend/friends driver/drivers "
    "singer/singers pilot/pilots goose/geese monkey/monkeys duck/ducks "
    "lion/lions tiger/tigers nurse/nurses uncle/uncles aunt/aunts "
    "elephant/elephants eagle/eagles"
)

INANIMATE_NOUNS = _pairs(
    "ball/balls book/books box/boxes house/houses tree/trees car/cars "
    "river/rivers garden/gardens table/tables chair/chairs hat/hats lamp/lamps "
    "cup/cups door/doors window/windows road/roads hill/hills bridge/bridges "
    "boat/boats letter/letters song/songs picture/pictures stone/stones "
    "flower/flowers apple/apples cake/cakes key/keys bag/bags city/cities "
    "forest/forests field/fields kitchen/kitchens market/markets "
    "school/schools map/maps coat/coats basket/baskets candle/candles "
    "clock/clocks shoe/shoes island/islands umbrella/umbrellas "
    "bottle/bottles ladder/ladders pencil/pencils"
)

NAMES = (
    "anna ben clara david emma felix grace henry iris jack lena max nora "
    "oscar paul rosa sam tom vera zoe"
).split()

SUBJECT_PRONOUNS = {"sg": ("he", "she"), "pl": ("they",), "it": "it"}
OBJECT_PRONOUNS = ("him", "her", "them", "it")

DETERMINERS = {
    "sg": "the a every each this my your our his their no".split(),
    "pl": "the some many these those few two three several all my your our his their no".split(),
}

NEUTRAL_ADJECTIVES = (
    "small big red blue green old young tall quiet loud bright dark heavy round "
    "soft warm cold wooden yellow little long short new strange busy white black "
    "brown tiny huge narrow wide empty full distant hidden striped sleepy hungry "
    "silent ancient golden purple orange"
).split()
POSITIVE_ADJECTIVES = (
    "good wonderful happy lovely great excellent beautiful delightful pleasant "
    "charming kind brilliant friendly joyful cheerful superb fantastic marvelous"
).split()
NEGATIVE_ADJECTIVES = (
    "bad terrible awful sad horrible ugly nasty dreadful unpleasant boring rude "
    "gloomy miserable dull poor grim hateful annoying"
).split()


def _verbs(text):
    """Parses ``"sees/see/saw ..."`` into (third-singular, base, past) triples."""
    return [tuple(item.split("/")) for item in text.split()]


NEUTRAL_TRANSITIVE_VERBS = _verbs(
    "sees/see/saw finds/find/found carries/carry/carried holds/hold/held "
    "watches/watch/watched follows/follow/followed paints/paint/painted "
    "opens/open/opened builds/build/built reads/read/read takes/take/took "
    "brings/bring/brought visits/visit/visited pushes/push/pushed "
    "pulls/pull/pulled cleans/clean/cleaned moves/move/moved drops/drop/dropped "
    "buys/buy/bought sells/sell/sold draws/draw/drew meets/meet/met "
    "touches/touch/touched chases/chase/chased hears/hear/heard "
    "remembers/remember/remembered notices/notice/noticed keeps/keep/kept "
    "wants/want/wanted needs/need/needed calls/call/called "
    "catches/catch/caught throws/throw/threw hides/hide/hid "
    "washes/wash/washed fixes/fix/fixed"
)
POSITIVE_TRANSITIVE_VERBS = _verbs(
    "loves/love/loved admires/admire/admired enjoys/enjoy/enjoyed "
    "praises/praise/praised adores/adore/adored cherishes/cherish/cherished"
)
NEGATIVE_TRANSITIVE_VERBS = _verbs(
    "hates/hate/hated fears/fear/feared dislikes/dislike/disliked "
    "blames/blame/blamed despises/despise/despised insults/insult/insulted"
)
INTRANSITIVE_VERBS = _verbs(
    "sleeps/sleep/slept runs/run/ran sings/sing/sang walks/walk/walked "
    "waits/wait/waited jumps/jump/jumped swims/swim/swam dances/dance/danced "
    "sits/sit/sat falls/fall/fell arrives/arrive/arrived rests/rest/rested "
    "works/work/worked plays/play/played talks/talk/talked "
    "climbs/climb/climbed stays/stay/stayed wanders/wander/wandered "
    "hurries/hurry/hurried listens/listen/listened"
)
COPULA = {"present": {"sg": "is", "pl": "are"}, "past": {"sg": "was", "pl": "were"}}
AUXILIARY = {"present": {"sg": "does", "pl": "do"}, "past": {"sg": "did", "pl": "did"}}

# Frequency adverbs stand before the verb; manner adverbs follow an
# intransitive verb. The two classes are disjoint, which keeps parses unique.
FREQUENCY_ADVERBS = "often never always usually rarely sometimes seldom also".split()
NEUTRAL_MANNER_ADVERBS = (
    "quickly slowly quietly loudly carefully gently calmly softly early late again alone"
).split()
POSITIVE_MANNER_ADVERBS = "happily gladly cheerfully joyfully warmly kindly".split()
NEGATIVE_MANNER_ADVERBS = "sadly angrily rudely miserably gloomily bitterly".split()

PREPOSITIONS = (
    "in on near under behind beside with from into over across through by inside along toward"
).split()
RELATIVE_PRONOUNS = {"animate": "who", "inanimate": "that"}
CONJUNCTIONS = "and but while because so although".split()
PUNCTUATION = [".", ",", "?", "!"]

POSITIVE_WORDS = frozenset(
    POSITIVE_ADJECTIVES
    + POSITIVE_MANNER_ADVERBS
    + [form for verb in POSITIVE_TRANSITIVE_VERBS for form in verb]
)
NEGATIVE_WORDS = frozenset(
    NEGATIVE_ADJECTIVES
    + NEGATIVE_MANNER_ADVERBS
    + [form for verb in NEGATIVE_TRANSITIVE_VERBS for form in verb]
)


def word_classes():
    """Returns a dict mapping each word class name to its set of words."""
    def verb_forms(verbs):
        return {form for verb in verbs for form in verb}

    return {
        "noun": {w for pair in ANIMATE_NOUNS + INANIMATE_NOUNS for w in pair},
        "name": set(NAMES),
        "pronoun": {"he", "she", "they"} | set(OBJECT_PRONOUNS),
        "determiner": set(DETERMINERS["sg"]) | set(DETERMINERS["pl"]) | {"an"},
        "adjective": set(NEUTRAL_ADJECTIVES + POSITIVE_ADJECTIVES + NEGATIVE_ADJECTIVES),
        "verb": verb_forms(
            NEUTRAL_TRANSITIVE_VERBS + POSITIVE_TRANSITIVE_VERBS
            + NEGATIVE_TRANSITIVE_VERBS + INTRANSITIVE_VERBS
        ),
        "copula": {w for forms in COPULA.values() for w in forms.values()},
        "auxiliary": {w for forms in AUXILIARY.values() for w in forms.values()},
        "frequency_adverb": set(FREQUENCY_ADVERBS),
        "manner_adverb": set(
            NEUTRAL_MANNER_ADVERBS + POSITIVE_MANNER_ADVERBS + NEGATIVE_MANNER_ADVERBS
        ),
        "preposition": set(PREPOSITIONS),
        "relative": set(RELATIVE_PRONOUNS.values()),
        "conjunction": set(CONJUNCTIONS),
        "punctuation": set(PUNCTUATION),
    }
