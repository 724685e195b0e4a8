import tensorflow as tf

from keras_llm.tokenizers import ENGLISH_STOP_WORDS, StopWordFilter, normalize_text


def norm(text, **kw):
    return normalize_text(tf.constant([text]), **kw).numpy()[0].decode()


def test_nfkc_folds_compatibility_forms():
    assert norm("Ｈｅｌｌｏ ﬁne ①") == "Hello fine 1"
    assert norm("Ｈｅｌｌｏ", nfkc=False) == "Ｈｅｌｌｏ"


def test_control_characters_removed_whitespace_kept():
    assert norm("a\x00b\x07c\x7fd\x85e\tf\ng") == "abcde\tf\ng"


def test_invalid_utf8_replaced():
    out = normalize_text(tf.constant([b"a\xc3(b\xffc"])).numpy()[0].decode("utf-8")
    assert out == "a\ufffd(b\ufffdc"


def test_lowercase_unicode_and_html():
    assert norm("ÉCOLE Ünd ΣΟΦΙΑ", lowercase=True) == "école ünd σοφια"
    assert norm("<p>Hi <b>there</b></p>", strip_html=True) == " Hi  there  "
    assert norm("<p>Hi</p>") == "<p>Hi</p>"


def test_stop_words_removed_case_insensitively():
    out = StopWordFilter()(tf.constant(["The cat sat ON the mat", "and"])).numpy().tolist()
    assert out == [b"cat sat mat", b""]
    assert "the" in ENGLISH_STOP_WORDS
    assert StopWordFilter(["cat"])(tf.constant(["The cat"])).numpy().tolist() == [b"The"]
