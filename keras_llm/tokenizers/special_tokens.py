"""The special tokens and their fixed ids, re-exported from `keras_llm.special_tokens` (their one home, which
imports no TensorFlow); kept so `from keras_llm.tokenizers import special_tokens` and
`from keras_llm.tokenizers.special_tokens import EOS_ID` keep working."""
from keras_llm.special_tokens import *  # noqa: F401,F403
from keras_llm.special_tokens import __all__  # noqa: F401
