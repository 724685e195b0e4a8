"""SavedModel signatures of the non-causal models: fill_mask / embed, classify / embed, seq2seq generate.

Each export is loaded in a TF-only process (no keras, no keras_llm) and every signature is called there; its
outputs are compared with the Python helpers of `keras_llm.generation.tasks` on the same model.
"""
import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from lm_fixtures import word_tokenizer
from tf_only import run_tf_only

from keras_llm.export import (
    ClassifierServingModule,
    EncoderServingModule,
    MaskedLMServingModule,
    Seq2SeqServingModule,
    export_saved_model,
    serving_module_for,
)
from keras_llm.generation import Labeler, MaskFiller, Translator
from keras_llm.models import BertEncoder, BertMaskedLM, LSTMSeq2Seq, Seq2SeqTransformer, TextClassifier
from keras_llm.tokenizers.special_tokens import CLS_ID, MASK_ID, SEP_ID

ENCODER = dict(num_layers=1, hidden_dim=32, num_heads=2, intermediate_dim=64, max_sequence_length=12)
BAD = [b"", ("word " * 20_000).encode(), b"\xff\xfe\xc3(", b"\x00\x00"]


def example(text):
    feature = tf.train.Feature(bytes_list=tf.train.BytesList(value=[text.encode()]))
    return tf.train.Example(features=tf.train.Features(feature={"text": feature})).SerializeToString()


def warmup_signatures(path):
    from tensorflow_serving.apis import prediction_log_pb2

    warmup = os.path.join(path, "assets.extra", "tf_serving_warmup_requests")
    logs = [prediction_log_pb2.PredictionLog.FromString(r.numpy()) for r in tf.data.TFRecordDataset(warmup)]
    return {log.predict_log.request.model_spec.signature_name for log in logs}


