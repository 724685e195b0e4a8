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
