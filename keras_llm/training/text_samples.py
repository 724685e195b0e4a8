"""The embedding table the TensorBoard callback projects (`token_embedding_matrix`).

The text samples that used to live here (a second, uncached greedy decoder) are now the generation module's
decoder: `keras_llm.generation.text_samples`. `greedy_continuations`, `greedy_translations`,
`fill_mask_predictions` and `NEVER_SAMPLED` still load from here, on first use (PEP 562): `training` sits left of
`generation` in the package's import direction, so importing this module does not import it.
"""
from keras import ops

from keras_llm._lazy import lazy_attributes

from keras_llm.special_tokens import BOS_ID, CLS_ID, EOS_ID, MASK_ID, PAD_ID, SEP_ID, UNK_ID  # noqa: F401

__getattr__, __dir__ = lazy_attributes(__name__, globals(), {
    "greedy_continuations": "keras_llm.generation.text_samples",
    "greedy_translations": "keras_llm.generation.text_samples",
    "fill_mask_predictions": "keras_llm.generation.text_samples",
    "NEVER_SAMPLED": "keras_llm.generation.decoding:SUPPRESSED_IDS",
})


def token_embedding_matrix(model):
    """The model's token embedding table as a numpy array `[vocabulary_size, dim]`, or None.

    Found by shape and name, so it works for every keras_llm model: the first 2-D variable whose path
    mentions "embedding" (and not "position" or "segment") and whose first dimension is the model's
    vocabulary size."""
    vocabulary_size = getattr(model, "vocabulary_size", None)
    for variable in model.weights:
        path = getattr(variable, "path", variable.name).lower()
        if len(variable.shape) != 2 or "embedding" not in path or "position" in path or "segment" in path:
            continue
        if vocabulary_size is None or variable.shape[0] == vocabulary_size:
            return ops.convert_to_numpy(variable).astype("float32")
    return None
