"""The keras_llm TFX pipeline: text files -> validated `Examples` -> vocabulary -> trained, blessed, pushed model.

```
TextExampleGen ─┬─▶ StatisticsGen ─▶ SchemaGen ─▶ ExampleValidator ─┐  (TFX's own TFDV checks)
                └──────────────────────────────────────────────────┴─▶ TextDataValidator
                                                                          │ has_anomalies == 0 ?
                                          tfx.dsl.Cond ───────────────────┘
                                            └─▶ VocabularyGen ─▶ training stage (TextTrainer, PerplexityEvaluator,
                                                                  ServingValidator, Pusher; training_stage.py)
```

`TextDataValidator` also reads ExampleValidator's anomalies, so its `has_anomalies` property covers both its
own language-model checks and TFDV's schema checks. Everything created inside the `tfx.dsl.Cond` block runs
only when it is 0; otherwise those nodes are skipped (no execution, no artifacts, nothing pushed).

Extension point: `add_components(data)` is called inside the Cond block with a `DataComponents` (the nodes
above and shortcuts to their outputs) and returns the further nodes, e.g.

```python
def add_training(data):
    trainer = tfx.components.Trainer(run_fn="keras_llm_trainer.run_fn", examples=data.examples, ...)
    return [trainer, tfx.components.Pusher(model=trainer.outputs["model"], ...)]

create_pipeline(..., add_components=add_training)
```

Run from a shell with `keras-llm pipeline --data DIR --output DIR [...]`, the one entry point (it adds the
training stage, or compiles the same pipeline for Kubeflow Pipelines v2 / Vertex AI with `--runner kubeflow`).
"""
import sys
import dataclasses
from typing import Any, Callable, Optional, Sequence

import tfx.v1 as tfx

from tfx_components.artifact_types import TextStatistics, Vocabulary
from tfx_components.text_data_validator import TextDataValidator, no_text_anomalies
from tfx_components.text_example_gen import TextExampleGen
from tfx_components.training_stage import TrainingStage
from tfx_components.vocabulary_gen import VocabularyGen

# Beam runs in-process with one worker unless told otherwise (fast start, small data; pass your own for scale).
DEFAULT_BEAM_PIPELINE_ARGS = ("--direct_running_mode=in_memory", "--direct_num_workers=1")


@dataclasses.dataclass
class DataComponents:
    """The data-stage nodes; `add_components` hooks get one to wire later nodes to their outputs."""

    example_gen: Any
    statistics_gen: Any
    schema_gen: Any
    example_validator: Any
    text_data_validator: Any
    vocabulary_gen: Any

    @property
    def examples(self):
        return self.example_gen.outputs["examples"]

    @property
    def schema(self):
        return self.schema_gen.outputs["schema"]

    @property
    def vocabulary(self):
        return self.vocabulary_gen.outputs["vocabulary"]

    @property
    def text_anomalies(self):
        return self.text_data_validator.outputs["anomalies"]


