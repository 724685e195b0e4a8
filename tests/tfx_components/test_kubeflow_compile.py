"""The pipeline compiled for Kubeflow Pipelines v2 / Vertex AI (`keras-llm pipeline --runner kubeflow`), read the
way the orchestrator reads it: the spec parsed into kfp's `PipelineJob` proto, each step's container command and
executor class, the trainer's run_fn, the Cond on the validator's anomalies, the blessings the Pusher waits for,
the Beam args, the `data-root` runtime parameter, and each artifact type's class as the container entrypoint
imports it. No cluster and no component runs. Also the Dockerfile that builds the image the spec names."""
import contextlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("tfx")
pytestmark = pytest.mark.tfx

ROOT = Path(__file__).resolve().parents[2]
BEAM_ARGS = ["--runner=DataflowRunner", "--project=my-project", "--region=europe-west4"]
IMAGE = "europe-docker.pkg.dev/my-project/repo/keras-llm-tfx:7"
STEPS = {"TextExampleGen": "tfx_components.text_example_gen.executor.Executor",
         "StatisticsGen": "tfx.components.statistics_gen.executor.Executor",
         "SchemaGen": "tfx.components.schema_gen.executor.Executor",
         "ExampleValidator": "tfx.components.example_validator.executor.Executor",
         "TextDataValidator": "tfx_components.text_data_validator.executor.Executor",
         "VocabularyGen": "tfx_components.vocabulary_gen.executor.Executor",
         "TextTrainer": "tfx_components.text_trainer.executor.TextTrainerExecutor",
         "PerplexityEvaluator": "tfx_components.perplexity_evaluator.executor.Executor",
         "ServingValidator": "tfx_components.serving_validator.executor.Executor",
         "Pusher": "tfx.components.pusher.executor.Executor"}
GATED = {"VocabularyGen", "TextTrainer", "PerplexityEvaluator", "ServingValidator", "Pusher"}


@pytest.fixture(scope="module")
def spec(tmp_path_factory):
    """(PipelineJob as a dict, as the kfp proto) of a tiny LSTM pipeline with gs:// paths."""
    from google.protobuf import json_format
    from kfp.pipeline_spec import pipeline_spec_pb2

    from tfx_components.kubeflow_run import compile_kubeflow_pipeline

    path = tmp_path_factory.mktemp("spec") / "pipeline.json"
    written = compile_kubeflow_pipeline(
        "gs://bucket/corpus", "gs://bucket/runs/1", output_spec=path, image=IMAGE, beam_pipeline_args=BEAM_ARGS,
        model="lstm", tokenizer="word", vocab_size=300, train_steps=60, seq_len=32, batch_size=16,
        init_from="gs://bucket/pretrained")
    assert Path(written) == path
    job = json.loads(path.read_text())
    proto = json_format.Parse(path.read_text(), pipeline_spec_pb2.PipelineJob())  # what Vertex / KFP parse
    return job, proto


def test_every_step_runs_its_executor_in_the_image_with_the_beam_args(spec):
    job, proto = spec
    spec_dict = job["pipelineSpec"]
    tasks = spec_dict["root"]["dag"]["tasks"]
    assert set(STEPS) <= set(tasks)
    executors = spec_dict["deploymentSpec"]["executors"]
    for step, executor_class in STEPS.items():
        container = executors[spec_dict["components"][tasks[step]["componentRef"]["name"]]["executorLabel"]]["container"]
        assert container["image"] == IMAGE, step
        assert container["command"] == ["python", "-m",
                                        "tfx.orchestration.kubeflow.v2.container.kubeflow_v2_run_executor"], step
        args = container["args"]
        assert args[args.index("--executor_class_path") + 1] == executor_class, step
        assert args[-len(BEAM_ARGS):] == BEAM_ARGS, step  # every step gets them (Beam-based ones use them)
        module, name = executor_class.rsplit(".", 1)
        assert hasattr(__import__(module, fromlist=[name]), name), executor_class  # importable in the image
    assert proto.pipeline_spec["pipelineInfo"]["name"] == "keras-llm"


