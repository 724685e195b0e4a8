"""Ops with a faster form on one backend.

- `keras_llm.backend.ops`: the functions layers call (`layer_norm`, `gelu`, `token_nll`, `attention`,
  `self_attention`), each choosing its form with one `keras.config.backend()` check.
- `keras_llm.backend.reference`: the plain `keras.ops` forms, run by every other backend and compared against in
  the tests.
- `keras_llm.backend.tensorflow_kernels`: TensorFlow's forms (written-out gradients, matmul attention, fused
  Adam); it imports TensorFlow, so it is imported only on the TensorFlow backend.
"""
