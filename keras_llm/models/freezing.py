"""Freezing a model for feature extraction / prompt tuning."""


def freeze(model):
    """`model.trainable = False`, reaching every sublayer. Keras pushes `trainable` down only when it is
    assigned, and TensorFlow's `AutoTrackable` skips assigning a value identical to the current one, so a
    model frozen before it was built would keep its later-built variables trainable: toggle."""
    model.trainable = True
    model.trainable = False
