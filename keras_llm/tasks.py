"""The tasks a keras_llm model serves, each with what it owns: its dataset builder, its text sample / decode
functions, its serving module and its export options.

| task | `--model` | dataset builder | Python helper | text sample | serving module |
|---|---|---|---|---|---|
| causal | rnn lstm gru gpt | `causal_lm_dataset` | `TextGenerator` | continuations | `CausalLMServingModule` |
| masked | bert | `masked_lm_dataset` | `MaskFiller` | fill-mask | `MaskedLMServingModule` |
| seq2seq | seq2seq | `seq2seq_dataset` | `Translator` | translations | `Seq2SeqServingModule` |
| classification | - | `classification_dataset` | `Labeler` | - | `ClassifierServingModule` |
| encoder | - | - | - | - | `EncoderServingModule` |

The trainer, the `keras-llm` command's choices, the export and the text samples read this table instead of
branching on task names. It imports nothing (not Keras, not TensorFlow), so the command can read its choices
before paying for either: every entry names the functions and classes it owns as `"module:attribute"` strings,
imported only when `Task.resolve` asks for one. That also keeps the package's import direction: the table sits
left of every module it names, and `training` reaching the text samples (in `generation`) or `export` the
serving modules goes through a name resolved at run time, not an import.

Example:
>>> task = TASKS["seq2seq"]
>>> task.serving_module, task.holds_pairs
('keras_llm.export.seq2seq_module:Seq2SeqServingModule', True)
>>> task_of_kind("gpt").name, model_kinds()
('causal', ('rnn', 'lstm', 'gru', 'gpt', 'bert', 'seq2seq'))
"""
import dataclasses
import importlib


@dataclasses.dataclass(frozen=True)
class Task:
    """One task and what it owns.

    Attributes:
        name: `"causal"`, `"masked"`, `"seq2seq"`, `"classification"` or `"encoder"` (embedding only).
        model_kinds: the `keras-llm train --model` kinds that train this task (`keras_llm.training.model_registry`
            gives their classes and defaults).
        model_classes: the `keras_llm.models` classes that serve this task (by name; subclasses too).
        dataset: the `keras_llm.data` builder of its training examples (None: not trained from text here).
        helper: the text-in / text-out class of `keras_llm.generation` for this task.
        sampler: `sampler(model, tokenizer, max_new_tokens) -> (prompts -> texts)`, the text summary that the
            trainer's TensorBoard callback writes each epoch (None: none).
        serving_module: the `keras_llm.export` module class that `serving_module_for` builds.
        generates: its output is generated text, so the export takes `max_new_tokens`.
        holds_pairs: examples are (source, target) pairs: the training files are not split for validation, the
            tokenizer learns from both sides of the pairs, and the builder's length bucketing is kept.
        masked_targets: the sample weights mark the positions scored (masked LM): metrics are weighted, and a
            training run draws new masks per batch.
        output_bias: a new model's output bias starts at the training data's unigram log-probabilities.
        in_pipeline: the TFX pipeline (`keras-llm pipeline --model`) trains its kinds.
    """

    name: str
    model_kinds: tuple = ()
    model_classes: tuple = ()
    dataset: str = None
    helper: str = None
    sampler: str = None
    serving_module: str = None
    generates: bool = False
    holds_pairs: bool = False
    masked_targets: bool = False
    output_bias: bool = False
    in_pipeline: bool = False

    def resolve(self, attribute):
        """The object an attribute names (`"module:name"`), imported now; None when the task has none."""
        path = getattr(self, attribute)
        if path is None:
            return None
        module, _, name = path.partition(":")
        return getattr(importlib.import_module(module), name)


_GENERATION = "keras_llm.generation"
_SAMPLES = "keras_llm.generation.text_samples"

# In the order `task_of_model` tries them: a model is an instance of at most one of these classes today, but a
# subclass of several would take the first.
TASKS = {
    task.name: task
    for task in (
        Task("seq2seq", model_kinds=("seq2seq",), model_classes=("Seq2SeqTransformer", "LSTMSeq2Seq"),
             dataset="keras_llm.data:seq2seq_dataset", helper=f"{_GENERATION}:Translator",
             sampler=f"{_SAMPLES}:translation_sampler",
             serving_module="keras_llm.export.seq2seq_module:Seq2SeqServingModule", generates=True, holds_pairs=True),
        Task("classification", model_classes=("TextClassifier",), dataset="keras_llm.data:classification_dataset",
             helper=f"{_GENERATION}:Labeler",
             serving_module="keras_llm.export.classifier_module:ClassifierServingModule"),
        Task("masked", model_kinds=("bert",), model_classes=("BertMaskedLM",),
             dataset="keras_llm.data:masked_lm_dataset",
             helper=f"{_GENERATION}:MaskFiller", sampler=f"{_SAMPLES}:fill_mask_sampler",
             serving_module="keras_llm.export.masked_lm_module:MaskedLMServingModule", masked_targets=True,
             in_pipeline=True),
        Task("encoder", model_classes=("BertEncoder",),
             serving_module="keras_llm.export.encoder_module:EncoderServingModule"),
        Task("causal", model_kinds=("rnn", "lstm", "gru", "gpt"),
             model_classes=("TransformerLanguageModel", "RNNLanguageModel", "PromptTuningLM"),
             dataset="keras_llm.data:causal_lm_dataset", helper=f"{_GENERATION}:TextGenerator",
             sampler=f"{_SAMPLES}:continuation_sampler",
             serving_module="keras_llm.export.causal_lm_module:CausalLMServingModule", generates=True,
             output_bias=True, in_pipeline=True),
    )
}

# `--model` kinds in the order the command lists them.
_KIND_ORDER = ("causal", "masked", "seq2seq")


def model_kinds(in_pipeline=False):
    """The `--model` kinds, causal first (with `in_pipeline`, those the TFX pipeline trains)."""
    return tuple(kind for name in _KIND_ORDER for kind in TASKS[name].model_kinds
                 if TASKS[name].in_pipeline or not in_pipeline)


def task_of_kind(kind):
    """The `Task` a `--model` kind trains; KeyError for an unknown kind."""
    for task in TASKS.values():
        if kind in task.model_kinds:
            return task
    raise KeyError(f"unknown model kind {kind!r}; choose one of {', '.join(model_kinds())}")


def task_of_model(model):
    """The `Task` a model serves, or None: by its class (or a base class) in `Task.model_classes`; else, for a
    model outside keras_llm, by the decoding methods it has (`encode` + `call_with_cache`/`call_with_state`: an
    encoder-decoder; the decoding methods alone: a causal LM)."""
    names = {cls.__name__ for cls in type(model).__mro__}
    for task in TASKS.values():
        if names.intersection(task.model_classes):
            return task
    if hasattr(model, "call_with_cache") or hasattr(model, "call_with_state"):
        return TASKS["seq2seq"] if hasattr(model, "encode") else TASKS["causal"]
    return None
