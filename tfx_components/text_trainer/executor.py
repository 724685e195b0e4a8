"""TFX's GenericExecutor, handing `run_fn` the `vocabulary` artifact's URI and where to keep resumable state.

It adds three keys to `custom_config`: `vocabulary_uri`; `backup_root`, the Trainer node's own directory
`<pipeline_root>/<node id>/backup` (TFX puts each output artifact at `<node dir>/<output key>/<execution id>`,
so this is the `model_run` artifact's grandparent plus `backup`), which outlives an execution; and `run_key`,
a hash of the input artifacts' URIs, `custom_config`, `train_args` and `run_fn`, so a re-execution of the same
training (after a failure) finds the checkpoint of the failed one, and different training does not.
"""
import hashlib
import json
import os

from tfx.components.trainer import executor as trainer_executor
from tfx.types import artifact_utils
from tfx.utils import json_utils

VOCABULARY_KEY = "vocabulary"


def run_key(*parts):
    """A short stable name for one training run, from its inputs and settings (JSON-able parts).

    Example:
        >>> run_key({"examples": ["/p/TextExampleGen/examples/1"]}, {"model": "gpt"}, '{"num_steps": 200}')
        '5d0c2c3a4f1e9b7d'   # (some 16 hex digits; the same parts give the same key)
    """
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def backup_root(model_run_uri):
    """`<node dir>/backup` of the Trainer whose `model_run` artifact is at `model_run_uri`.

    Example:
        >>> backup_root("/pipelines/lm/TextTrainer/model_run/7")
        '/pipelines/lm/TextTrainer/backup'
    """
    return os.path.join(os.path.dirname(os.path.dirname(model_run_uri.rstrip("/"))), "backup")


class TextTrainerExecutor(trainer_executor.GenericExecutor):
    def Do(self, input_dict, output_dict, exec_properties):
        input_dict = dict(input_dict)
        vocabulary = input_dict.pop(VOCABULARY_KEY, None)
        if not vocabulary:
            raise ValueError("TextTrainer needs a `vocabulary` input (a VocabularyGen output)")
        config = json_utils.loads(exec_properties.get("custom_config") or "null") or {}
        config["vocabulary_uri"] = artifact_utils.get_single_uri(vocabulary)
        inputs = {key: sorted(a.uri for a in artifacts) for key, artifacts in input_dict.items()}
        config["run_key"] = run_key(inputs, config, exec_properties.get("train_args"), exec_properties.get("run_fn"))
        config["backup_root"] = backup_root(artifact_utils.get_single_uri(output_dict["model_run"]))
        exec_properties = dict(exec_properties, custom_config=json_utils.dumps(config))
        return super().Do(input_dict, output_dict, exec_properties)
