"""Model presets."""
import numpy as np
import pytest

from keras_llm.models import PRESETS, RNNLanguageModel, TransformerLanguageModel, from_preset, preset_config


def test_paper_shapes():
    assert preset_config("lstm-small") == {
        "cell": "lstm", "num_layers": 2, "hidden_dim": 200, "dropout": 0.3, "tie_embeddings": True,
        "output_bias": True,
    }
    assert preset_config("lstm-medium")["hidden_dim"] == 650
    assert preset_config("lstm-medium")["dropout"] == 0.5
    gpt2 = preset_config("gpt2-small")
    assert (gpt2["num_layers"], gpt2["hidden_dim"], gpt2["num_heads"]) == (12, 768, 12)
    assert (gpt2["intermediate_dim"], gpt2["max_sequence_length"]) == (3072, 1024)
    assert all(entry["description"] for entry in PRESETS.values())


def test_from_preset_builds_the_class_with_overrides():
    model = from_preset("gpt-tiny", vocabulary_size=120, max_sequence_length=32, name="tiny")
    assert isinstance(model, TransformerLanguageModel)
    assert (model.vocabulary_size, model.hidden_dim, model.max_sequence_length) == (120, 64, 32)
    assert model.name == "tiny"
    lstm = from_preset("lstm-small", vocabulary_size=50, hidden_dim=16)
    assert isinstance(lstm, RNNLanguageModel) and lstm.hidden_dim == 16 and lstm.num_layers == 2
    assert tuple(lstm(np.ones((1, 3), "int32")).shape) == (1, 3, 50)
    assert preset_config("gpt-tiny")["max_sequence_length"] == 256  # overrides did not leak


def test_unknown_preset_and_argument():
    with pytest.raises(ValueError, match="gpt-tiny"):
        from_preset("gpt-huge", vocabulary_size=10)
    with pytest.raises(ValueError, match="num_experts"):
        from_preset("gpt-tiny", vocabulary_size=10, num_experts=4)
