"""`from_pretrained`: GPT-2 and BERT weights from KerasHub preset folders and Hugging Face safetensors folders.

No network: each test builds a tiny random keras-hub model, writes it as a KerasHub preset (`save_to_preset`)
or as a Hugging Face folder (config.json + model.safetensors in HF's tensor layout), loads it with ours, and
compares outputs with keras-hub's own model (for the HF folder: loaded by keras-hub's own transformers
converter from the same folder).
"""
import json

import keras
import numpy as np
import pytest

keras_hub = pytest.importorskip("keras_hub")
safetensors_numpy = pytest.importorskip("safetensors.numpy")

from keras_llm.generation import Decoder, generate_ids  # noqa: E402
from keras_llm.models import (  # noqa: E402
    BertEncoder, BertMaskedLM, PretrainedFormatError, TransformerLanguageModel, from_pretrained,
)

VOCAB, LAYERS, HIDDEN, HEADS, FFN, POSITIONS = 300, 2, 32, 4, 128, 16  # FFN = 4 x HIDDEN, as HF GPT-2 implies
IDS = np.random.default_rng(0).integers(0, VOCAB, size=(2, 12)).astype("int32")


def _randomize(model, seed):
    """Random values everywhere (layer-norm scales and biases too, so a swapped gamma/beta shows)."""
    rng = np.random.default_rng(seed)
    for variable in model.weights:
        variable.assign(rng.normal(0.0, 0.2, size=tuple(variable.shape)).astype("float32"))


@pytest.fixture(scope="module")
def gpt2():
    keras.utils.set_random_seed(0)
    backbone = keras_hub.models.GPT2Backbone(vocabulary_size=VOCAB, num_layers=LAYERS, num_heads=HEADS,
                                             hidden_dim=HIDDEN, intermediate_dim=FFN, max_sequence_length=POSITIONS,
                                             dropout=0.0)
    _randomize(backbone, 1)
    return backbone


def _hub_gpt2_logits(backbone, ids):
    causal_lm = keras_hub.models.GPT2CausalLM(backbone=backbone, preprocessor=None)
    return np.asarray(causal_lm({"token_ids": ids, "padding_mask": np.ones_like(ids, dtype=bool)}))


def _hf_gpt2_folder(backbone, path, prefix="transformer."):
    """The backbone's weights in Hugging Face's GPT-2 layout: Conv1D kernels [in, out], q/k/v side by side."""
    w = {v.path: np.asarray(v.numpy() if hasattr(v, "numpy") else v.value) for v in backbone.weights}
    tensors = {"wte.weight": w["token_embedding/embeddings"], "wpe.weight": w["position_embedding/embeddings"],
               "ln_f.weight": w["layer_norm/gamma"], "ln_f.bias": w["layer_norm/beta"]}
    for i in range(LAYERS):
        t, h = f"transformer_layer_{i}/", f"h.{i}."
        qkv = [w[t + f"self_attention/{n}/kernel"].reshape(HIDDEN, HIDDEN) for n in ("query", "key", "value")]
        tensors[h + "attn.c_attn.weight"] = np.concatenate(qkv, axis=1)
        tensors[h + "attn.c_attn.bias"] = np.concatenate(
            [w[t + f"self_attention/{n}/bias"].reshape(HIDDEN) for n in ("query", "key", "value")])
        tensors[h + "attn.c_proj.weight"] = w[t + "self_attention/attention_output/kernel"].reshape(HIDDEN, HIDDEN)
        tensors[h + "attn.c_proj.bias"] = w[t + "self_attention/attention_output/bias"]
        tensors[h + "attn.bias"] = np.tril(np.ones((1, 1, POSITIONS, POSITIONS), "float32"))  # a buffer: skipped
        for ours, theirs in (("ln_1", "self_attention_layer_norm"), ("ln_2", "feedforward_layer_norm")):
            tensors[h + ours + ".weight"], tensors[h + ours + ".bias"] = w[t + theirs + "/gamma"], w[t + theirs + "/beta"]
        for ours, theirs in (("mlp.c_fc", "feedforward_intermediate_dense"), ("mlp.c_proj", "feedforward_output_dense")):
            tensors[h + ours + ".weight"], tensors[h + ours + ".bias"] = w[t + theirs + "/kernel"], w[t + theirs + "/bias"]
    tensors = {prefix + k: np.ascontiguousarray(v, "float32") for k, v in tensors.items()}
    path.mkdir(parents=True, exist_ok=True)
    safetensors_numpy.save_file(tensors, str(path / "model.safetensors"))
    config = {"model_type": "gpt2", "vocab_size": VOCAB, "n_layer": LAYERS, "n_head": HEADS, "n_embd": HIDDEN,
              "n_positions": POSITIONS, "n_inner": None, "activation_function": "gelu_new", "resid_pdrop": 0.0,
              "embd_pdrop": 0.0, "attn_pdrop": 0.0, "layer_norm_epsilon": 1e-5, "eos_token_id": VOCAB - 1}
    (path / "config.json").write_text(json.dumps(config))
    return path, tensors


