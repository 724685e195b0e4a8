"""Derivation trees of the built-in grammar (internal to ``grammar.py``).

A tree node is a pair ``(source_children, target_children)`` holding the same
children in English order and in the word order of the made-up target
language; leaves are token strings. :class:`DerivationSampler` samples such trees.
"""

from keras_llm.datasets import _lexicon as lx


def _node(source_children, target_children=None):
    """A tree node: children in English order and in target-language order."""
    if target_children is None:
        target_children = source_children
    return (list(source_children), list(target_children))


def flatten(node, side, out):
    """Appends the leaves of ``node`` to the list ``out`` and returns it.

    Args:
        node: A tree node or a leaf token string.
        side: 0 for English word order, 1 for target-language word order.
        out: The list to extend.
    """
    if isinstance(node, str):
        out.append(node)
    else:
        for child in node[side]:
            flatten(child, side, out)
    return out


class DerivationSampler:
    """Samples derivation trees of the grammar.

    Args:
        rng: A ``numpy.random.Generator``; all randomness is drawn from it.
        sentiment: None for the plain grammar, 1 to favour positive and 0 to
            favour negative evaluative words.
        max_depth: Maximum nesting depth of relative clauses.

    Example:
        >>> import numpy as np
        >>> tree = DerivationSampler(np.random.default_rng(0)).sentence()
        >>> flatten(tree, 0, [])[-1] in (".", "!", "?")
        True
    """

    def __init__(self, rng, sentiment=None, max_depth=2):
        self.rng = rng
        self.sentiment = sentiment
        self.max_depth = max_depth
        self.tense = "present"

    def _pick(self, items):
        return items[int(self.rng.integers(len(items)))]

    def _polar(self, neutral, positive, negative):
        """Picks from a neutral/positive/negative list per the sentiment mode."""
        probs = {None: (0.08, 0.08), 1: (0.35, 0.04), 0: (0.04, 0.35)}
        p_pos, p_neg = probs[self.sentiment]
        u = self.rng.random()
        if u < p_pos:
            return self._pick(positive)
        if u < p_pos + p_neg:
            return self._pick(negative)
        return self._pick(neutral)

    def _adjective(self):
        return self._polar(lx.NEUTRAL_ADJECTIVES, lx.POSITIVE_ADJECTIVES, lx.NEGATIVE_ADJECTIVES)

    def _clause_kind(self):
        weights = (0.45, 0.35, 0.2) if self.sentiment is None else (0.35, 0.3, 0.35)
        u, kinds = self.rng.random(), ("transitive", "intransitive", "copula")
        return kinds[0] if u < weights[0] else kinds[1] if u < weights[0] + weights[1] else kinds[2]

    def sentence(self):
        self.tense = "present" if self.rng.random() < 0.6 else "past"
        u = self.rng.random()
        if u < 0.12:
            return _node([self._question(), "?"])
        if u < 0.3:
            conj = self._pick(lx.CONJUNCTIONS)
            return _node([self._clause(), ",", conj, self._clause(), "."])
        return _node([self._clause(), "!" if self.rng.random() < 0.05 else "."])

    def _clause(self):
        kind = self._clause_kind()
        animate = kind != "copula" or self.rng.random() < 0.5
        subject, number = self._noun_phrase(animate, "subject", 0, allow_pp=True)
        return _node([subject, self._verb_phrase(kind, number, 0, "finite")])

    def _question(self):
        """Yes/no question; the target moves the auxiliary/copula to the end."""
        kind = self._clause_kind()
        animate = kind != "copula" or self.rng.random() < 0.5
        subject, number = self._noun_phrase(animate, "subject", 0, allow_pp=True)
        if kind == "copula":
            copula, adjective = lx.COPULA[self.tense][number], self._adjective()
            return _node([copula, subject, adjective], [subject, adjective, copula])
        aux = lx.AUXILIARY[self.tense][number]
        verb_phrase = self._verb_phrase(kind, number, 0, "base")
        return _node([aux, subject, verb_phrase], [subject, verb_phrase, aux])

    def _noun_phrase(self, animate, case, depth, allow_pp=False, allow_rel=True):
        """Returns (node, number). Target order: det noun adjectives pp rel."""
        rng = self.rng
        u = rng.random()
        if u < 0.08:
            if case == "object":
                return self._pick(lx.OBJECT_PRONOUNS if animate else ("it",)), "sg"
            if not animate:
                return "it", "sg"
            pronoun = self._pick(lx.SUBJECT_PRONOUNS["sg"] + lx.SUBJECT_PRONOUNS["pl"])
            return pronoun, ("pl" if pronoun == "they" else "sg")
        if animate and u < 0.2:
            return self._pick(lx.NAMES), "sg"
        number = "sg" if rng.random() < 0.65 else "pl"
        noun = self._pick(lx.ANIMATE_NOUNS if animate else lx.INANIMATE_NOUNS)
        noun = noun[0] if number == "sg" else noun[1]
        v = rng.random()
        n_adjectives = 0 if v < 0.5 else (1 if v < 0.85 else 2)
        adjectives = []
        for _ in range(n_adjectives):
            adjective = self._adjective()
            if adjective not in adjectives:
                adjectives.append(adjective)
        det = self._pick(lx.DETERMINERS[number])
        if det == "a" and (adjectives[0] if adjectives else noun)[0] in "aeiou":
            det = "an"
        source, target = [det, *adjectives, noun], [det, noun, *adjectives]
        if allow_pp and depth < self.max_depth and rng.random() < 0.2:
            pp = self._prep_phrase()
            source.append(pp)
            target.append(pp)
        if allow_rel and depth < self.max_depth and rng.random() < 0.25:
            rel = self._relative(animate, number, depth + 1)
            source.append(rel)
            target.append(rel)
        return _node(source, target), number

    def _prep_phrase(self):
        """Preposition + simple noun phrase; the target uses postpositions."""
        preposition = self._pick(lx.PREPOSITIONS)
        animate = self.rng.random() < 0.3
        np_node, _ = self._noun_phrase(animate, "object", self.max_depth, allow_rel=False)
        return _node([preposition, np_node], [np_node, preposition])

    def _relative(self, animate, number, depth):
        word = lx.RELATIVE_PRONOUNS["animate" if animate else "inanimate"]
        kind = self._clause_kind() if animate else "copula"
        return _node([word, self._verb_phrase(kind, number, depth, "finite")])

    def _verb_phrase(self, kind, number, depth, form):
        """Verb phrase; the target puts the verb (or copula) last."""
        rng = self.rng

        def inflect(forms):
            if form == "base":
                return forms[1]
            if self.tense == "past":
                return forms[2]
            return forms[0] if number == "sg" else forms[1]

        if kind == "copula":
            copula, adjective = lx.COPULA[self.tense][number], self._adjective()
            return _node([copula, adjective], [adjective, copula])
        pre = [self._pick(lx.FREQUENCY_ADVERBS)] if rng.random() < 0.15 else []
        if kind == "transitive":
            verb = inflect(self._polar(lx.NEUTRAL_TRANSITIVE_VERBS,
                                       lx.POSITIVE_TRANSITIVE_VERBS,
                                       lx.NEGATIVE_TRANSITIVE_VERBS))
            obj, _ = self._noun_phrase(rng.random() < 0.5, "object", depth)
            return _node([*pre, verb, obj], [obj, *pre, verb])
        verb = inflect(self._pick(lx.INTRANSITIVE_VERBS))
        manner = []
        if rng.random() < 0.3:
            manner = [self._polar(lx.NEUTRAL_MANNER_ADVERBS, lx.POSITIVE_MANNER_ADVERBS,
                                  lx.NEGATIVE_MANNER_ADVERBS)]
        pp = [self._prep_phrase()] if rng.random() < 0.35 else []
        return _node([*pre, verb, *manner, *pp], [*pp, *manner, *pre, verb])
