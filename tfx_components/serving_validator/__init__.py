from tfx_components.serving_validator.component import ServingValidator
from tfx_components.serving_validator.executor import Executor as ServingValidatorExecutor
from tfx_components.serving_validator.executor import read_warmup_requests

__all__ = ["ServingValidator", "ServingValidatorExecutor", "read_warmup_requests"]