def test_gpt2_from_a_keras_hub_preset_gives_keras_hub_logits(gpt2, tmp_path):
    gpt2.save_to_preset(str(tmp_path / "preset"))
    model = from_pretrained(tmp_path / "preset")
    assert isinstance(model, TransformerLanguageModel)
    assert (model.num_layers, model.hidden_dim, model.num_heads, model.intermediate_dim) == (LAYERS, HIDDEN, HEADS, FFN)
    assert model.tie_embeddings and model.norm_first and not model.output_bias
    expected = _hub_gpt2_logits(gpt2, IDS)
    np.testing.assert_allclose(np.asarray(model(IDS)), expected, atol=1e-4)
    assert np.abs(expected).max() > 1.0  # random layer norms: logits far from 0, so the check has teeth


def test_gpt2_from_a_hugging_face_folder_equals_keras_hubs_own_converter(gpt2, tmp_path):
    folder, _ = _hf_gpt2_folder(gpt2, tmp_path / "hf")
    ours = from_pretrained(folder)
    theirs = keras_hub.models.GPT2Backbone.from_preset(str(folder))  # keras-hub's transformers-format loader
    expected = _hub_gpt2_logits(theirs, IDS)
    np.testing.assert_allclose(np.asarray(ours(IDS)), expected, atol=1e-4)
    np.testing.assert_allclose(expected, _hub_gpt2_logits(gpt2, IDS), atol=1e-4)  # the folder holds gpt2's weights
    assert ours.token_conventions == {"eos_id": VOCAB - 1, "suppressed_ids": [], "pad_id": None}


def test_gpt2_without_the_transformer_prefix_loads_the_same(gpt2, tmp_path):
    with_prefix = from_pretrained(_hf_gpt2_folder(gpt2, tmp_path / "a")[0])
    without = from_pretrained(_hf_gpt2_folder(gpt2, tmp_path / "b", prefix="")[0])
    np.testing.assert_array_equal(np.asarray(with_prefix(IDS)), np.asarray(without(IDS)))


def test_converted_gpt2_greedy_generation_equals_keras_hub(gpt2, tmp_path):
    folder, _ = _hf_gpt2_folder(gpt2, tmp_path / "hf")
    model = from_pretrained(folder)
    prompts = IDS[:, :4]
    length = 12
    tokens = np.zeros((2, length), "int32")
    tokens[:, :4] = prompts
    ours, _ = generate_ids(Decoder(model), tokens, np.array([4, 4], "int32"),
                           np.zeros((length, 2), "float32"), stop_at_eos=False)
    causal_lm = keras_hub.models.GPT2CausalLM(backbone=gpt2, preprocessor=None)
    causal_lm.compile(sampler="greedy")
    theirs = causal_lm.generate({"token_ids": tokens, "padding_mask": np.arange(length)[None, :] < 4},
                                stop_token_ids=None)
    np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs["token_ids"]))
    # Reference by hand: each generated token is the argmax of the full-sequence logits before it.
    full = np.asarray(ours)
    for position in range(4, length):
        assert full[0, position] == int(np.argmax(np.asarray(model(full[:1, :position]))[0, -1]))


def test_converted_gpt2_saves_and_reloads_with_its_conventions(gpt2, tmp_path):
    model = from_pretrained(_hf_gpt2_folder(gpt2, tmp_path / "hf")[0])
    model.save(tmp_path / "gpt2.keras")
    loaded = keras.saving.load_model(tmp_path / "gpt2.keras")
    assert loaded.token_conventions == {"eos_id": VOCAB - 1, "suppressed_ids": [], "pad_id": None}
    np.testing.assert_allclose(np.asarray(loaded(IDS)), np.asarray(model(IDS)), atol=1e-6)


