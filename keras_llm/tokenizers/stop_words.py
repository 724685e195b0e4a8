"""Optional stop-word removal for classification pipelines (never applied to language-model training)."""
import tensorflow as tf

# Our own short list of English function words.
ENGLISH_STOP_WORDS = tuple(
    """a an the and or but if then else of at by for with about against between into through during before
    after above below to from up down in out on off over under again further once here there when where why
    how all any both each few more most other some such no nor not only own same so than too very can will
    just should now i me my we our you your he him his she her it its they them their what which who whom
    this that these those am is are was were be been being have has had having do does did doing would could
    as until while""".split()
)


class StopWordFilter(tf.Module):
    """Removes stop words from whitespace-separated text, in the graph; comparison ignores case.

    Args:
        stop_words: the words to remove (default: `ENGLISH_STOP_WORDS`).

    Example:
        >>> StopWordFilter()(["The cat sat on the mat"]).numpy()
        array([b'cat sat mat'], dtype=object)
    """

    def __init__(self, stop_words=ENGLISH_STOP_WORDS, name=None):
        super().__init__(name=name)
        words = sorted({w.lower() for w in stop_words})
        self._table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(tf.constant(words), tf.ones(len(words), tf.int32)), default_value=0
        )

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def __call__(self, texts):
        words = tf.strings.split(texts)
        is_stop = self._table.lookup(tf.strings.lower(words.flat_values, encoding="utf-8")) > 0
        kept = tf.ragged.boolean_mask(words, words.with_flat_values(tf.logical_not(is_stop)))
        return tf.strings.reduce_join(kept, axis=-1, separator=" ")
