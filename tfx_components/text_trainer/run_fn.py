"""The training function TFX's Trainer calls (`run_fn`), referenced as `tfx_components.text_trainer.run_fn.run_fn`.

It reads the GZIP tf.Example splits, packs them with the trained tokenizer, trains the model chosen in
`custom_config`, writes TensorBoard logs to `fn_args.model_run_dir`, and writes the serving SavedModel
(generate / score / serving_default signatures) to `fn_args.serving_model_dir`.
"""
import dataclasses
import json
import os
import time

import keras

from keras_llm.data import causal_lm_dataset
from keras_llm.export import save_serving_model
from keras_llm.models import from_preset
from keras_llm.tokenizers import load_tokenizer
from keras_llm.training import compile_language_model

DEFAULT_PRESETS = {"gpt": "gpt-tiny", "lstm": "lstm-small", "gru": "lstm-small", "rnn": "lstm-small"}


@dataclasses.dataclass
class TrainingConfig:
    """`custom_config` of the trainer (JSON-able). `model_options` override the preset's architecture."""

    model: str = "gpt"
    preset: str = None
    model_options: dict = dataclasses.field(default_factory=dict)
    seq_len: int = 64
    batch_size: int = 16
    learning_rate: float = 3e-3
    warmup_steps: int = 20
    seed: int = 0
    max_new_tokens: int = 32
    text_feature: str = "text"

    @classmethod
    def from_custom_config(cls, custom_config):
        known = {f.name for f in dataclasses.fields(cls)}
        options = {k: v for k, v in (custom_config or {}).items() if k in known}
        unknown = sorted(set(custom_config or {}) - known - {"vocabulary_uri"})
        if unknown:
            raise ValueError(f"custom_config: unknown key(s) {unknown} (known: {sorted(known)})")
        return cls(**options)


def build_model(config, vocabulary_size):
    if config.model not in DEFAULT_PRESETS:
        raise ValueError(f"custom_config.model: {config.model!r} is not a causal LM ({sorted(DEFAULT_PRESETS)})")
    preset = config.preset or DEFAULT_PRESETS[config.model]
    options = dict(config.model_options)
    if config.model in ("lstm", "gru", "rnn"):
        options.setdefault("cell", config.model)
    return from_preset(preset, vocabulary_size, **options)


def run_fn(fn_args):
    config = TrainingConfig.from_custom_config(fn_args.custom_config)
    keras.utils.set_random_seed(config.seed)
    tokenizer = load_tokenizer(fn_args.custom_config["vocabulary_uri"])
    train = causal_lm_dataset(fn_args.train_files, tokenizer, config.seq_len, config.batch_size, seed=config.seed,
                              repeat=True, field=config.text_feature)
    evaluation = causal_lm_dataset(fn_args.eval_files, tokenizer, config.seq_len, config.batch_size, shuffle=False,
                                   repeat=True, field=config.text_feature)
    model = build_model(config, tokenizer.vocabulary_size)
    steps = int(fn_args.train_steps)
    compile_language_model(model, optimizer={"learning_rate": config.learning_rate, "total_steps": steps,
                                             "warmup_steps": min(config.warmup_steps, steps // 2)})
    callbacks = [keras.callbacks.TensorBoard(log_dir=fn_args.model_run_dir, update_freq=max(steps // 20, 1))]
    print(f"TextTrainer: training a {config.model} model for {steps} steps of {config.batch_size} x {config.seq_len} "
          f"tokens ...", flush=True)
    start = time.perf_counter()
    history = model.fit(train, steps_per_epoch=steps, epochs=1, callbacks=callbacks, verbose=2)
    seconds = time.perf_counter() - start
    results = model.evaluate(evaluation, steps=int(fn_args.eval_steps or 10), return_dict=True, verbose=0)
    print(f"TextTrainer: perplexity {results.get('perplexity', float('nan')):.3f} on {int(fn_args.eval_steps or 10)} "
          f"eval batches; exporting the serving SavedModel to {fn_args.serving_model_dir} ...", flush=True)
    save_serving_model(model, tokenizer, fn_args.serving_model_dir, max_new_tokens=config.max_new_tokens)
    metrics = {
        "train_loss": float(history.history["loss"][-1]),
        "eval_loss": float(results["loss"]),
        "eval_perplexity": float(results.get("perplexity", 0.0)),
        "tokens_per_second": steps * config.batch_size * config.seq_len / seconds,
        "num_parameters": int(model.count_params()),
        "model": config.model,
    }
    with open(os.path.join(fn_args.model_run_dir, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=2)
