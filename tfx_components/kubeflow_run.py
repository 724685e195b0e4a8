"""The pipeline compiled for Kubeflow Pipelines v2 and Vertex AI Pipelines (no cluster needed to compile).

`compile_kubeflow_pipeline` builds the very pipeline `run_local_pipeline` runs (`create_pipeline` with the same
`training_stage`) and hands it to TFX's `KubeflowV2DagRunner`, which writes a pipeline-spec file instead of
running anything:

- a `.json` path: a `PipelineJob` (pipeline spec + runtime config), what Vertex AI's `PipelineJob(template_path=)`
  and `gcloud ai` take; a `.yaml` / `.yml` path: the bare `PipelineSpec`, what `kfp.Client` uploads.
- the spec's schema is 2.1.0 (`parameterType`, what the kfp 2 SDK writes and both KFP 2 and Vertex run; TFX's
  2.0.0 default cannot even be written as YAML once the pipeline has a runtime parameter).
- every component runs in `image` (see the repository's Dockerfile: TFX 1.16 + this package), as
  `python -m tfx.orchestration.kubeflow.v2.container.kubeflow_v2_run_executor --executor_class_path ...`;
  the trainer's `run_fn` is a module path (`tfx_components.text_trainer.run_fn.run_fn`) imported there.
- `beam_pipeline_args` reach every Beam-based component (e.g. `--runner=DataflowRunner --project=...`).
- paths are written as given: on Kubeflow/Vertex they are read inside the containers, so they should be
  `gs://` (or another filesystem every container sees); local paths only make sense for local runs.
- the corpus directory is the runtime parameter `data-root` (default: the `data_dir` given), so one spec can
  be submitted on other data: `parameter_values={"data-root": "gs://..."}`.
- keras_llm's artifact types (`Vocabulary`, `TextStatistics`) are named in the spec by an importable path,
  `tfx_components.<Class>`, with their declared properties (see `_importable_artifact_schemas`): the
  container's entrypoint imports a custom type by its schema title, and TFX 1.16's compiler would otherwise
  write the MLMD type name (`keras_llm.Vocabulary`, not importable) and reject `TextStatistics`' `span` /
  `split_names` properties.
- there is no SQLite ML Metadata: Kubeflow/Vertex keep their own, which the evaluator's latest-blessed-model
  resolver queries.

Example:
    >>> compile_kubeflow_pipeline("gs://bucket/corpus", "gs://bucket/run", output_spec="pipeline.json",
    ...                           image="us-docker.pkg.dev/proj/repo/keras-llm-tfx:1",
    ...                           beam_pipeline_args=["--runner=DataflowRunner", "--project=proj"])
"""
import contextlib
import os
import re

DEFAULT_IMAGE = "keras-llm-tfx:latest"
DATA_ROOT_PARAMETER = "data-root"
DEFAULT_PIPELINE_NAME = "keras-llm"  # Kubeflow/Vertex names: [a-z0-9][a-z0-9-]{0,127} (no "_")


def is_remote_path(path):
    """True for a URL-like path (gs://, s3://, hdfs://, ...), which is kept as it is."""
    return "://" in str(path)


def default_spec_path(output_dir):
    """`<output_dir>/pipeline.json` (only for a local output directory: the spec is written on this machine)."""
    if is_remote_path(output_dir):
        raise ValueError(f"--output {output_dir} is not a local directory: give --output-spec PATH for the spec file")
    return os.path.join(output_dir, "pipeline.json")


