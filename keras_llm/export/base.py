"""What every serving module shares: variable tracking for TF1-style loaders and tf.Example parsing."""
import tensorflow as tf

STRINGS = tf.TensorSpec([None], tf.string)


class ServingModule(tf.Module):
    """Base of the serving modules: holds the model, tracks its variables, parses `serving_default` input.

    Subclasses define their signatures as `tf.function`s and return them from `signatures()`, and their
    warmup requests from `warmup_inputs()`.

    Args:
        model: the trained Keras model (built here if it is not yet).
        sample_inputs: a callable returning inputs that build the model when it is unbuilt.
        feature_name: the tf.Example bytes feature `serving_default` reads.
        name: module name.
    """

    def __init__(self, model, sample_inputs, feature_name="text", name=None):
        super().__init__(name=name)
        if not model.built:  # variables created while tracing a signature would get loop-scoped names
            model(sample_inputs())
        self.model = model
        # Track the backing tf.Variables themselves: TF1-style loaders (TF Serving, saved_model_cli run)
        # restore variables through the checkpoint's object graph and cannot find Keras 3 variables otherwise.
        self._variables = [v.value for v in model.variables]
        self.feature_name = feature_name

    def parse_texts(self, examples):
        """Serialized tf.Example string[None] -> the `feature_name` strings ("" where the feature is absent)."""
        spec = {self.feature_name: tf.io.FixedLenFeature([], tf.string, default_value="")}
        return tf.io.parse_example(examples, spec)[self.feature_name]

    def signatures(self):
        raise NotImplementedError

    def warmup_inputs(self):
        raise NotImplementedError
