"""Backend-specific speed paths, one module per backend, each used behind a single `keras.config.backend()`
check at its call site. The plain `keras.ops` form at that call site stays the reference that every other
backend runs and that the tests compare against."""
