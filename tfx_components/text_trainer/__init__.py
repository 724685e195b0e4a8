from tfx_components.text_trainer.component import RUN_FN, TextTrainer
from tfx_components.text_trainer.executor import TextTrainerExecutor

__all__ = ["RUN_FN", "TextTrainer", "TextTrainerExecutor"]
