"""What PerplexityEvaluator measures: a model's eval-split perplexity and that of the unigram baseline on the
very same target tokens.

- Causal LMs are scored through the SavedModel's `score` signature (what a server would compute): each text's
  tokens and its closing `<eos>`, after a document start, up to the model's context.
- Masked LMs (`BertMaskedLM`, whose SavedModel has no `score`) are scored from the Keras run directory on the
  masked positions of the eval texts, packed as in training (`<cls> ... <sep>` blocks of the run's `seq_len`)
  and masked by BERT's recipe (`keras_llm.data.mask_tokens`) with stateless seeds `(seed, batch index)`, so
  every model and every rerun is scored on the same positions.
- The unigram baseline: the add-0.5 smoothed token frequencies of the train split
  (`keras_llm.training.output_bias.unigram_log_probs`, the distribution a causal LM's output bias starts
  from), tokenized with the model's own tokenizer and counted over the targets its task predicts (every token
  and each document's `<eos>`; non-special tokens for a masked LM), evaluated on the same targets as the model.
  A model no better than it has learned nothing beyond word frequencies.
"""
import json
import math
import os

import numpy as np
import tensorflow as tf

from keras_llm.data import mask_tokens, masked_lm_dataset, tfrecord_dataset
from keras_llm.data.packing import token_stream
from keras_llm.special_tokens import EOS_ID, NUM_SPECIAL_TOKENS
from keras_llm.tasks import TASKS
from keras_llm.tokenizers import load_tokenizer
from keras_llm.training.model_registry import MODEL_KINDS
from keras_llm.training.output_bias import unigram_log_probs

from tfx_components.model_paths import keras_run_path, split_files

UNIGRAM_MAX_CHUNKS = 4000  # train-split chunks counted (token_stream's batches of texts): ample for a unigram model


def model_task(model_uri):
    """`"causal"` or `"masked"`: the task of the family in the model's `train_config.json`; a `Model` without
    one (trained by an earlier TextTrainer, which trained causal LMs only) is causal."""
    path = os.path.join(keras_run_path(model_uri), "train_config.json")
    if not tf.io.gfile.exists(path):
        return "causal"
    with tf.io.gfile.GFile(path) as f:
        return MODEL_KINDS[json.load(f)["model"]].task


def run_tokenizer(model_uri):
    """The tokenizer the model was trained with (its Keras run directory's `tokenizer/`)."""
    path = os.path.join(keras_run_path(model_uri), "tokenizer")
    if not tf.io.gfile.exists(path):
        raise ValueError(f"{model_uri}: no keras_llm run directory with a tokenizer ({path})")
    return load_tokenizer(path)


def train_unigram_log_probs(tokenizer, examples_uri, task, feature="text", split="train"):
    """Smoothed log unigram frequencies `[vocabulary_size]` of the targets `task` predicts, counted on `split`.

    Example:
        >>> log_p = train_unigram_log_probs(tokenizer, examples.uri, "causal")
    """
    texts = tfrecord_dataset(split_files(examples_uri, split), feature=feature)
    chunks = token_stream(texts, tokenizer, EOS_ID)  # each text's tokens, then <eos>
    if TASKS[task].masked_targets:
        chunks = chunks.map(lambda ids: tf.boolean_mask(ids, ids >= NUM_SPECIAL_TOKENS))
    targets = chunks.map(lambda ids: (ids, ids))
    return unigram_log_probs(targets, tokenizer.vocabulary_size, max_batches=UNIGRAM_MAX_CHUNKS)


def saved_model_scores(model_dir, texts, batch_size=64):
    """Per text: (log-likelihood in nats float64, number of target tokens int64), via the `score` signature."""
    import tensorflow_text  # noqa: F401  (registers the ops the SavedModel uses)

    score = tf.saved_model.load(model_dir).signatures["score"]
    log_likelihoods, num_tokens = [], []
    for start in range(0, len(texts), batch_size):
        out = score(texts=tf.constant(texts[start : start + batch_size]))
        log_likelihoods.append(out["log_likelihood"].numpy().astype(np.float64))
        num_tokens.append(out["num_tokens"].numpy().astype(np.int64))
    return np.concatenate(log_likelihoods), np.concatenate(num_tokens)


