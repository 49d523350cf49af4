"""Tests for steering.evaluation.judges.contrastive (and the judge.scoring config key)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import pytest
import torch
from transformers import AutoTokenizer, Gemma3ForCausalLM, Gemma3TextConfig

from steering.core.models import embedded_model_dir, prepare_tokenizer
from steering.evaluation.judges.base import Rubric
from steering.evaluation.judges.contrastive import (
    SCORING_MODES,
    ContrastiveJudge,
    contrast,
    scoring_judge,
)
from steering.evaluation.judges.local import LocalJudge
from steering.experiment.config import validate_config
from steering.experiment.errors import ConfigError
from tests.robustness.test_bad_inputs import SCHEMA, config_with

CONCEPTS = ("animal", "object", "person")


class CountingJudge:
    """Score = the number of times the rubric's concept name occurs in the text."""

    judge_id = "count"

    def score(self, texts: Sequence[str], rubric: Rubric) -> list[float]:
        return [float(t.count(rubric.concept)) for t in texts]


def _rubric(concept: str, kind: str = "concept") -> Rubric:
    return Rubric(kind, concept, concept, 1, (("a text", 1),), opposite="none")


def test_contrast_subtracts_the_mean_of_the_other_concepts() -> None:
    wide = pd.DataFrame({"a": [6.0, 1.0], "b": [2.0, 1.0], "c": [4.0, 1.0]})
    out = contrast(wide)
    assert out["a"].tolist() == pytest.approx([6 - 3, 0.0])
    assert out["b"].tolist() == pytest.approx([2 - 5, 0.0])
    assert out["c"].tolist() == pytest.approx([4 - 4, 0.0])
    with pytest.raises(ValueError, match="at least two concepts"):
        contrast(wide[["a"]])


def test_contrastive_judge_scores_and_passes_other_kinds_through() -> None:
    rubrics = {c: _rubric(c) for c in CONCEPTS}
    judge = ContrastiveJudge(CountingJudge(), rubrics)
    assert judge.judge_id == "count:contrastive"
    texts = ["animal animal person", "object", "nothing"]
    assert judge.score(texts, rubrics["animal"]) == pytest.approx([2 - 0.5, -0.5, 0.0])
    assert judge.score(texts, rubrics["person"]) == pytest.approx([1 - 1.0, -0.5, 0.0])
    assert judge.score([], rubrics["animal"]) == []
    opposite = _rubric("animal", "opposite")
    assert judge.score(texts, opposite) == CountingJudge().score(texts, opposite)  # raw
    with pytest.raises(ValueError, match="not one of the contrastive judge's concept rubrics"):
        judge.score(texts, _rubric("plant"))
    with pytest.raises(ValueError, match="at least two concepts"):
        ContrastiveJudge(CountingJudge(), {"animal": rubrics["animal"]})
    with pytest.raises(ValueError, match=r"concept_rubrics\['object'\] must be the 'concept'"):
        ContrastiveJudge(CountingJudge(), {"animal": rubrics["animal"], "object": opposite})


def test_scoring_judge_modes() -> None:
    rubrics = {c: _rubric(c) for c in CONCEPTS}
    inner = CountingJudge()
    assert scoring_judge(inner, "raw", rubrics) is inner
    assert isinstance(scoring_judge(inner, "contrastive", rubrics), ContrastiveJudge)
    with pytest.raises(ValueError, match=r"judge.scoring = 'z' is not a scoring mode"):
        scoring_judge(inner, "z", rubrics)


def test_config_key_scoring() -> None:
    config = validate_config(config_with(), SCHEMA)
    assert config["judge"]["scoring"] == "raw"
    assert set(SCORING_MODES) == {"raw", "contrastive"}
    for mode in SCORING_MODES:
        validate_config(config_with(judge__scoring=mode), SCHEMA)
    with pytest.raises(ConfigError, match=r"'judge\.scoring' = 'bogus' is not allowed"):
        validate_config(config_with(judge__scoring="bogus"), SCHEMA)


def test_contrastive_on_a_tiny_local_judge() -> None:
    """The contrastive score of a real (tiny, random) local judge is its concept rubric's score
    minus the mean of the other rubrics' scores, text by text."""
    tokenizer = prepare_tokenizer(
        AutoTokenizer.from_pretrained(str(embedded_model_dir("smollm2-135m-instruct")))
    )
    torch.manual_seed(0)
    config = Gemma3TextConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=16,
        sliding_window=16,
        initializer_range=0.2,
        layer_types=["sliding_attention", "full_attention"],
    )
    local = LocalJudge(
        Gemma3ForCausalLM(config).eval(), tokenizer, model_id="tiny", use_chat_template=False
    )
    rubrics = {
        c: Rubric("concept", c, f"{c}s", 1, ((f"A text about a {c}.", 9), ("Tax forms.", 0)))
        for c in CONCEPTS
    }
    texts = ["A cat sat on the mat.", "The invoice is due.", "My aunt is a nurse."]
    raw = {c: local.score(texts, r) for c, r in rubrics.items()}
    judge = ContrastiveJudge(local, rubrics)
    for concept in CONCEPTS:
        others = [c for c in CONCEPTS if c != concept]
        expected = [
            raw[concept][i] - sum(raw[o][i] for o in others) / len(others)
            for i in range(len(texts))
        ]
        assert judge.score(texts, rubrics[concept]) == pytest.approx(expected, abs=1e-9)
    assert len({round(v, 6) for v in raw["animal"]}) > 1  # the random model does differ
