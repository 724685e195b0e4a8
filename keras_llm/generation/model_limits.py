"""The longest input a model reads, for the text-level helpers (`MaskFiller`, `Labeler`, `Translator`) and the
serving modules that frame inputs the same way (`keras_llm.export`)."""

DEFAULT_MAX_LENGTH = 512  # encoders without a positional limit (recurrent ones)


def encoder_max_length(model, default=DEFAULT_MAX_LENGTH):
    """The longest input an encoder-based model takes: its (or its encoder's) `max_sequence_length`."""
    for candidate in (model, getattr(model, "encoder", None)):
        limit = getattr(candidate, "max_sequence_length", None)
        if limit:
            return int(limit)
    return default


def source_max_length(model, default=DEFAULT_MAX_LENGTH):
    """The longest source a seq2seq model encodes (`max_source_length` with learned positions)."""
    if getattr(model, "position", None) == "learned" and getattr(model, "max_source_length", None):
        return int(model.max_source_length)
    return default
