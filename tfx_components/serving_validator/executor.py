"""ServingValidator's executor: load the SavedModel TF-only in a separate process, replay its warmup requests,
and measure request latency against a budget. No Docker, no TF Serving binary."""
import base64
import json
import os

import tensorflow as tf
from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils

from keras_llm.export import WARMUP_FILE, TFOnlyError, run_tf_only
from tfx_components.model_paths import sample_texts, serving_model_path

BLESSED_FILE, NOT_BLESSED_FILE = "INFRA_BLESSED", "INFRA_NOT_BLESSED"

# Runs in the TF-only child (see keras_llm.export.tf_only): no keras, no keras_llm, no TFX.
_CHECK = """
spec = json.loads({spec!r})
model = tf.saved_model.load(spec["model_dir"])
report = {{"signatures": sorted(model.signatures), "warmup": []}}
for request in spec["warmup"]:
    fn = model.signatures[request["signature"]]
    outputs = fn(**{{k: tf.constant(v) for k, v in request["inputs"].items()}})
    report["warmup"].append({{"signature": request["signature"], "outputs": sorted(outputs)}})
examples = tf.constant([base64.b64decode(e) for e in spec["examples"]])
serve = model.signatures["serving_default"]
serve(examples=examples)  # first call outside the timing
latencies = []
for _ in range(spec["num_requests"]):
    start = time.perf_counter()
    out = serve(examples=examples)
    [v.numpy() for v in out.values()]
    latencies.append((time.perf_counter() - start) * 1000.0)
report["latencies_ms"] = latencies
print(json.dumps(report))
"""


def read_warmup_requests(model_dir):
    """The TF Serving warmup records of a SavedModel as [{"signature", "inputs": {name: list}}]."""
    from tensorflow_serving.apis import prediction_log_pb2

    path = os.path.join(model_dir, "assets.extra", WARMUP_FILE)
    if not tf.io.gfile.exists(path):
        raise FileNotFoundError(f"no warmup requests in {path}")
    requests = []
    for record in tf.data.TFRecordDataset(path).as_numpy_iterator():
        request = prediction_log_pb2.PredictionLog.FromString(record).predict_log.request
        inputs = {k: [x.decode("utf-8", "replace") if isinstance(x, bytes) else x
                      for x in tf.make_ndarray(v).reshape(-1).tolist()] for k, v in request.inputs.items()}
        requests.append({"signature": request.model_spec.signature_name, "inputs": inputs})
    return requests


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


class Executor(base_executor.BaseExecutor):
    def Do(self, input_dict, output_dict, exec_properties):
        model = artifact_utils.get_single_instance(input_dict["model"])
        examples = artifact_utils.get_single_instance(input_dict["examples"])
        feature = exec_properties.get("text_feature") or "text"
        budget = float(exec_properties["latency_budget_ms"])
        model_dir = serving_model_path(model.uri)
        texts = sample_texts(examples.uri, exec_properties.get("split") or "eval", feature,
                             int(exec_properties.get("batch_size") or 4))
        serialized = [tf.train.Example(features=tf.train.Features(feature={
            feature: tf.train.Feature(bytes_list=tf.train.BytesList(value=[t]))})).SerializeToString() for t in texts]
        spec = {"model_dir": model_dir, "warmup": read_warmup_requests(model_dir),
                "examples": [base64.b64encode(s).decode() for s in serialized],
                "num_requests": int(exec_properties.get("num_requests") or 10)}
        report = {"model_dir": model_dir, "latency_budget_ms": budget}
        print(f"ServingValidator: loading the SavedModel with TensorFlow only, replaying {len(spec['warmup'])} "
              f"warmup requests and timing {spec['num_requests']} requests ...", flush=True)
        try:
            result = run_tf_only("import base64\n" + _CHECK.format(spec=json.dumps(spec)), timeout=600)
            p50, p95 = percentile(result["latencies_ms"], 0.5), percentile(result["latencies_ms"], 0.95)
            report.update(result, p50_ms=p50, p95_ms=p95)
            blessed = p95 <= budget
            reason = f"p95 latency {p95:.1f} ms {'within' if blessed else 'over'} the {budget:.0f} ms budget"
        except TFOnlyError as e:
            blessed, reason = False, f"the model does not serve TF-only: {str(e).splitlines()[0]}"
        report.update(blessed=blessed, reason=reason)
        print(f"ServingValidator: {'blessed' if blessed else 'not blessed'}: {reason}", flush=True)

        blessing = artifact_utils.get_single_instance(output_dict["blessing"])
        tf.io.gfile.makedirs(blessing.uri)
        with tf.io.gfile.GFile(os.path.join(blessing.uri, BLESSED_FILE if blessed else NOT_BLESSED_FILE), "w") as f:
            f.write(reason + "\n")
        with tf.io.gfile.GFile(os.path.join(blessing.uri, "report.json"), "w") as f:
            f.write(json.dumps(report, indent=2))
        blessing.set_int_custom_property("blessed", int(blessed))
        blessing.set_string_custom_property("reason", reason)