def test_paths_are_the_given_ones_and_the_trainer_runs_a_module_path(spec):
    job, _ = spec
    assert job["runtimeConfig"]["gcsOutputDirectory"] == "gs://bucket/runs/1/pipeline"
    tasks = job["pipelineSpec"]["root"]["dag"]["tasks"]
    push = json.loads(tasks["Pusher"]["inputs"]["parameters"]["push_destination"]["runtimeValue"]["constant"])
    assert push == {"filesystem": {"base_directory": "gs://bucket/runs/1/serving"}}
    trainer = {k: v["runtimeValue"]["constant"] for k, v in tasks["TextTrainer"]["inputs"]["parameters"].items()}
    run_fn = trainer["run_fn"]
    assert run_fn == "tfx_components.text_trainer.run_fn.run_fn" and "/" not in run_fn
    assert "module_file" not in trainer
    config = json.loads(trainer["custom_config"])
    assert config["model"] == "lstm" and config["seq_len"] == 32 and config["init_from"] == "gs://bucket/pretrained"
    assert json.loads(trainer["train_args"]) == {"num_steps": 60}
    assert "gs:/bucket" not in json.dumps(job)  # no os.path mangling of a URL anywhere


def test_data_root_is_a_runtime_parameter_defaulting_to_the_given_path(spec):
    job, proto = spec
    root = job["pipelineSpec"]["root"]
    assert root["inputDefinitions"]["parameters"] == {
        "data-root": {"parameterType": "STRING", "defaultValue": "gs://bucket/corpus", "isOptional": True}}
    assert job["pipelineSpec"]["schemaVersion"] == "2.1.0"
    example_gen = root["dag"]["tasks"]["TextExampleGen"]["inputs"]["parameters"]
    assert example_gen["input_base"] == {"componentInputParameter": "data-root"}
    assert proto.runtime_config.parameter_values["data-root"].string_value == "gs://bucket/corpus"


def test_the_model_stage_runs_only_without_data_anomalies(spec):
    job, _ = spec
    tasks = job["pipelineSpec"]["root"]["dag"]["tasks"]
    condition = "(inputs.artifacts['_TextDataValidator.anomalies'].artifacts[0].metadata['has_anomalies'] == 0.0)"
    for step in STEPS:
        if step in GATED:
            assert tasks[step]["triggerPolicy"]["condition"] == condition, step
            anomalies = tasks[step]["inputs"]["artifacts"]["_TextDataValidator.anomalies"]["taskOutputArtifact"]
            assert anomalies == {"producerTask": "TextDataValidator", "outputArtifactKey": "anomalies"}, step
        else:
            assert "triggerPolicy" not in tasks[step], step


def test_the_pusher_waits_for_both_blessings_and_the_evaluator_for_the_last_blessed_model(spec):
    job, _ = spec
    tasks = job["pipelineSpec"]["root"]["dag"]["tasks"]
    pusher = {k: v["taskOutputArtifact"] for k, v in tasks["Pusher"]["inputs"]["artifacts"].items()}
    assert pusher["model"] == {"producerTask": "TextTrainer", "outputArtifactKey": "model"}
    assert pusher["model_blessing"] == {"producerTask": "PerplexityEvaluator", "outputArtifactKey": "blessing"}
    assert pusher["infra_blessing"] == {"producerTask": "ServingValidator", "outputArtifactKey": "blessing"}
    evaluator = {k: v["taskOutputArtifact"] for k, v in tasks["PerplexityEvaluator"]["inputs"]["artifacts"].items()}
    assert evaluator["model"]["producerTask"] == "TextTrainer"
    assert evaluator["baseline_model"]["producerTask"] == "latest_blessed_model_resolver-model-resolver"
    executors = job["pipelineSpec"]["deploymentSpec"]["executors"]
    blessing_query = executors["latest_blessed_model_resolver-model-blessing-resolver_executor"]["resolver"]
    assert "metadata.blessed.number_value=1" in blessing_query["outputArtifactQueries"]["model_blessing"]["filter"]


