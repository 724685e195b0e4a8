"""`global_step(model)`: the optimizer steps taken so far, as the callbacks count them."""
from keras import ops


def global_step(model):
    """Optimizer steps taken so far (`optimizer.iterations`, restored with the weights on resume)."""
    return int(ops.convert_to_numpy(model.optimizer.iterations))
