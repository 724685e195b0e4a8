"""Benchmark: GPT-2 small training throughput and model FLOPs utilisation (MFU) of keras_llm on the JAX backend.

What it measures: `TransformerLanguageModel` at GPT-2 small's shape (12 layers x 768, 12 heads, ffn 3072, context
1024, vocabulary 50257, tanh GELU, tied embeddings, no dropout), compiled by `compile_language_model` (our masked
cross-entropy + Perplexity, AdamW with global-norm clipping), `jit_compile=True` (XLA), dtype policy
`mixed_bfloat16` by default, trained by `model.fit` on random token ids (no tokenizer or tf.data: the machine
may have JAX and no TensorFlow, and this script imports none).

MFU = achieved model FLOP/s / the device's peak dense bf16 FLOP/s. Model FLOPs per token:
`6 N + 12 L T d` (N = trainable parameters, the tied embedding counted once; the second term is attention's
QK^T and AV matmuls, forward + backward, at context T) -- the PaLM paper's accounting, which llm.c reports too.
Peak bf16 FLOP/s come from `PEAK_BF16` keyed on the device name (dense, no sparsity); an unknown device gets
`mfu: null`. Anchor (not run here): llm.c trains GPT-2 small at ~41% MFU on an H100; our goal is >= 45%
(`ratio_to_anchor` = our MFU / 0.41).

Timing: one untimed warm-up `fit` (compilation), then `--repeats` rounds of `fit(steps_per_epoch=--steps)`;
a round ends when Keras reads its logs back from the device, so a round's wall time covers all its steps.
Headline: the median round's tokens/s.

Run:
    KERAS_BACKEND=jax python benchmarks/jax_gpu_training.py             # on the GPU machine
    KERAS_BACKEND=jax python benchmarks/jax_gpu_training.py --quick     # CPU smoke: a tiny shape, float32
Prints one JSON line.
"""
import argparse
import statistics
import time

from _common import emit, environment, log

GPT2_SMALL = dict(layers=12, hidden=768, heads=12, ffn=3072, seq_len=1024, vocab=50257, batch=16)
QUICK = dict(layers=2, hidden=64, heads=2, ffn=256, seq_len=64, vocab=512, batch=4)

# Peak dense bf16 tensor-core FLOP/s by device name (vendor data sheets; matched by substring, first hit wins).
PEAK_BF16 = (
    ("H200", 989e12),
    ("H100 PCIe", 756e12),
    ("H100", 989e12),  # SXM
    ("A100", 312e12),
    ("L40S", 362e12),
    ("L4", 121e12),
    ("A10G", 70e12),
    ("TPU v5 lite", 197e12),
    ("TPU v4", 275e12),
)
LLM_C_MFU = 0.41


def peak_flops(device_kind):
    for name, flops in PEAK_BF16:
        if name.lower() in device_kind.lower():
            return flops
    return None


def model_flops_per_token(params, layers, seq_len, hidden):
    return 6 * params + 12 * layers * seq_len * hidden


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="tiny shape, float32, few steps: a CPU smoke run")
    for name in ("layers", "hidden", "heads", "ffn", "seq-len", "vocab", "batch"):
        p.add_argument(f"--{name}", type=int, default=None, help="overrides the shape's value")
    p.add_argument("--steps", type=int, default=None, help="steps per timed round (default 20; quick 3)")
    p.add_argument("--repeats", type=int, default=None, help="timed rounds (default 5; quick 2)")
    p.add_argument("--dtype-policy", default=None, help="default mixed_bfloat16 (quick: float32)")
    p.add_argument("--lr", type=float, default=6e-4)
    return p.parse_args()


def main():
    args = parse_args()
    shape = dict(QUICK if args.quick else GPT2_SMALL)
    for key in shape:
        value = getattr(args, key)
        if value is not None:
            shape[key] = value
    steps = args.steps or (3 if args.quick else 20)
    repeats = args.repeats or (2 if args.quick else 5)
    policy = args.dtype_policy or ("float32" if args.quick else "mixed_bfloat16")

    import keras
    import numpy as np

    if keras.backend.backend() != "jax":
        raise SystemExit("jax_gpu_training.py measures the JAX backend: run it with KERAS_BACKEND=jax")
    import jax

    keras.config.set_dtype_policy(policy)
    from keras_llm.models.transformer_language_model import TransformerLanguageModel
    from keras_llm.training.compile import compile_language_model

    b, t, v = shape["batch"], shape["seq_len"], shape["vocab"]
    keras.utils.set_random_seed(0)
    model = TransformerLanguageModel(v, num_layers=shape["layers"], hidden_dim=shape["hidden"],
                                     num_heads=shape["heads"], intermediate_dim=shape["ffn"], max_sequence_length=t,
                                     dropout=0.0, tie_embeddings=True, activation="gelu_approximate")
    compile_language_model(model, optimizer={"learning_rate": args.lr, "warmup_steps": 0,
                                             "total_steps": steps * (repeats + 1) + 1},
                           jit_compile=True)
    rng = np.random.default_rng(0)
    stream = rng.integers(7, v, size=(8 * b, t + 1), dtype=np.int32)  # 8 distinct batches, cycled

    def batches():
        while True:
            for start in range(0, len(stream), b):
                rows = stream[start:start + b]
                yield rows[:, :-1], rows[:, 1:]

    data = batches()
    model.build((None, t))
    params = int(sum(np.prod(w.shape) for w in model.trainable_weights))
    flops_per_token = model_flops_per_token(params, shape["layers"], t, shape["hidden"])
    devices = jax.devices()
    device_kind = devices[0].device_kind
    peak = peak_flops(device_kind) if devices[0].platform != "cpu" else None
    log(f"{params:,} parameters, {flops_per_token / 1e9:.2f} GFLOP/token, device {device_kind} "
        f"(peak bf16 {peak / 1e12 if peak else float('nan'):.0f} TFLOP/s), policy {policy}")

    start = time.perf_counter()
    history = model.fit(data, steps_per_epoch=2, epochs=1, verbose=0, shuffle=False)
    log(f"warm-up (compile + 2 steps): {time.perf_counter() - start:.1f} s")
    rounds = []
    for index in range(repeats):
        start = time.perf_counter()
        history = model.fit(data, steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False)
        elapsed = time.perf_counter() - start
        rounds.append(steps * b * t / elapsed)
        log(f"  round {index}: {rounds[-1]:,.0f} tokens/s ({elapsed:.2f} s, loss {history.history['loss'][-1]:.3f})")
    tokens_per_sec = statistics.median(rounds)
    mfu = tokens_per_sec * flops_per_token / peak if peak else None
    emit({
        "benchmark": "jax_gpu_training", "shape_name": "quick" if args.quick else "gpt2-small", "shape": shape,
        "dtype_policy": policy, "jit_compile": True, "parameters": params, "flops_per_token": flops_per_token,
        "device": device_kind, "device_count": len(devices), "peak_bf16_flops": peak,
        "tokens_per_sec": round(tokens_per_sec, 1), "tokens_per_sec_rounds": [round(r, 1) for r in rounds],
        "mfu": None if mfu is None else round(mfu, 4), "anchor": "llm.c GPT-2 small on H100", "anchor_mfu": LLM_C_MFU,
        "ratio_to_anchor": None if mfu is None else round(mfu / LLM_C_MFU, 3),
        "target_mfu": 0.45, "meets_target": None if mfu is None else mfu >= 0.45,
        "final_loss": float(history.history["loss"][-1]), "steps": steps, "repeats": repeats,
        "environment": environment(),
    })


if __name__ == "__main__":
    main()