def create_pipeline(
    pipeline_name: str,
    pipeline_root: str,
    data_root: str,
    metadata_path: Optional[str],
    *,
    text_format: str = "auto",
    jsonl_field: str = "text",
    tokenizer_kind: str = "wordpiece",
    vocab_size: Optional[int] = 8000,
    tokenizer_options: Optional[dict] = None,
    validation_thresholds: Optional[dict] = None,
    vocabulary_uri: Optional[str] = None,
    baseline_statistics_uri: Optional[str] = None,
    enable_cache: bool = True,
    beam_pipeline_args: Sequence[str] = DEFAULT_BEAM_PIPELINE_ARGS,
    add_components: Optional[Callable[[DataComponents], Sequence[Any]]] = None,
    training: Optional[TrainingStage] = None,
) -> tfx.dsl.Pipeline:
    """Builds the pipeline (see the module docstring).

    Args:
        pipeline_name, pipeline_root: TFX pipeline name and the directory for its artifacts.
        data_root: directory of the corpus files (plain text and/or JSON Lines), or a string
            `RuntimeParameter` (set when the run is submitted; see `kubeflow_run`).
        metadata_path: SQLite file of the ML Metadata store; None where the orchestrator brings its own
            (Kubeflow Pipelines, Vertex AI).
        text_format, jsonl_field: how `TextExampleGen` reads the files.
        tokenizer_kind, vocab_size, tokenizer_options: what `VocabularyGen` trains.
        validation_thresholds: keyword arguments for `TextDataValidator` (`TextValidationThresholds` fields).
        vocabulary_uri: a known vocabulary directory (`Tokenizer.save`) for the unknown-token check.
        baseline_statistics_uri: a known-good `TextStatistics` directory for the character-set drift check.
        enable_cache: reuse results of executions with the same inputs and properties.
        beam_pipeline_args: Beam options for the Beam-based components.
        add_components: hook building the nodes after VocabularyGen; they run only without anomalies.
        training: the model stage (train, evaluate, validate serving, push); None for the data stage only.
    """
    example_gen = TextExampleGen(input_base=data_root, text_format=text_format, jsonl_field=jsonl_field)
    statistics_gen = tfx.components.StatisticsGen(examples=example_gen.outputs["examples"])
    schema_gen = tfx.components.SchemaGen(statistics=statistics_gen.outputs["statistics"])
    example_validator = tfx.components.ExampleValidator(
        statistics=statistics_gen.outputs["statistics"], schema=schema_gen.outputs["schema"])
    nodes = [example_gen, statistics_gen, schema_gen, example_validator]

    optional_inputs = {}
    if vocabulary_uri:
        importer = tfx.dsl.Importer(source_uri=vocabulary_uri, artifact_type=Vocabulary).with_id("vocabulary_importer")
        optional_inputs["vocabulary"] = importer.outputs["result"]
        nodes.append(importer)
    if baseline_statistics_uri:
        importer = tfx.dsl.Importer(source_uri=baseline_statistics_uri,
                                    artifact_type=TextStatistics).with_id("baseline_statistics_importer")
        optional_inputs["baseline_statistics"] = importer.outputs["result"]
        nodes.append(importer)
    text_data_validator = TextDataValidator(
        examples=example_gen.outputs["examples"], example_anomalies=example_validator.outputs["anomalies"],
        **optional_inputs, **(validation_thresholds or {}))
    nodes.append(text_data_validator)

    with tfx.dsl.Cond(no_text_anomalies(text_data_validator.outputs["anomalies"])):
        vocabulary_gen = VocabularyGen(examples=example_gen.outputs["examples"], tokenizer_kind=tokenizer_kind,
                                       vocab_size=vocab_size, tokenizer_options=tokenizer_options)
        data = DataComponents(example_gen, statistics_gen, schema_gen, example_validator, text_data_validator,
                              vocabulary_gen)
        later = list(training.components(data)) if training else []
        later += list(add_components(data)) if add_components else []
    nodes += [vocabulary_gen, *later]

    return tfx.dsl.Pipeline(
        pipeline_name=pipeline_name,
        pipeline_root=pipeline_root,
        components=nodes,
        enable_cache=enable_cache,
        metadata_connection_config=(tfx.orchestration.metadata.sqlite_metadata_connection_config(metadata_path)
                                    if metadata_path else None),
        beam_pipeline_args=list(beam_pipeline_args),
    )


def run_pipeline(pipeline_name, pipeline_root, data_root, metadata_path, **kwargs):
    """Builds the pipeline with `create_pipeline` and runs it in this process on `LocalDagRunner`."""
    pipeline = create_pipeline(pipeline_name, pipeline_root, data_root, metadata_path, **kwargs)
    print(f"running the TFX pipeline {pipeline_name!r} ({' -> '.join(c.id for c in pipeline.components)}); "
          f"steps whose inputs are unchanged reuse their cached results", flush=True)
    tfx.orchestration.LocalDagRunner().run(pipeline)
    return pipeline


if __name__ == "__main__":
    sys.exit("the pipeline's command is `keras-llm pipeline --data DIR --output DIR` (see `keras-llm pipeline --help`)")
