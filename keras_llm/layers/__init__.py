"""Keras 3 building blocks (pure `keras.ops`, no TensorFlow imports).

Each layer is registered under the `keras_llm` package for `.keras` saving.
"""
from keras_llm.layers.activations import gelu_approximate, get_activation
from keras_llm.layers.feed_forward import FeedForward
from keras_llm.layers.layer_normalization import LayerNormalization
from keras_llm.layers.multi_head_attention import MultiHeadAttention
from keras_llm.layers.projected_lstm import ProjectedLSTM
from keras_llm.layers.recurrent_stack import RecurrentStack
from keras_llm.layers.rnn_attention import RNNAttention
from keras_llm.layers.token_and_position_embedding import TokenAndPositionEmbedding
from keras_llm.layers.transformer_decoder_block import TransformerDecoderBlock
from keras_llm.layers.transformer_encoder_block import TransformerEncoderBlock

__all__ = [
    "FeedForward",
    "gelu_approximate",
    "get_activation",
    "LayerNormalization",
    "MultiHeadAttention",
    "ProjectedLSTM",
    "RNNAttention",
    "RecurrentStack",
    "TokenAndPositionEmbedding",
    "TransformerDecoderBlock",
    "TransformerEncoderBlock",
]
