"""Start a language model as a unigram model: its logits' bias set to the corpus's log token frequencies."""
import numpy as np


def unigram_log_probs(dataset, vocabulary_size, max_batches=2000, smoothing=0.5):
    """Log frequencies of the target ids of `(inputs, targets)` batches (the first `max_batches`), with
    add-`smoothing` counts so that an id never seen gets a small, finite value. Returns float32 `[vocabulary_size]`.

    Example:
        >>> log_probs = unigram_log_probs(causal_lm_dataset(files, tokenizer, 64, 32, shuffle=False), 8000)
    """
    counts = np.zeros(vocabulary_size, dtype=np.float64)
    for batch in dataset.take(max_batches).as_numpy_iterator():
        targets = np.asarray(batch[1]).ravel()
        counts += np.bincount(targets[(targets >= 0) & (targets < vocabulary_size)], minlength=vocabulary_size)
    counts += smoothing
    return np.log(counts / counts.sum()).astype("float32")


def initialize_output_bias(model, dataset, vocabulary_size, max_batches=2000):
    """Sets `model.output_bias_variable` (when the model has one, e.g. `RNNLanguageModel`) to the unigram log
    frequencies of `dataset`'s targets, so training starts from the unigram model rather than from uniform
    logits: Adam moves each bias by about one learning rate per step, so learning frequencies that span ~10 nats
    from zero is slow, and a recurrent LM sat above the unigram perplexity for its first few hundred steps.
    Returns whether a bias was set."""
    variable = getattr(model, "output_bias_variable", None)
    if variable is None:
        return False
    variable.assign(unigram_log_probs(dataset, vocabulary_size, max_batches=max_batches))
    return True