@pytest.fixture(scope="module")
def bert():
    keras.utils.set_random_seed(0)
    # 512 positions: keras-hub's transformers converter builds BERT with its default 512, whatever config.json says
    backbone = keras_hub.models.BertBackbone(vocabulary_size=VOCAB, num_layers=LAYERS, num_heads=HEADS,
                                             hidden_dim=HIDDEN, intermediate_dim=FFN, max_sequence_length=512,
                                             dropout=0.0)
    _randomize(backbone, 2)
    return backbone


def _hub_bert_outputs(backbone, ids):
    out = backbone({"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": np.ones_like(ids, bool)})
    return np.asarray(out["sequence_output"]), np.asarray(out["pooled_output"])


def test_bert_from_a_keras_hub_preset_gives_keras_hub_outputs(bert, tmp_path):
    bert.save_to_preset(str(tmp_path / "preset"))
    encoder = from_pretrained(tmp_path / "preset")
    assert isinstance(encoder, BertEncoder)
    sequence, pooled = _hub_bert_outputs(bert, IDS)
    out = encoder(_bert_inputs(IDS))
    np.testing.assert_allclose(np.asarray(out["sequence_output"]), sequence, atol=1e-4)
    np.testing.assert_allclose(np.asarray(out["pooled_output"]), pooled, atol=1e-4)


def _bert_inputs(ids):
    """Every position a real token (ids may be 0, which our encoder would otherwise take for padding)."""
    return {"token_ids": ids, "padding_mask": np.ones_like(ids, bool)}


def _hf_bert_folder(backbone, path, with_head=True, hidden_act="gelu_new"):
    """BERT in Hugging Face's layout: torch Linear weights [out, in], heads merged, `bert.` prefix, MLM head;
    layer norms named gamma/beta like bert-base-uncased's file (keras-hub's converter reads those names)."""
    w = {v.path: np.asarray(v.numpy() if hasattr(v, "numpy") else v.value) for v in backbone.weights}
    e = "bert.embeddings."
    tensors = {e + "word_embeddings.weight": w["token_embedding/embeddings"],
               e + "position_embeddings.weight": w["position_embedding/embeddings"],
               e + "token_type_embeddings.weight": w["segment_embedding/embeddings"],
               e + "LayerNorm.gamma": w["embeddings_layer_norm/gamma"], e + "LayerNorm.beta": w["embeddings_layer_norm/beta"],
               "bert.pooler.dense.weight": w["pooled_dense/kernel"].T, "bert.pooler.dense.bias": w["pooled_dense/bias"]}
    for i in range(LAYERS):
        t, h = f"transformer_layer_{i}/", f"bert.encoder.layer.{i}."
        for n in ("query", "key", "value"):
            tensors[h + f"attention.self.{n}.weight"] = w[t + f"self_attention_layer/{n}/kernel"].reshape(HIDDEN, HIDDEN).T
            tensors[h + f"attention.self.{n}.bias"] = w[t + f"self_attention_layer/{n}/bias"].reshape(HIDDEN)
        tensors[h + "attention.output.dense.weight"] = w[t + "self_attention_layer/attention_output/kernel"].reshape(
            HIDDEN, HIDDEN).T
        tensors[h + "attention.output.dense.bias"] = w[t + "self_attention_layer/attention_output/bias"]
        tensors[h + "attention.output.LayerNorm.gamma"] = w[t + "self_attention_layer_norm/gamma"]
        tensors[h + "attention.output.LayerNorm.beta"] = w[t + "self_attention_layer_norm/beta"]
        tensors[h + "intermediate.dense.weight"] = w[t + "feedforward_intermediate_dense/kernel"].T
        tensors[h + "intermediate.dense.bias"] = w[t + "feedforward_intermediate_dense/bias"]
        tensors[h + "output.dense.weight"] = w[t + "feedforward_output_dense/kernel"].T
        tensors[h + "output.dense.bias"] = w[t + "feedforward_output_dense/bias"]
        tensors[h + "output.LayerNorm.gamma"] = w[t + "feedforward_layer_norm/gamma"]
        tensors[h + "output.LayerNorm.beta"] = w[t + "feedforward_layer_norm/beta"]
    if with_head:
        rng = np.random.default_rng(3)
        tensors["cls.predictions.transform.dense.weight"] = rng.normal(0, 0.2, (HIDDEN, HIDDEN))
        tensors["cls.predictions.transform.dense.bias"] = rng.normal(0, 0.2, (HIDDEN,))
        tensors["cls.predictions.transform.LayerNorm.gamma"] = rng.normal(1, 0.2, (HIDDEN,))
        tensors["cls.predictions.transform.LayerNorm.beta"] = rng.normal(0, 0.2, (HIDDEN,))
        tensors["cls.predictions.bias"] = rng.normal(0, 0.2, (VOCAB,))
    tensors = {k: np.ascontiguousarray(v, "float32") for k, v in tensors.items()}
    path.mkdir(parents=True, exist_ok=True)
    safetensors_numpy.save_file(tensors, str(path / "model.safetensors"))
    config = {"model_type": "bert", "vocab_size": VOCAB, "num_hidden_layers": LAYERS, "num_attention_heads": HEADS,
              "hidden_size": HIDDEN, "intermediate_size": FFN, "max_position_embeddings": 512,
              "type_vocab_size": 2, "hidden_act": hidden_act, "hidden_dropout_prob": 0.0, "layer_norm_eps": 1e-12}
    (path / "config.json").write_text(json.dumps(config))
    return path, tensors


