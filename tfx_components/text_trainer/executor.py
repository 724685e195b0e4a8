"""TFX's GenericExecutor, handing the `vocabulary` artifact's URI to `run_fn` through `custom_config`."""
from tfx.components.trainer import executor as trainer_executor
from tfx.types import artifact_utils
from tfx.utils import json_utils

VOCABULARY_KEY = "vocabulary"


class TextTrainerExecutor(trainer_executor.GenericExecutor):
    def Do(self, input_dict, output_dict, exec_properties):
        input_dict = dict(input_dict)
        vocabulary = input_dict.pop(VOCABULARY_KEY, None)
        if not vocabulary:
            raise ValueError("TextTrainer needs a `vocabulary` input (a VocabularyGen output)")
        config = json_utils.loads(exec_properties.get("custom_config") or "null") or {}
        config["vocabulary_uri"] = artifact_utils.get_single_uri(vocabulary)
        exec_properties = dict(exec_properties, custom_config=json_utils.dumps(config))
        return super().Do(input_dict, output_dict, exec_properties)
