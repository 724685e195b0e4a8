"""`VocabularyGen`: learns a keras_llm tokenizer from the train split of `Examples` (counting with Beam) -> a
`Vocabulary` artifact."""
import json

from tfx import types
from tfx.dsl.components.base import base_beam_component, executor_spec
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ComponentSpec, ExecutionParameter

from tfx_components.artifact_types import Vocabulary
from tfx_components.vocabulary_gen import executor
from tfx_components.vocabulary_gen.executor import check_tokenizer_kind


class VocabularyGenSpec(ComponentSpec):
    PARAMETERS = {
        executor.TOKENIZER_KIND_KEY: ExecutionParameter(type=str),
        executor.VOCAB_SIZE_KEY: ExecutionParameter(type=int, optional=True),
        executor.TOKENIZER_OPTIONS_KEY: ExecutionParameter(type=str, optional=True),
        executor.SPLIT_KEY: ExecutionParameter(type=str),
        executor.TEXT_FEATURE_KEY: ExecutionParameter(type=str),
    }
    INPUTS = {executor.EXAMPLES_KEY: ChannelParameter(type=standard_artifacts.Examples)}
    OUTPUTS = {executor.VOCABULARY_KEY: ChannelParameter(type=Vocabulary)}


class VocabularyGen(base_beam_component.BaseBeamComponent):
    """Learns a tokenizer on one split of `examples`: its units counted by a Beam pipeline (so it scales with the
    corpus and runs on the pipeline's Beam runner), the vocabulary learned from the counts (see executor.py).

    Args:
        examples: channel of `Examples` with a bytes feature `text_feature`.
        tokenizer_kind: "word", "wordpiece", "byte", "sentencepiece" or "bpe".
        vocab_size: vocabulary size (not used by "byte").
        tokenizer_options: optional dict of keyword arguments for the tokenizer's `train` (e.g. `lowercase`).
        split: the split to train on.
        text_feature: the bytes feature holding the text.

    Example:
        >>> vocabulary_gen = VocabularyGen(examples=example_gen.outputs["examples"], tokenizer_kind="word",
        ...                                vocab_size=200)
        >>> vocabulary_gen.outputs["vocabulary"]  # load with keras_llm.tokenizers.load_tokenizer(artifact.uri)
    """

    SPEC_CLASS = VocabularyGenSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)

    def __init__(self, examples, tokenizer_kind="wordpiece", vocab_size=None, tokenizer_options=None,
                 split="train", text_feature="text"):
        check_tokenizer_kind(tokenizer_kind)
        if tokenizer_kind != "byte" and not vocab_size:
            raise ValueError(f"the {tokenizer_kind} tokenizer needs a vocab_size")
        spec = VocabularyGenSpec(
            examples=examples,
            tokenizer_kind=tokenizer_kind,
            vocab_size=int(vocab_size) if vocab_size else None,
            tokenizer_options=json.dumps(tokenizer_options, sort_keys=True) if tokenizer_options else None,
            split=split,
            text_feature=text_feature,
            vocabulary=types.Channel(type=Vocabulary),
        )
        super().__init__(spec=spec)
