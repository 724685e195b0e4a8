"""Text generation: samplers, the cached decoding loop, beam search, scoring, and the text-level helpers
(`TextGenerator`, `Translator`, `MaskFiller`, `Labeler`). Pure Keras 3: importing it needs no TensorFlow (the
helpers' tokenizers do)."""
from keras_llm.generation.beam_search import beam_search_ids
from keras_llm.generation.decoding import Decoder, generate_ids
from keras_llm.generation.labeler import Labeler
from keras_llm.generation.logits_processors import constrain_logits
from keras_llm.generation.mask_filler import MaskFiller
from keras_llm.generation.noise import seeded_uniform, uniform_noise
from keras_llm.generation.samplers import Sampler, inverse_cdf_sample
from keras_llm.generation.scoring import score_ids
from keras_llm.generation.seq2seq_decoding import translate_ids
from keras_llm.generation.text_generator import TextGenerator
from keras_llm.generation.translator import Translator

__all__ = ["Decoder", "Labeler", "MaskFiller", "Sampler", "TextGenerator", "Translator", "beam_search_ids",
           "constrain_logits", "generate_ids", "inverse_cdf_sample", "score_ids", "seeded_uniform", "translate_ids",
           "uniform_noise"]
