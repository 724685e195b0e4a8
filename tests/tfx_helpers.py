"""Shared by the TFX component tests (importable: pytest runs with pythonpath = tests)."""
import os


def write_examples_to(directory, **splits):
    """Writes texts as a standard `Examples` artifact (GZIP TFRecords of tf.Example, `text` feature) at
    `directory`, one split per keyword -> the artifact."""
    import tensorflow as tf
    from tfx.components.util import examples_utils
    from tfx.proto import example_gen_pb2
    from tfx.types import artifact_utils, standard_artifacts

    from tfx_components.text_example_gen.executor import text_example

    artifact = standard_artifacts.Examples()
    artifact.uri = str(directory)
    artifact.split_names = artifact_utils.encode_split_names(list(splits))
    examples_utils.set_payload_format(artifact, example_gen_pb2.FORMAT_TF_EXAMPLE)
    for split, texts in splits.items():
        split_dir = artifact_utils.get_split_uri([artifact], split)
        os.makedirs(split_dir)
        with tf.io.TFRecordWriter(os.path.join(split_dir, "data_tfrecord-00000-of-00001.gz"), "GZIP") as w:
            for text in texts:
                w.write(text_example(text.encode() if isinstance(text, str) else text).SerializeToString())
    return artifact


_MODEL_IDS = iter(range(1, 1_000_000))


def write_vocabulary_to(directory, texts, size=300):
    """Trains a word tokenizer on `texts` and saves it at `directory` -> a `Vocabulary` artifact."""
    import tensorflow as tf

    from keras_llm.tokenizers import WordTokenizer
    from tfx_components.artifact_types import Vocabulary

    vocabulary = Vocabulary()
    vocabulary.uri = str(directory)
    WordTokenizer.train(tf.data.Dataset.from_tensor_slices(list(texts)), size).save(vocabulary.uri)
    return vocabulary


def run_text_trainer(node_dir, examples, vocabulary, custom_config, train_steps, execution=1):
    """Runs the TextTrainer executor (TFX's GenericExecutor + our run_fn) as execution `execution` of a Trainer
    node at `node_dir`, with TFX's layout (`node_dir/model/<execution>`, `node_dir/model_run/<execution>`)
    -> (model, model_run) artifacts. The model gets a fresh MLMD-like id."""
    from tfx.proto import trainer_pb2
    from tfx.types import standard_artifacts
    from tfx.utils import json_utils, proto_utils

    from tfx_components.text_trainer import RUN_FN, TextTrainerExecutor

    model, model_run = standard_artifacts.Model(), standard_artifacts.ModelRun()
    model.uri = os.path.join(str(node_dir), "model", str(execution))
    model.id = next(_MODEL_IDS)
    model_run.uri = os.path.join(str(node_dir), "model_run", str(execution))
    TextTrainerExecutor().Do(
        {"examples": [examples], "vocabulary": [vocabulary]},
        {"model": [model], "model_run": [model_run]},
        {"train_args": proto_utils.proto_to_json(trainer_pb2.TrainArgs(num_steps=train_steps)),
         "eval_args": proto_utils.proto_to_json(trainer_pb2.EvalArgs(num_steps=1)),
         "run_fn": RUN_FN, "custom_config": json_utils.dumps(custom_config)})
    return model, model_run
