"""PromptTuningLM: only the soft prompt trains, the frozen base stays bit-identical, saving, embeddings API."""
import json
import os

import keras
import numpy as np
import pytest

from keras_llm.models import PromptTuningLM, TransformerLanguageModel
from keras_llm.training import compile_language_model

VOCAB, LENGTH, PROMPT = 40, 12, 12
BASE = dict(vocabulary_size=VOCAB, num_layers=2, hidden_dim=32, num_heads=2, intermediate_dim=64,
            max_sequence_length=24)


def _cycles(rows=64):
    rng = np.random.default_rng(0)
    tokens = np.stack([np.roll(np.tile(np.arange(7, 15), 3), -int(rng.integers(8)))[: LENGTH + 1] for _ in range(rows)])
    return tokens[:, :-1].astype("int32"), tokens[:, 1:].astype("int32")


@pytest.fixture(scope="module")
def tuned():
    keras.utils.set_random_seed(0)
    # An untied output layer: with logits tied to a 0.02-scale table a frozen random model cannot be steered far.
    base = TransformerLanguageModel(**BASE, tie_embeddings=False)
    model = PromptTuningLM(base, num_prompt_tokens=PROMPT)
    model.build((None, LENGTH))
    base_before = [w.numpy().copy() for w in base.weights]
    prompt_before = model.soft_prompt.numpy().copy()
    compile_language_model(model, optimizer={"learning_rate": 0.03, "weight_decay": 0.0, "global_clipnorm": None})
    inputs, targets = _cycles()
    history = model.fit(inputs, targets, batch_size=8, epochs=6, verbose=0).history
    return model, history, base_before, prompt_before


def test_only_the_prompt_trains_and_the_loss_falls(tuned):
    model, history, base_before, prompt_before = tuned
    # (a frozen *random* model is hard to steer: the drop is 0.4-0.6 with Keras 3.12, 1.2-1.7 with 3.15)
    assert history["loss"][-1] < history["loss"][0] - 0.25, history
    assert [v.path for v in model.trainable_variables] == [model.soft_prompt.path]
    for before, after in zip(base_before, model.base_lm.weights):
        np.testing.assert_array_equal(after.numpy(), before)  # bit-identical
    assert not np.allclose(model.soft_prompt.numpy(), prompt_before)


def test_save_load_round_trip(tuned, tmp_path):
    model = tuned[0]
    inputs, _ = _cycles(4)
    path = os.path.join(tmp_path, "prompt.keras")
    model.save(path)
    restored = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(restored, PromptTuningLM) and isinstance(restored.base_lm, TransformerLanguageModel)
    assert json.dumps(restored.get_config()) == json.dumps(model.get_config())
    assert [v.path for v in restored.trainable_variables] == [restored.soft_prompt.path]
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(restored(inputs)), keras.ops.convert_to_numpy(model(inputs)))


def test_prompt_is_prepended_to_the_token_embeddings():
    base = TransformerLanguageModel(**BASE)
    model = PromptTuningLM(base, num_prompt_tokens=3)
    ids = np.random.default_rng(1).integers(7, VOCAB, size=(2, 6)).astype("int32")
    # the embeddings entry point reproduces the ids entry point
    np.testing.assert_allclose(base.call_embeddings(base.embed_tokens(ids)), base(ids), atol=1e-6)
    logits = model(ids)
    prompt = np.broadcast_to(model.soft_prompt.numpy(), (2, 3, 32))
    manual = base.call_embeddings(np.concatenate([prompt, keras.ops.convert_to_numpy(base.embed_tokens(ids))], 1))
    np.testing.assert_allclose(logits, keras.ops.convert_to_numpy(manual)[:, 3:], atol=1e-6)
    assert tuple(logits.shape) == (2, 6, VOCAB)
    assert tuple(base.hidden_states(ids).shape) == (2, 6, 32)
    # a padding mask over the tokens is extended over the prompt
    masked = model(ids, padding_mask=np.ones((2, 6), bool))
    np.testing.assert_allclose(masked, logits, atol=1e-6)
    with pytest.raises(ValueError, match="max_sequence_length"):
        model(np.ones((1, 22), "int32"))


def test_init_prompt_from_tokens():
    base = TransformerLanguageModel(**BASE)
    model = PromptTuningLM(base, num_prompt_tokens=2)
    model.init_prompt_from_tokens([9, 11])
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(model.soft_prompt),
                                  keras.ops.convert_to_numpy(base.embed_tokens(np.array([9, 11]))))
    with pytest.raises(ValueError, match="2 token ids"):
        model.init_prompt_from_tokens([1, 2, 3])


def test_cached_decoding_equals_the_full_forward_and_generation_runs(tuned):
    """call_with_cache after init_cache (soft prompt prefilled) gives the full forward's logits, so the
    decoding loop, TextGenerator and the serving export take a prompt-tuned model."""
    from keras_llm.generation import TextGenerator
    from keras_llm.generation.decoding import Decoder, generate_ids

    model = tuned[0]
    inputs, _ = _cycles(rows=2)
    full = keras.ops.convert_to_numpy(model(inputs))
    cache = model.init_cache(2, LENGTH)
    steps = []
    for t in range(LENGTH):
        logits, cache = model.call_with_cache(inputs[:, t : t + 1], cache, t)
        steps.append(keras.ops.convert_to_numpy(logits)[:, 0])
    np.testing.assert_allclose(np.stack(steps, axis=1), full, atol=1e-4)
    assert model.max_sequence_length == BASE["max_sequence_length"] - PROMPT
    # Cached greedy decoding (the loop every generator and the export use) == naive uncached greedy decoding.
    tokens = np.zeros((1, 10), "int32")
    tokens[0, :4] = [7, 8, 9, 10]
    out, _ = generate_ids(Decoder(model), tokens, np.array([4], "int32"), np.zeros((10, 1), "float32"),
                          stop_at_eos=False)
    naive = [7, 8, 9, 10]
    for _ in range(6):
        logits = keras.ops.convert_to_numpy(model(np.array([naive], "int32")))[0, -1]
        logits[[0, 2, 4, 5, 6]] = -np.inf  # the loop's suppressed structural ids
        naive.append(int(np.argmax(logits)))
    assert keras.ops.convert_to_numpy(out)[0].tolist() == naive
