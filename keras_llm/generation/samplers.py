"""Token samplers: greedy, temperature, top-k, top-p (nucleus).

Asked to sample without settings, `get` (what `TextGenerator` uses) gives top-p 0.9 at temperature 0.8:
`DEFAULT_TOP_P`, `DEFAULT_TEMPERATURE`. A `Sampler` built directly keeps its own defaults (temperature 1).

Every sampler picks the next token from `[batch, vocabulary]` logits and one uniform number per row, by
inverting the cumulative distribution of the (filtered, temperature-scaled) softmax. Taking the randomness as
an input keeps the samplers pure `keras.ops` code with no random state: a decoding loop draws all the uniform
numbers it needs up front from a seed (reproducible), or an exported model draws them per request.
"""
import keras
from keras import ops

_NEG = -1e9
DEFAULT_TEMPERATURE = 0.8
DEFAULT_TOP_P = 0.9


@keras.saving.register_keras_serializable(package="keras_llm")
class Sampler:
    """Chooses next tokens.

    Args:
        kind: "greedy", "temperature", "top_k" or "top_p".
        temperature: logits are divided by it (kinds other than greedy).
        top_k: keep the k most likely tokens (kind "top_k").
        top_p: keep the smallest set of most likely tokens whose probability reaches p (kind "top_p"), in the
            temperature-scaled distribution.

    Example:
        >>> sampler = Sampler("top_k", top_k=2)
        >>> uniform = keras.ops.convert_to_tensor([0.1])  # one uniform draw per row (keras_llm.generation.noise)
        >>> keras.ops.convert_to_numpy(sampler(keras.ops.convert_to_tensor([[0.0, 5.0, 4.0]]), uniform)).tolist()
        [1]
    """

    KINDS = ("greedy", "temperature", "top_k", "top_p")

    def __init__(self, kind="greedy", temperature=1.0, top_k=None, top_p=None):
        if kind not in self.KINDS:
            raise ValueError(f"unknown sampler {kind!r}; choose one of {list(self.KINDS)}")
        if kind == "top_k" and not (top_k and top_k > 0):
            raise ValueError(f"the top_k sampler needs top_k >= 1, got {top_k}")
        if kind == "top_p" and not (top_p and 0 < top_p <= 1):
            raise ValueError(f"the top_p sampler needs 0 < top_p <= 1, got {top_p}")
        if kind != "greedy" and not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        self.kind, self.temperature, self.top_k, self.top_p = kind, temperature, top_k, top_p

    def get_config(self):
        return {"kind": self.kind, "temperature": self.temperature, "top_k": self.top_k, "top_p": self.top_p}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __call__(self, logits, uniform, temperature=None, top_p=None):
        """logits `[batch, vocab]` float, uniform `[batch]` in [0, 1) -> int32 ids `[batch]`.

        `temperature` and `top_p` (numbers or scalar tensors, e.g. a serving request's) override the configured
        ones; `top_p` only for kind "top_p". An overriding temperature <= 0 picks the most likely token."""
        logits = ops.cast(logits, "float32")
        greedy = ops.cast(ops.argmax(logits, axis=-1), "int32")
        if self.kind == "greedy":
            return greedy
        if temperature is None:
            return self._sample(logits, uniform, self.temperature, top_p)
        if isinstance(temperature, (int, float)):
            return greedy if temperature <= 0 else self._sample(logits, uniform, temperature, top_p)
        temperature = ops.cast(temperature, "float32")  # a tensor: a branch, so greedy requests skip the sort
        return ops.cond(temperature > 0, lambda: self._sample(logits, uniform, ops.maximum(temperature, 1e-4), top_p),
                        lambda: greedy)

    def _sample(self, logits, uniform, temperature, top_p=None):
        logits = logits / ops.cast(temperature, "float32")
        if self.kind == "top_k":
            k = min(int(self.top_k), int(logits.shape[-1]))
            kth = ops.top_k(logits, k, sorted=True)[0][:, -1:]
            logits = ops.where(logits < kth, _NEG, logits)
        elif self.kind == "top_p":
            logits = _nucleus(logits, self.top_p if top_p is None else top_p)
        return inverse_cdf_sample(logits, uniform)


def _nucleus(logits, top_p):
    """Masks all but the smallest set of most likely tokens with total probability >= top_p."""
    sorted_logits = ops.flip(ops.sort(logits, axis=-1), axis=-1)
    probs = ops.softmax(sorted_logits, axis=-1)
    before = ops.cumsum(probs, axis=-1) - probs  # probability mass strictly above each sorted token
    keep = before < top_p  # always keeps the first
    threshold = ops.min(ops.where(keep, sorted_logits, ops.max(sorted_logits, axis=-1, keepdims=True)), axis=-1,
                        keepdims=True)
    return ops.where(logits < threshold, _NEG, logits)


def inverse_cdf_sample(logits, uniform):
    """Samples one id per row from softmax(logits) using `uniform` `[batch]` as the randomness."""
    probs = ops.softmax(logits, axis=-1)
    cdf = ops.cumsum(probs, axis=-1)
    target = ops.expand_dims(ops.cast(uniform, "float32"), -1) * cdf[:, -1:]
    index = ops.sum(ops.cast(cdf <= target, "int32"), axis=-1)
    return ops.minimum(index, int(logits.shape[-1]) - 1)


def default_kind(temperature=None, top_k=None, top_p=None, seed=None):
    """The sampler kind for a request that names none: greedy, unless it gives a sampling setting (then top_k
    when `top_k` is given, else top_p)."""
    if top_k is not None:
        return "top_k"
    return "greedy" if temperature is None and top_p is None and seed is None else "top_p"


def get(sampler, **kwargs):
    """A `Sampler` from a name (plus its settings; sampling kinds default to `DEFAULT_TEMPERATURE` and top_p to
    `DEFAULT_TOP_P`) or a `Sampler`.

    Example:
        >>> get("top_p").get_config()
        {'kind': 'top_p', 'temperature': 0.8, 'top_k': None, 'top_p': 0.9}
    """
    if isinstance(sampler, Sampler):
        return sampler
    settings = {k: v for k, v in kwargs.items() if v is not None}
    if sampler != "greedy":
        settings.setdefault("temperature", DEFAULT_TEMPERATURE)
    if sampler == "top_p":
        settings.setdefault("top_p", DEFAULT_TOP_P)
    return Sampler(sampler, **settings)
