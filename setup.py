"""keras-llm: Keras 3 / TensorFlow language models, tokenizers, tf.data pipelines and TFX components."""
import re
from pathlib import Path

from setuptools import find_packages, setup

here = Path(__file__).parent
version = re.search(r'__version__ = "([^"]+)"', (here / "keras_llm" / "version.py").read_text()).group(1)

setup(
    name="keras-llm",
    version=version,
    description="Language models for Keras 3 and TensorFlow: tokenizers, tf.data, models, export, TFX.",
    long_description=(here / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    packages=find_packages(include=["keras_llm", "keras_llm.*", "tfx_components", "tfx_components.*"]),
    python_requires=">=3.10",
    install_requires=[
        "tensorflow>=2.16",
        "tensorflow-text>=2.16",
        "keras>=3.6",
        "keras-hub>=0.25",
        "numpy",
        "sentencepiece",
        "tensorboard",
        "pyyaml",
    ],
    extras_require={
        "tfx": ["tfx==1.16.0", "apache-beam[gcp]==2.59.0", "dill"],
        "dev": ["pytest", "pytest-xdist", "sacrebleu", "tokenizers"],
    },
    entry_points={"console_scripts": ["keras-llm=keras_llm.cli:main"]},
)