def saved_model_perplexity(model_dir, texts, batch_size=64):
    """exp(total negative log-likelihood / total tokens) over `texts`, via the SavedModel's `score` signature.

    Returns:
        `(perplexity, number of target tokens)`; ValueError when there is nothing to score.
    """
    log_likelihoods, num_tokens = saved_model_scores(model_dir, texts, batch_size)
    if not num_tokens.sum():
        raise ValueError(f"no tokens to score for {model_dir}")
    return math.exp(-log_likelihoods.sum() / num_tokens.sum()), int(num_tokens.sum())


def causal_unigram_perplexity(tokenizer, texts, num_tokens, log_probs, batch_size=256):
    """Unigram perplexity on the targets the `score` signature scored: of each text's tokens and its `<eos>`,
    the first `num_tokens[i]` (the signature truncates at the model's context)."""
    total, count = 0.0, 0
    for start in range(0, len(texts), batch_size):
        rows = tokenizer.tokenize(tf.constant(texts[start : start + batch_size])).to_list()
        for ids, n in zip(rows, num_tokens[start : start + batch_size]):
            targets = (list(ids) + [EOS_ID])[: int(n)]
            total += float(log_probs[targets].sum())
            count += len(targets)
    return math.exp(-total / max(count, 1))


def masked_eval_batches(config, tokenizer, texts, batch_size=32):
    """The eval texts as masked-LM batches `[(inputs, labels, weights)]` (numpy): packed as in training, the
    masks drawn from stateless seeds `(config.seed, batch index)` so that they never change."""
    source = tf.data.Dataset.from_tensor_slices(texts)
    blocks = masked_lm_dataset(source, tokenizer, config.seq_len, 1, mask_rate=0.0, shuffle=False)
    blocks = blocks.map(lambda inputs, labels, weights: labels).unbatch().batch(batch_size)
    batches = []
    for index, labels in enumerate(blocks):
        inputs, labels, weights = mask_tokens(labels, tf.constant([config.seed, index]), tokenizer.vocabulary_size)
        batches.append((inputs.numpy(), labels.numpy(), weights.numpy()))
    if not batches:
        raise ValueError(f"eval texts too small for one masked-LM block of {config.seq_len} tokens")
    return batches


def masked_lm_perplexities(model_uri, texts, log_probs=None, batch_size=32):
    """Masked-token perplexity of the Keras model in `model_uri` on `texts` and, with `log_probs`, the unigram
    baseline's on the same masked positions.

    Returns:
        `(perplexity, unigram perplexity or None, number of masked tokens)`.
    """
    from keras import ops

    from keras_llm.training.trainer import load_trained

    model, tokenizer, config = load_trained(keras_run_path(model_uri))
    total, unigram, count = 0.0, 0.0, 0.0
    for inputs, labels, weights in masked_eval_batches(config, tokenizer, texts, batch_size):
        logits = ops.convert_to_numpy(model(inputs, training=False)).astype(np.float64)
        peak = logits.max(-1, keepdims=True)
        log_softmax = logits - peak - np.log(np.exp(logits - peak).sum(-1, keepdims=True))
        picked = np.take_along_axis(log_softmax, labels[..., None], -1)[..., 0]
        total += float((picked * weights).sum())
        if log_probs is not None:
            unigram += float((log_probs[labels] * weights).sum())
        count += float(weights.sum())
    if not count:
        raise ValueError(f"no masked tokens to score for {model_uri}")
    return math.exp(-total / count), (math.exp(-unigram / count) if log_probs is not None else None), int(count)
