# The image every step of the compiled Kubeflow Pipelines v2 / Vertex AI pipeline runs in
# (`keras-llm pipeline --runner kubeflow --image IMAGE`): the TFX stack pinned in requirements/tfx.txt
# (Python 3.10, TensorFlow 2.16, TFX 1.16) and this package, so the steps' executors
# (tfx_components.*.executor) and the trainer's run_fn (tfx_components.text_trainer.run_fn.run_fn) import.
#   docker build -t keras-llm-tfx:latest .
#   docker tag keras-llm-tfx:latest REGION-docker.pkg.dev/PROJECT/REPO/keras-llm-tfx:TAG && docker push ...
FROM python:3.10-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 KERAS_BACKEND=tensorflow TF_CPP_MIN_LOG_LEVEL=2 \
    PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# The pinned set first (its own layer: rebuilt only when the lock changes). uv resolves this stack in seconds
# where pip backtracks for minutes; both install the same pins.
COPY requirements/tfx.txt requirements/tfx.txt
RUN pip install uv && uv pip install --system -r requirements/tfx.txt

# Then the package itself, without touching the pinned dependencies.
COPY setup.py README.md ./
COPY keras_llm keras_llm
COPY tfx_components tfx_components
RUN uv pip install --system --no-deps . \
    && python -c "import tfx_components.text_trainer.run_fn, tfx.orchestration.kubeflow.v2.container.kubeflow_v2_run_executor"

# The compiled spec sets each step's command (python -m tfx.orchestration.kubeflow.v2.container.kubeflow_v2_run_executor).