@pytest.fixture(scope="module")
def masked_lm(tmp_path_factory):
    """A BERT MLM trained to fill 'red <mask> blue' with 'green' and 'one <mask> three' with 'two'."""
    tok = word_tokenizer()
    keras.utils.set_random_seed(0)
    model = BertMaskedLM(dict(vocabulary_size=tok.vocabulary_size, dropout=0.0, **ENCODER))
    rows, labels = [], []
    for words in ("red green blue", "one two three"):
        ids = tok(words).numpy().tolist()
        rows.append([CLS_ID, ids[0], MASK_ID, ids[2], SEP_ID])
        labels.append([0, 0, ids[1], 0, 0])
    x, y = np.array(rows * 16, "int32"), np.array(labels * 16, "int32")
    model.compile(optimizer=keras.optimizers.Adam(0.01),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, sample_weight=(y > 0).astype("float32"), epochs=30, batch_size=32, verbose=0)
    path = export_saved_model(model, tok, str(tmp_path_factory.mktemp("mlm")), version=1, top_k=3, max_batch_size=4)
    return model, tok, path


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    """A BERT classifier trained on colour words vs number words."""
    tok = word_tokenizer()
    keras.utils.set_random_seed(1)
    model = TextClassifier(BertEncoder(tok.vocabulary_size, dropout=0.0, **ENCODER), num_classes=2, pooling="mean",
                           dropout=0.0)
    texts = ["red green", "blue red", "green blue blue", "one two", "three four five", "six seven"]
    labels = np.array([0, 0, 0, 1, 1, 1], "int32")
    labeler = Labeler(model, tok, labels=["colour", "number"])
    model.compile(optimizer=keras.optimizers.Adam(0.01),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(labeler.encode(texts), labels, epochs=40, batch_size=6, verbose=0)
    path = export_saved_model(model, tok, str(tmp_path_factory.mktemp("clf")), version=1,
                              labels=["colour", "number"], max_batch_size=4)
    return model, tok, path


@pytest.fixture(scope="module", params=["transformer", "lstm"])
def seq2seq(request, tmp_path_factory):
    tok = word_tokenizer()
    keras.utils.set_random_seed(2)
    size = tok.vocabulary_size
    if request.param == "transformer":
        model = Seq2SeqTransformer(size, size, num_encoder_layers=1, num_decoder_layers=1, hidden_dim=32, num_heads=2,
                                   intermediate_dim=64, max_source_length=10, max_target_length=10)
    else:
        model = LSTMSeq2Seq(size, size, num_layers=1, hidden_dim=32)
    path = export_saved_model(model, tok, str(tmp_path_factory.mktemp("s2s")), version=1, max_new_tokens=8,
                              max_batch_size=4)
    return model, tok, path


def test_serving_module_for_picks_the_model_kind():
    tok = word_tokenizer()
    size = tok.vocabulary_size
    encoder = BertEncoder(size, **ENCODER)
    assert isinstance(serving_module_for(BertMaskedLM(encoder), tok), MaskedLMServingModule)
    assert isinstance(serving_module_for(BertEncoder(size, **ENCODER), tok), EncoderServingModule)
    assert isinstance(serving_module_for(TextClassifier(encoder, 3), tok), ClassifierServingModule)
    assert isinstance(serving_module_for(LSTMSeq2Seq(size, size, num_layers=1, hidden_dim=8), tok), Seq2SeqServingModule)
    with pytest.raises(ValueError, match="3 labels"):
        serving_module_for(TextClassifier(encoder, 2), tok, labels=["a", "b", "c"])
    with pytest.raises(TypeError, match="no serving signatures for Dense"):
        serving_module_for(keras.layers.Dense(2), tok)


def test_fill_mask_and_embed_tf_only(masked_lm):
    model, tok, path = masked_lm
    texts = ["red <mask> blue", "one <mask> three <mask>", "no mask here", "", "<mask>"]
    body = f"""
        m = tf.saved_model.load({path!r})
        texts = tf.constant({texts!r})
        fill = {{k: v.numpy().tolist() for k, v in m.signatures["fill_mask"](texts=texts).items()}}
        fill["tokens"] = [[[t.decode() for t in mask] for mask in row] for row in fill["tokens"]]
        default = m.signatures["serving_default"](examples=tf.constant({[example(t) for t in texts]!r}))
        embed = m.signatures["embed"](texts=texts)["embedding"].numpy().tolist()
        print(json.dumps({{"sigs": sorted(m.signatures), "fill": fill, "embed": embed,
                          "default_ids": default["token_ids"].numpy().tolist()}}))
        """
    out = run_tf_only(body)
    assert set(out["sigs"]) == {"serving_default", "fill_mask", "embed"}
    fill = out["fill"]
    assert fill["num_masks"] == [1, 2, 0, 0, 1]
    assert np.array(fill["scores"]).shape == (5, 2, 3)
    assert fill["tokens"][0][0][0] == "green" and fill["tokens"][1][0][0] == "two"  # learned
    expected = MaskFiller(model, tok).fill_mask(texts, top_k=3)
    for row, masks in enumerate(expected):
        for index, predictions in enumerate(masks):
            assert fill["tokens"][row][index] == [token for token, _ in predictions]
            np.testing.assert_allclose(fill["scores"][row][index], [score for _, score in predictions], atol=1e-5)
        for index in range(len(masks), 2):  # padding of rows with fewer masks
            assert fill["tokens"][row][index] == ["", "", ""] and fill["scores"][row][index] == [0.0] * 3
    assert out["default_ids"] == fill["token_ids"]
    tokens, _ = MaskFiller(model, tok).encode(texts)
    pooled = keras.ops.convert_to_numpy(model.encoder(tokens.astype("int32"))["pooled_output"])
    np.testing.assert_allclose(out["embed"], pooled, atol=1e-5)


def test_fill_mask_bad_requests_and_truncation(masked_lm):
    _, _, path = masked_lm
    m = tf.saved_model.load(path)
    out = m.signatures["fill_mask"](texts=tf.constant(BAD + [b"<mask> " * 40]))
    # max_sequence_length 12: <cls> + 10 tokens + <sep>, so 10 of the 40 masks are predicted.
    assert out["num_masks"].numpy().tolist() == [0, 0, 0, 0, 10]
    assert out["tokens"].shape == [5, 10, 3]
    big = m.signatures["fill_mask"](texts=tf.constant(["red <mask> blue"] * 64))
    assert big["tokens"].shape == [64, 1, 3] and set(big["tokens"].numpy()[:, 0, 0].tolist()) == {b"green"}
    assert m.signatures["embed"](texts=tf.constant(BAD))["embedding"].shape == [4, 32]
    assert warmup_signatures(path) == {"fill_mask", "embed"}


def test_classify_and_embed_tf_only(classifier):
    model, tok, path = classifier
    texts = ["red blue", "two three", "", "seven green one"]
    body = f"""
        m = tf.saved_model.load({path!r})
        texts = tf.constant({texts!r})
        out = {{k: v.numpy().tolist() for k, v in m.signatures["classify"](texts=texts).items()}}
        out["label"] = [x.decode() for x in out["label"]]
        default = m.signatures["serving_default"](examples=tf.constant({[example(t) for t in texts]!r}))
        out["default"] = [x.decode() for x in default["label"].numpy()]
        out["embed"] = m.signatures["embed"](texts=texts)["embedding"].numpy().tolist()
        out["sigs"] = sorted(m.signatures)
        print(json.dumps(out))
        """
    out = run_tf_only(body)
    assert set(out["sigs"]) == {"serving_default", "classify", "embed"}
    labeler = Labeler(model, tok, labels=["colour", "number"])
    expected = labeler.classify(texts)
    np.testing.assert_allclose(out["probabilities"], expected["probabilities"], atol=1e-5)
    assert out["label"] == expected["label"] and out["label"][:2] == ["colour", "number"]  # learned
    assert out["label_id"] == [["colour", "number"].index(x) for x in out["label"]]
    assert out["default"] == out["label"]
    np.testing.assert_allclose(np.sum(out["probabilities"], axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(out["embed"], labeler.embed(texts), atol=1e-5)


def test_classify_bad_requests(classifier):
    _, _, path = classifier
    m = tf.saved_model.load(path)
    out = m.signatures["classify"](texts=tf.constant(BAD))
    assert out["probabilities"].shape == [4, 2] and np.isfinite(out["probabilities"].numpy()).all()
    assert m.signatures["classify"](texts=tf.constant(["red"] * 64))["label"].shape == [64]
    assert m.signatures["classify"](texts=tf.constant([], tf.string))["probabilities"].shape == [0, 2]
    assert warmup_signatures(path) == {"classify", "embed"}


def test_seq2seq_generate_tf_only(seq2seq):
    model, tok, path = seq2seq
    texts = ["red green blue", "the dog", "", "one two three four five six seven eight nine ten one two"]
    body = f"""
        m = tf.saved_model.load({path!r})
        texts = tf.constant({texts!r})
        gen = [t.decode() for t in m.signatures["generate"](prompts=texts)["text"].numpy()]
        opt = m.signatures["generate_with_options"](prompts=texts, max_new_tokens=tf.constant(2),
                                                     temperature=tf.constant(0.8))["text"].numpy()
        none = [[t.decode() for t in m.signatures["generate_with_options"](
            prompts=texts, max_new_tokens=tf.constant(n), temperature=tf.constant(0.8))["text"].numpy()]
            for n in (0, -2)]
        default = m.signatures["serving_default"](examples=tf.constant({[example(t) for t in texts]!r}))
        print(json.dumps({{"sigs": sorted(m.signatures), "gen": gen, "opt": [t.decode() for t in opt], "none": none,
                          "default": [t.decode() for t in default["text"].numpy()]}}))
        """
    out = run_tf_only(body)
    assert set(out["sigs"]) == {"serving_default", "generate", "generate_with_options"}
    expected = Translator(model, tok, max_new_tokens=8).translate(texts)
    assert out["gen"] == expected  # exported greedy == Python greedy, token for token
    assert any(len(t.split()) >= 3 for t in expected)  # random weights rarely stop at once: a real check
    assert out["default"] == out["gen"]
    assert all(len(t.split()) <= 2 for t in out["opt"])
    assert out["none"] == [[""] * len(texts)] * 2  # max_new_tokens 0 or negative: an empty translation


def test_seq2seq_bad_requests(seq2seq):
    _, _, path = seq2seq
    m = tf.saved_model.load(path)
    out = m.signatures["generate"](prompts=tf.constant(BAD))["text"].numpy()
    assert len(out) == 4 and all(isinstance(t.decode("utf-8"), str) for t in out)
    assert m.signatures["generate"](prompts=tf.constant(["red"] * 64))["text"].shape == [64]
    assert warmup_signatures(path) == {"generate"}


def test_bare_encoder_exports_embed(tmp_path):
    tok = word_tokenizer()
    keras.utils.set_random_seed(3)
    encoder = BertEncoder(tok.vocabulary_size, **ENCODER)
    path = export_saved_model(encoder, tok, str(tmp_path), version=1)
    m = tf.saved_model.load(path)
    assert set(m.signatures) == {"serving_default", "embed"}
    texts = ["red green", "", "one two three"]
    out = m.signatures["serving_default"](examples=tf.constant([example(t) for t in texts]))["embedding"].numpy()
    tokens, _ = MaskFiller(BertMaskedLM(encoder), tok).encode(texts)  # the same <cls> ... <sep> framing
    np.testing.assert_allclose(out, keras.ops.convert_to_numpy(encoder(tokens)["pooled_output"]), atol=1e-5)
    assert warmup_signatures(path) == {"embed"}