def test_artifact_types_resolve_to_their_classes_in_the_container(spec):
    """The container's entrypoint imports a custom artifact type by its schema title (TFX's own by a table)."""
    import yaml
    from google.protobuf import json_format
    from kfp.pipeline_spec import pipeline_spec_pb2
    from tfx.orchestration.kubeflow.v2.container import kubeflow_v2_entrypoint_utils as entrypoint
    from tfx.utils import import_utils

    from tfx_components.artifact_types import TextStatistics, Vocabulary

    job, _ = spec
    found = {}
    for component in job["pipelineSpec"]["components"].values():
        for side in ("inputDefinitions", "outputDefinitions"):
            for artifact in component.get(side, {}).get("artifacts", {}).values():
                schema = json_format.ParseDict(artifact["artifactType"], pipeline_spec_pb2.ArtifactTypeSchema())
                cls = import_utils.import_class_by_path(entrypoint._retrieve_class_path(schema))
                found[cls.TYPE_NAME] = (cls, yaml.safe_load(schema.instance_schema))
    assert found["keras_llm.Vocabulary"][0] is Vocabulary
    cls, schema = found["keras_llm.TextStatistics"]
    assert cls is TextStatistics and set(schema["properties"]) == {"span", "split_names"}
    assert {"Examples", "ExampleAnomalies", "Model", "ModelBlessing", "InfraBlessing", "PushedModel"} <= set(found)


def test_local_paths_default_spec_and_yaml_and_bad_names(tmp_path):
    from tfx_components.kubeflow_run import build_kubeflow_pipeline, compile_kubeflow_pipeline

    path = compile_kubeflow_pipeline("data", str(tmp_path / "out"), output_spec=tmp_path / "spec.yaml",
                                     model="gru", train_steps=3)
    spec = (tmp_path / "spec.yaml").read_text()
    assert path.endswith("spec.yaml") and "pipelineInfo:" in spec and "tfx_components.Vocabulary" in spec
    assert "defaultValue: data\n" in spec and "data-root: str" in spec
    pipeline = build_kubeflow_pipeline("data", str(tmp_path / "out"))
    assert pipeline.pipeline_info.pipeline_root == f"{tmp_path}/out/pipeline"  # relative data stays relative
    assert pipeline.metadata_connection_config is None
    assert [c.id for c in pipeline.components][:5] == ["TextExampleGen", "StatisticsGen", "SchemaGen",
                                                       "ExampleValidator", "TextDataValidator"]
    with pytest.raises(ValueError, match="not a Kubeflow/Vertex name"):
        build_kubeflow_pipeline("gs://b/d", "gs://b/o", pipeline_name="keras_llm")
    with pytest.raises(ValueError, match="--output-spec"):
        compile_kubeflow_pipeline("gs://b/d", "gs://b/o")


@contextlib.contextmanager
def _no_exit():
    yield None


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "keras_llm.cli", "pipeline", *map(str, args)], capture_output=True,
                          text=True, timeout=300, cwd=ROOT,
                          env={"PATH": "/usr/bin:/bin", "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3"})