def test_bert_from_a_hugging_face_folder_equals_keras_hubs_own_converter(bert, tmp_path):
    # keras-hub's BERT always runs the tanh GELU; a config naming it ("gelu_new") makes the two models the same
    folder, tensors = _hf_bert_folder(bert, tmp_path / "hf")
    encoder = from_pretrained(folder, task="encoder")
    theirs = keras_hub.models.BertBackbone.from_preset(str(folder))
    sequence, pooled = _hub_bert_outputs(theirs, IDS)
    np.testing.assert_allclose(sequence, _hub_bert_outputs(bert, IDS)[0], atol=1e-4)  # the folder holds bert's
    out = encoder(_bert_inputs(IDS))
    np.testing.assert_allclose(np.asarray(out["sequence_output"]), sequence, atol=1e-4)
    np.testing.assert_allclose(np.asarray(out["pooled_output"]), pooled, atol=1e-4)

    # With its masked-LM head: BERT's head by hand (dense -> exact GELU -> layer norm -> tied table + bias).
    masked_lm = from_pretrained(folder)
    assert isinstance(masked_lm, BertMaskedLM)
    hidden = sequence @ tensors["cls.predictions.transform.dense.weight"].T + tensors["cls.predictions.transform.dense.bias"]
    hidden = np.asarray(keras.activations.gelu(hidden, approximate=False))
    mean, var = hidden.mean(-1, keepdims=True), hidden.var(-1, keepdims=True)
    hidden = (hidden - mean) / np.sqrt(var + 1e-12) * tensors["cls.predictions.transform.LayerNorm.gamma"] + tensors[
        "cls.predictions.transform.LayerNorm.beta"]
    expected = hidden @ tensors["bert.embeddings.word_embeddings.weight"].T + tensors["cls.predictions.bias"]
    np.testing.assert_allclose(np.asarray(masked_lm(_bert_inputs(IDS))), expected, atol=1e-3, rtol=1e-4)


def test_bert_without_a_head_refuses_the_masked_lm_task(bert, tmp_path):
    folder, _ = _hf_bert_folder(bert, tmp_path / "hf", with_head=False)
    assert isinstance(from_pretrained(folder), BertEncoder)  # default: what the checkpoint holds
    with pytest.raises(PretrainedFormatError, match="no masked-LM head"):
        from_pretrained(folder, task="masked_lm")


def _rewrite(folder, tensors, **changes):
    for name, value in changes.items():
        if value is None:
            tensors.pop(name)
        else:
            tensors[name] = value
    safetensors_numpy.save_file(tensors, str(folder / "model.safetensors"))


def test_a_missing_tensor_is_named(gpt2, tmp_path):
    folder, tensors = _hf_gpt2_folder(gpt2, tmp_path / "hf")
    _rewrite(folder, tensors, **{"transformer.h.1.mlp.c_fc.bias": None})
    with pytest.raises(PretrainedFormatError, match=r"tensor 'h.1.mlp.c_fc.bias' missing from .*model.safetensors"):
        from_pretrained(folder)


