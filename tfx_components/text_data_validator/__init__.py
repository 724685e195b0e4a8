"""TextDataValidator: language-model data checks written as a standard `ExampleAnomalies` artifact."""
from tfx_components.text_data_validator.anomaly_checks import TextAnomaly, TextValidationThresholds
from tfx_components.text_data_validator.component import (
    TextDataValidator,
    TextDataValidatorSpec,
    no_text_anomalies,
)
from tfx_components.text_data_validator.executor import (
    HAS_ANOMALIES_PROPERTY,
    Executor,
    TextDataAnomaliesError,
)

__all__ = [
    "Executor", "HAS_ANOMALIES_PROPERTY", "TextAnomaly", "TextDataAnomaliesError", "TextDataValidator",
    "TextDataValidatorSpec", "TextValidationThresholds", "no_text_anomalies",
]