def check_pipeline_name(name):
    """Kubeflow/Vertex accept `[a-z0-9][a-z0-9-]{0,127}` (TFX's own message for a bad one is garbled)."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,127}", name):
        raise ValueError(f"pipeline name {name!r} is not a Kubeflow/Vertex name: lower-case letters, digits and "
                         f"'-', at most 128, starting with a letter or digit")


def build_kubeflow_pipeline(data_dir, output_dir, *, tokenizer="word", vocab_size=1000, enable_cache=True,
                            pipeline_name=DEFAULT_PIPELINE_NAME, beam_pipeline_args=None, init_from=None, **settings):
    """The `tfx.dsl.Pipeline` that `run_local_pipeline` would run, with paths as given, the data root as the
    `data-root` runtime parameter and no ML Metadata connection (the orchestrator has its own)."""
    check_pipeline_name(pipeline_name)
    import tfx.v1 as tfx

    from tfx_components.local_run import pipeline_layout, training_stage
    from tfx_components.pipeline import DEFAULT_BEAM_PIPELINE_ARGS, create_pipeline

    layout = pipeline_layout(str(output_dir))
    data_root = tfx.dsl.experimental.RuntimeParameter(name=DATA_ROOT_PARAMETER, ptype=str, default=str(data_dir))
    stage = training_stage(layout["serving_dir"], init_from=init_from, **settings)
    return create_pipeline(
        pipeline_name, layout["pipeline_root"], data_root, None, tokenizer_kind=tokenizer, vocab_size=vocab_size,
        enable_cache=enable_cache, training=stage,
        beam_pipeline_args=DEFAULT_BEAM_PIPELINE_ARGS if beam_pipeline_args is None else beam_pipeline_args)


def compile_kubeflow_pipeline(data_dir, output_dir, *, output_spec=None, image=DEFAULT_IMAGE, **options):
    """Writes the pipeline spec for Kubeflow Pipelines v2 / Vertex AI and returns its path.

    Args:
        data_dir: the corpus directory as the containers see it (gs://...); the `data-root` parameter's default.
        output_dir: the run's directory as the containers see it: `pipeline/` (pipeline_root, artifacts) and
            `serving/<version>` (pushed models) go under it.
        output_spec: the spec file on this machine (`.json`: a PipelineJob, `.yaml`: a PipelineSpec); default
            `<output_dir>/pipeline.json` for a local `output_dir`.
        image: the container image every component runs in.
        options: `beam_pipeline_args`, `pipeline_name`, `tokenizer`, `vocab_size`, `enable_cache`, `init_from`
            and the model stage's settings, as for `run_local_pipeline`.
    """
    from tfx.orchestration.kubeflow.v2 import kubeflow_v2_dag_runner

    pipeline = build_kubeflow_pipeline(data_dir, output_dir, **options)
    output_spec = str(output_spec or default_spec_path(output_dir))
    from tfx.dsl.io import fileio

    runner = kubeflow_v2_dag_runner.KubeflowV2DagRunner(
        config=kubeflow_v2_dag_runner.KubeflowV2DagRunnerConfig(default_image=image, use_pipeline_spec_2_1=True))
    with _importable_artifact_schemas():  # the given data_dir is the parameter's value in the runtime config
        job = runner.run(pipeline, parameter_values={DATA_ROOT_PARAMETER: str(data_dir)}, write_out=False)
    # ... and its default in the spec itself, so a bare PipelineSpec (.yaml, kfp.Client) runs without it too.
    parameter = job["pipelineSpec"]["root"]["inputDefinitions"]["parameters"][DATA_ROOT_PARAMETER]
    parameter.update(defaultValue=str(data_dir), isOptional=True)
    directory = os.path.dirname(output_spec)
    if directory and not fileio.exists(directory):
        fileio.makedirs(directory)
    kubeflow_v2_dag_runner._write_pipeline_spec_to_file(  # noqa: SLF001 - TFX's own writer (JSON, or YAML + header)
        job, "keras_llm's TFX pipeline (tfx_components.kubeflow_run)", output_spec)
    return output_spec


@contextlib.contextmanager
def _importable_artifact_schemas():
    """While compiling: the schema of an artifact type exported by `tfx_components` is TFX's generic one with
    the title `tfx_components.<Class>` (what `kubeflow_v2_entrypoint_utils` imports in the container) and the
    class's `PROPERTIES`; other types keep TFX's schema."""
    import yaml
    from tfx.orchestration.kubeflow.v2 import compiler_utils
    from tfx.types.artifact import PropertyType

    import tfx_components

    original = compiler_utils.get_artifact_schema
    yaml_types = {PropertyType.INT: "integer", PropertyType.FLOAT: "number", PropertyType.STRING: "string"}

    def get_artifact_schema(artifact_type):
        if getattr(tfx_components, artifact_type.__name__, None) is not artifact_type:
            return original(artifact_type)
        schema = yaml.safe_load(original(artifact_type))
        schema["title"] = f"tfx_components.{artifact_type.__name__}"
        properties = {name: {"type": yaml_types[p.type]} for name, p in (artifact_type.PROPERTIES or {}).items()}
        if properties:
            schema["properties"] = properties
        return yaml.dump(schema, sort_keys=False)

    compiler_utils.get_artifact_schema = get_artifact_schema
    try:
        yield
    finally:
        compiler_utils.get_artifact_schema = original