def test_a_wrong_shape_is_named(gpt2, tmp_path):
    folder, tensors = _hf_gpt2_folder(gpt2, tmp_path / "hf")
    _rewrite(folder, tensors, **{"transformer.h.0.mlp.c_fc.weight": np.zeros((HIDDEN, FFN + 1), "float32")})
    with pytest.raises(PretrainedFormatError, match=r"tensor 'h.0.mlp.c_fc.weight' of .*model.safetensors has shape "
                                                    r"\(32, 129\), expected \(32, 128\)"):
        from_pretrained(folder)


def test_a_config_that_does_not_match_the_tensors_is_named(gpt2, tmp_path):
    folder, _ = _hf_gpt2_folder(gpt2, tmp_path / "hf")
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps(dict(config, n_embd=48, n_head=4)))
    with pytest.raises(PretrainedFormatError, match=r"tensor 'h.0.attn.c_attn.weight' of .* has shape \(32, 96\), "
                                                    r"expected \(48, 144\) from config.json"):
        from_pretrained(folder)


@pytest.mark.parametrize("config,message", [
    ({"model_type": "llama"}, "model_type 'llama' is not supported"),
    ({"hello": 1}, "neither a Hugging Face config"),
    ({"class_name": "GemmaBackbone", "config": {}}, "class_name 'GemmaBackbone' is not supported"),
])
def test_unknown_architectures_are_refused_in_one_line(tmp_path, config, message):
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(PretrainedFormatError, match=message) as error:
        from_pretrained(tmp_path)
    assert "\n" not in str(error.value) and str(tmp_path / "config.json") in str(error.value)


def test_missing_files_are_named(tmp_path):
    with pytest.raises(PretrainedFormatError, match="config.json: missing"):
        from_pretrained(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "gpt2"}))
    (tmp_path / "pytorch_model.bin").write_bytes(b"")
    with pytest.raises(PretrainedFormatError, match="no model.safetensors .*found pytorch_model.bin"):
        from_pretrained(tmp_path)


def test_bert_hidden_act_is_honoured(bert, tmp_path):
    """HF BERT's "gelu" is the exact GELU: loaded as such, the outputs move away from the tanh model's."""
    exact = from_pretrained(_hf_bert_folder(bert, tmp_path / "exact", hidden_act="gelu")[0], task="encoder")
    tanh = from_pretrained(_hf_bert_folder(bert, tmp_path / "tanh")[0], task="encoder")
    assert exact.blocks[0].activation is keras.activations.gelu
    difference = np.abs(np.asarray(exact(_bert_inputs(IDS))["sequence_output"]) - np.asarray(tanh(_bert_inputs(IDS))["sequence_output"])).max()
    assert 1e-5 < difference < 0.1  # the two GELUs differ by at most ~1e-3 at any input


def test_bert_layer_norm_names_old_and_new_load_the_same(bert, tmp_path):
    """Old BERT checkpoints name layer-norm weights gamma/beta (what keras-hub's converter reads), newer ones
    weight/bias."""
    folder, tensors = _hf_bert_folder(bert, tmp_path / "old")
    renamed = {k.replace("LayerNorm.gamma", "LayerNorm.weight").replace("LayerNorm.beta", "LayerNorm.bias"): v
               for k, v in tensors.items()}
    assert renamed != tensors
    new = tmp_path / "new"
    new.mkdir()
    safetensors_numpy.save_file(renamed, str(new / "model.safetensors"))
    (new / "config.json").write_text((folder / "config.json").read_text())
    np.testing.assert_array_equal(np.asarray(from_pretrained(folder)(_bert_inputs(IDS))),
                                  np.asarray(from_pretrained(new)(_bert_inputs(IDS))))


def test_keras_llm_convert_writes_a_model_that_loads_with_the_same_logits(gpt2, tmp_path, capsys):
    from keras_llm.cli import main

    folder, _ = _hf_gpt2_folder(gpt2, tmp_path / "hf")
    assert main(["convert", str(folder), "--output", str(tmp_path / "out")]) == 0
    assert "TransformerLanguageModel with" in capsys.readouterr().out
    loaded = keras.saving.load_model(tmp_path / "out" / "model.keras")
    np.testing.assert_allclose(np.asarray(loaded(IDS)), _hub_gpt2_logits(gpt2, IDS), atol=1e-4)
    summary = json.loads((tmp_path / "out" / "converted.json").read_text())
    assert summary["class"] == "TransformerLanguageModel" and summary["parameters"] == loaded.count_params()


