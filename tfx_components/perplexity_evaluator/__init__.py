from tfx_components.perplexity_evaluator.component import PerplexityEvaluator
from tfx_components.perplexity_evaluator.executor import DEFAULT_MAX_UNIGRAM_RATIO, bless, evaluate_model
from tfx_components.perplexity_evaluator.executor import Executor as PerplexityEvaluatorExecutor
from tfx_components.perplexity_evaluator.scoring import saved_model_perplexity

__all__ = ["DEFAULT_MAX_UNIGRAM_RATIO", "PerplexityEvaluator", "PerplexityEvaluatorExecutor", "bless",
           "evaluate_model", "saved_model_perplexity"]