def test_cli_kubeflow_writes_the_spec_and_runs_nothing(tmp_path):
    spec = tmp_path / "spec" / "job.json"
    out = _cli("--runner", "kubeflow", "--data", "gs://bucket/corpus", "--output", "gs://bucket/run", "--model", "bert",
               "--output-spec", spec, "--image", IMAGE, "--beam-pipeline-args=--runner=DataflowRunner --project=p",
               "--beam-pipeline-args=--region=r")
    assert out.returncode == 0, out.stderr[-3000:]
    assert str(spec) in out.stdout and "nothing was run" in out.stdout
    assert "note:" not in out.stderr  # gs:// paths: no local-path warning
    job = json.loads(spec.read_text())
    executors = job["pipelineSpec"]["deploymentSpec"]["executors"]
    args = executors["TextExampleGen_executor"]["container"]["args"]
    assert args[-3:] == ["--runner=DataflowRunner", "--project=p", "--region=r"]
    assert executors["Pusher_executor"]["container"]["image"] == IMAGE
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["job.json", "spec"]  # no pipeline root, no metadata



def test_cli_kubeflow_default_spec_path_and_local_path_note(tmp_path, capsys):
    from keras_llm.cli import main

    assert main(["pipeline", "--runner", "kubeflow", "--data", "corpus", "--output", str(tmp_path / "run"),
                 "--model", "lstm"]) == 0
    out, err = capsys.readouterr()
    assert (tmp_path / "run" / "pipeline.json").is_file() and str(tmp_path / "run" / "pipeline.json") in out
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["pipeline.json"]
    assert "note: --data, --output are local paths" in err


@pytest.mark.parametrize("args, message", [
    (["--image", "x"], "--image only apply to --runner kubeflow"),
    (["--output-spec", "x.json", "--pipeline-name", "p"], "--output-spec, --pipeline-name only apply to --runner"),
    (["--runner", "kubeflow", "--builtin-corpus"], "--builtin-corpus writes the corpus on this machine"),
    (["--runner", "kubeflow", "--output", "gs://b/o"], "give --output-spec PATH"),
    (["--runner", "kubeflow", "--beam-pipeline-args="], "--beam-pipeline-args is empty"),
    (["--runner", "kubeflow", "--pipeline-name", "Keras_LLM", "--output-spec", "s.json"], "not a Kubeflow/Vertex name"),
    (["--runner", "argo"], "invalid choice: 'argo'"),
])
def test_cli_bad_combinations_are_one_line(tmp_path, capsys, args, message):
    from keras_llm.cli import main

    with pytest.raises(SystemExit) if "invalid choice" in message else _no_exit() as exited:
        code = main(["pipeline", "--data", "gs://b/d", "--output", str(tmp_path / "o"), *args])
    code = exited.value.code if exited else code
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(lines) == 1, lines
    assert lines[0].startswith("keras-llm pipeline: error:") and message in lines[0], lines[0]
    assert not (tmp_path / "o").exists()


def test_dockerfile_builds_the_image_the_spec_names():
    """What can be checked without docker: the base matches the TFX stack's Python, it installs the lock and
    this package, every COPY source exists and the image's sanity import names real modules."""
    text = (ROOT / "Dockerfile").read_text()
    lines = [line.strip() for line in text.replace("\\\n", " ").splitlines() if line.strip()
             and not line.lstrip().startswith("#")]
    [base] = [line.split()[1] for line in lines if line.startswith("FROM ")]
    assert re.fullmatch(r"python:3\.10(\.\d+)?(-slim)?", base), base
    assert f"{sys.version_info.major}.{sys.version_info.minor}" == "3.10"  # the stack these tests run on
    copies = [line.split()[1:] for line in lines if line.startswith("COPY ")]
    for sources in copies:
        for source in sources[:-1]:
            assert (ROOT / source).exists(), source
    copied = {source for sources in copies for source in sources[:-1]}
    assert {"requirements/tfx.txt", "setup.py", "README.md", "keras_llm", "tfx_components"} <= copied
    runs = " ".join(line for line in lines if line.startswith("RUN "))
    assert "-r requirements/tfx.txt" in runs and "--no-deps ." in runs
    for module in re.findall(r"import ([\w.]+(?:, [\w.]+)*)", runs)[0].split(", "):
        __import__(module)
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".venv-*/" in ignored and ".git/" in ignored