def test_keras_llm_convert_reports_a_bad_folder_in_one_line(tmp_path, capsys):
    from keras_llm.cli import main

    (tmp_path / "config.json").write_text(json.dumps({"model_type": "t5"}))
    assert main(["convert", str(tmp_path), "--output", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "keras-llm convert: error:" in error and "model_type 't5'" in error


def test_fine_tuning_a_converted_gpt2_counts_every_target(gpt2, tmp_path):
    """GPT-2's id 0 is a real token ("!"): compile_language_model must not drop it as padding."""
    from keras_llm.training import compile_language_model

    model = from_pretrained(_hf_gpt2_folder(gpt2, tmp_path / "hf")[0])
    compile_language_model(model, optimizer={"learning_rate": 1e-3, "total_steps": 4})
    x = IDS[:, :-1]
    y = IDS[:, 1:].copy()
    y[:, ::2] = 0  # half the targets are id 0
    logits = np.asarray(model(x)).astype("float64")
    log_probs = logits - np.log(np.exp(logits - logits.max(-1, keepdims=True)).sum(-1, keepdims=True)) - logits.max(
        -1, keepdims=True)
    expected = -np.take_along_axis(log_probs, y[..., None], -1).mean()
    result = model.evaluate(x, y, verbose=0, return_dict=True)
    assert abs(result["loss"] - expected) < 1e-3 * expected
    assert abs(result["perplexity"] - np.exp(expected)) < 1e-3 * np.exp(expected)
    history = model.fit(x, y, epochs=4, verbose=0, shuffle=False)
    assert history.history["loss"][-1] < history.history["loss"][0]  # it trains


def _gpt2_bpe_files(folder):
    """GPT-2-style vocab.json/merges.txt of VOCAB tokens: 256 bytes and merges learned by HF tokenizers' trainer,
    then <|endoftext|> last (id VOCAB - 1, the config's eos_token_id), as in GPT-2's own files."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    from keras_llm.datasets import grammar_documents

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.train_from_iterator(grammar_documents(200, seed=3), trainers.BpeTrainer(
        vocab_size=VOCAB - 1, show_progress=False, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    bpe.model.save(str(folder))
    vocab = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
    assert len(vocab) == VOCAB - 1
    vocab["<|endoftext|>"] = VOCAB - 1
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")


def test_convert_writes_gpt2s_tokenizer_and_generation_starts_after_its_end_of_text(gpt2, tmp_path):
    """The converted folder holds model + BytePairTokenizer; TextGenerator and the exported SavedModel prefix
    prompts with GPT-2's <|endoftext|> (not keras_llm's <eos> id 3) and decode greedily the same ids."""
    import tensorflow as tf

    from keras_llm.export import export_saved_model
    from keras_llm.generation import TextGenerator
    from keras_llm.models.pretrained import convert_checkpoint
    from keras_llm.tokenizers import BytePairTokenizer, load_tokenizer

    folder, _ = _hf_gpt2_folder(gpt2, tmp_path / "hf")
    _gpt2_bpe_files(folder)
    summary = convert_checkpoint(folder, tmp_path / "out")
    tokenizer = load_tokenizer(summary["tokenizer"])
    assert isinstance(tokenizer, BytePairTokenizer) and tokenizer.eos_id == VOCAB - 1
    model = keras.saving.load_model(tmp_path / "out" / "model.keras")
    generator = TextGenerator(model, tokenizer)
    assert generator.start_id == VOCAB - 1
    prompt = "the cat"
    ids = [VOCAB - 1] + tokenizer(prompt).numpy().tolist()
    expected = []
    for _ in range(5):  # greedy, step by step on the full sequence
        nxt = int(np.argmax(np.asarray(model(np.array([ids + expected], "int32")))[0, -1]))
        if nxt == VOCAB - 1:
            break
        expected.append(nxt)
    assert generator.generate_ids([prompt], max_new_tokens=len(expected) or 1)[0] == expected
    text = generator.generate(prompt, max_new_tokens=5)
    path = export_saved_model(model, tokenizer, str(tmp_path / "serving"), version=1, jit_compile=False,
                              max_new_tokens=5)
    served = tf.saved_model.load(path).signatures["generate"](prompts=tf.constant([prompt]))
    assert served["text"].numpy()[0].decode("utf-8") == text
