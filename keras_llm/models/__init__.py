"""Models (pure Keras 3): language models, BERT, encoder-decoders, classifiers, prompt tuning, presets."""
from keras_llm.models.bert_encoder import BertEncoder
from keras_llm.models.bert_masked_lm import BertMaskedLM
from keras_llm.models.lstm_seq2seq import LSTMSeq2Seq
from keras_llm.models.presets import PRESETS, from_preset, preset_config
from keras_llm.models.pretrained import PretrainedFormatError, from_pretrained
from keras_llm.models.prompt_tuning_lm import PromptTuningLM
from keras_llm.models.rnn_language_model import RNNLanguageModel
from keras_llm.models.seq2seq_transformer import Seq2SeqTransformer
from keras_llm.models.text_classifier import TextClassifier
from keras_llm.models.transformer_language_model import TransformerLanguageModel
from keras_llm.models.word_vectors import load_word_vectors, set_token_embeddings

__all__ = [
    "PRESETS",
    "PretrainedFormatError",
    "BertEncoder",
    "BertMaskedLM",
    "LSTMSeq2Seq",
    "PromptTuningLM",
    "RNNLanguageModel",
    "Seq2SeqTransformer",
    "TextClassifier",
    "TransformerLanguageModel",
    "from_preset",
    "from_pretrained",
    "load_word_vectors",
    "preset_config",
    "set_token_embeddings",
]
