"""Text normalization, run in the TensorFlow graph (so it also runs inside tf.data and exported models).

The steps, in order, each deterministic:
1. Invalid UTF-8 byte sequences are replaced by U+FFFD (the Unicode replacement character).
2. Control characters (Unicode category Cc: NUL, escape, DEL, C1 controls, ...) are removed, except tab,
   newline and carriage return, which are whitespace and separate words.
3. Unicode NFKC normalization (compatibility forms folded: full-width letters, ligatures, ...).
4. Optional: HTML/XML tags (`<b>`, `</p>`, `<a href=...>`) replaced by a space.
5. Optional: Unicode-aware lowercasing.
"""
import tensorflow as tf
import tensorflow_text as tf_text

_CONTROL_CHARS = r"[\x{0}-\x{8}\x{b}\x{c}\x{e}-\x{1f}\x{7f}-\x{9f}]"
_HTML_TAG = r"</?[A-Za-z][^<>]*>"
_ANY_VALID_UTF8 = r"[^\x{D800}-\x{DFFF}]*"


def normalize_text(texts, *, lowercase=False, strip_html=False, nfkc=True):
    """Normalizes a string tensor of any shape.

    Args:
        texts: string tensor (or anything `tf.convert_to_tensor` takes).
        lowercase: lowercase the text (Unicode-aware).
        strip_html: replace HTML tags by a space.
        nfkc: apply NFKC normalization. Steps 1 and 2 (invalid UTF-8 and control characters) always run.

    Example:
        >>> normalize_text(["Ｈｅｌｌｏ\\x00 <b>World</b>"], lowercase=True, strip_html=True).numpy()
        array([b'hello  world '], dtype=object)
    """
    texts = clean_invalid_utf8(texts)
    texts = tf.strings.regex_replace(texts, _CONTROL_CHARS, "")
    if nfkc:
        texts = tf_text.normalize_utf8(texts, "NFKC")
    if strip_html:
        texts = tf.strings.regex_replace(texts, _HTML_TAG, " ")
    if lowercase:
        texts = tf.strings.lower(texts, encoding="utf-8")
    return texts


def clean_invalid_utf8(texts):
    """Step 1 alone: invalid UTF-8 byte sequences -> U+FFFD; valid text is returned unchanged."""
    texts = tf.convert_to_tensor(texts, dtype=tf.string)
    # Transcoding is the slowest step; a RE2 full match fails on any invalid UTF-8, so valid batches skip it.
    all_valid = tf.reduce_all(tf.strings.regex_full_match(texts, _ANY_VALID_UTF8))
    return tf.cond(
        all_valid,
        lambda: texts,
        lambda: tf.strings.unicode_transcode(
            texts, "UTF-8", "UTF-8", errors="replace", replacement_char=0xFFFD, replace_control_characters=False
        ),
    )
