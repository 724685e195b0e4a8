"""The unigram start of a language model's output bias."""
import keras
import numpy as np
import tensorflow as tf

from keras_llm.models import RNNLanguageModel
from keras_llm.training.output_bias import initialize_output_bias, unigram_log_probs


def _batches(targets):
    targets = np.asarray(targets, "int32")
    return tf.data.Dataset.from_tensor_slices((targets, targets)).batch(2)


def test_unigram_log_probs_are_smoothed_target_frequencies():
    log_probs = unigram_log_probs(_batches([[1, 1, 2], [1, 3, 3]]), vocabulary_size=5, smoothing=0.5)
    counts = np.array([0, 3, 1, 2, 0]) + 0.5
    np.testing.assert_allclose(log_probs, np.log(counts / counts.sum()), rtol=1e-6)


def test_tied_recurrent_model_adds_the_bias_and_starts_from_the_unigram_model(tmp_path):
    keras.utils.set_random_seed(0)
    ids = np.array([[1, 2, 3, 4]], "int32")
    with_bias = RNNLanguageModel(6, cell="gru", num_layers=1, hidden_dim=8, tie_embeddings=True, output_bias=True)
    plain = RNNLanguageModel(6, cell="gru", num_layers=1, hidden_dim=8, tie_embeddings=True)
    with_bias(ids), plain(ids)
    plain.set_weights([w for w, v in zip(with_bias.get_weights(), with_bias.weights) if "output_bias" not in v.path])
    assert plain.output_bias_variable is None and tuple(with_bias.output_bias_variable.shape) == (6,)
    assert initialize_output_bias(with_bias, _batches([[1, 1, 1, 2]]), 6)
    bias = keras.ops.convert_to_numpy(with_bias.output_bias_variable)
    # 4 targets plus 6 x 0.5 of smoothing
    np.testing.assert_allclose(bias, np.log((np.array([0, 3, 1, 0, 0, 0]) + 0.5) / 7.0), rtol=1e-6)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(with_bias(ids)),
                               keras.ops.convert_to_numpy(plain(ids)) + bias, rtol=1e-5, atol=1e-6)
    path = str(tmp_path / "m.keras")
    with_bias.save(path)
    restored = keras.saving.load_model(path, compile=False)
    assert restored.output_bias
    np.testing.assert_allclose(keras.ops.convert_to_numpy(restored(ids)), keras.ops.convert_to_numpy(with_bias(ids)),
                               rtol=1e-6)
    untied = RNNLanguageModel(6, cell="lstm", num_layers=1, hidden_dim=8)
    assert initialize_output_bias(untied, _batches([[2, 2, 2, 2]]), 6)
    assert int(np.argmax(keras.ops.convert_to_numpy(untied.lm_head.bias))) == 2


def test_transformer_output_bias_is_added_in_every_decoding_path():
    from keras_llm.models import TransformerLanguageModel

    keras.utils.set_random_seed(1)
    model = TransformerLanguageModel(7, num_layers=1, hidden_dim=8, num_heads=2, intermediate_dim=16,
                                     max_sequence_length=8, output_bias=True)
    ids = np.array([[1, 2, 3]], "int32")
    before = keras.ops.convert_to_numpy(model(ids))
    assert initialize_output_bias(model, _batches([[3, 3, 4, 5]]), 7)
    bias = keras.ops.convert_to_numpy(model.output_bias_variable)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(ids)), before + bias, rtol=1e-5, atol=1e-6)
    cached, _ = model.call_with_cache(ids, model.init_cache(1, 8), 0, output_kernel=model.output_kernel())
    np.testing.assert_allclose(keras.ops.convert_to_numpy(cached), before + bias, rtol=1e-4, atol=1e-5)
    assert TransformerLanguageModel.from_config(model.get_config()).output_bias
