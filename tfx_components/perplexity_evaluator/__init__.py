from tfx_components.perplexity_evaluator.component import PerplexityEvaluator
from tfx_components.perplexity_evaluator.executor import Executor as PerplexityEvaluatorExecutor
from tfx_components.perplexity_evaluator.executor import bless, saved_model_perplexity

__all__ = ["PerplexityEvaluator", "PerplexityEvaluatorExecutor", "bless", "saved_model_perplexity"]
