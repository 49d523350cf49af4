"""Tests for steering.evaluation.judges.contrastive (and the judge.scoring config key)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import pytest
import torch
from transformers import AutoTokenizer, Gemma3ForCausalLM, Gemma3TextConfig

from steering.core.models import embedded_model_dir, prepare_tokenizer
from steering.evaluation.judges.base import Rubric
from steering.evaluation.judges.contrastive import ContrastiveJudge, contrast, scoring_judge
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
    half = contrast(wide, 0.5)
    assert half["a"].tolist() == pytest.approx([6 - 0.5 * 3, 1 - 0.5])
    pd.testing.assert_frame_equal(contrast(wide, 0), wide.astype(float))
    with pytest.raises(ValueError, match="at least two concepts"):
        contrast(wide[["a"]])
    for bad in (-0.1, 1.5, True, "0.5", float("nan")):
        with pytest.raises(ValueError, match="judge.contrast = .* must be a number from 0"):
            contrast(wide, bad)


def test_contrastive_judge_scores_and_passes_other_kinds_through() -> None:
    rubrics = {c: _rubric(c) for c in CONCEPTS}
    judge = ContrastiveJudge(CountingJudge(), rubrics)
    assert judge.judge_id == "count:contrast1"
    assert ContrastiveJudge(CountingJudge(), rubrics, 0.5).judge_id == "count:contrast0.5"
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


def test_scoring_judge_weights() -> None:
    rubrics = {c: _rubric(c) for c in CONCEPTS}
    inner = CountingJudge()
    assert scoring_judge(inner, 0, rubrics) is inner  # raw: reads only the concept's rubric
    half = scoring_judge(inner, 0.5, rubrics)
    assert isinstance(half, ContrastiveJudge) and half.weight == 0.5
    assert half.score(["animal person"], rubrics["animal"]) == pytest.approx([1 - 0.5 * 0.5])
    with pytest.raises(ValueError, match="judge.contrast = 2 must be a number from 0"):
        scoring_judge(inner, 2, rubrics)


def test_config_key_contrast() -> None:
    config = validate_config(config_with(), SCHEMA)
    assert config["judge"]["contrast"] == 0
    for weight in (0, 0.25, 1):
        assert (
            validate_config(config_with(judge__contrast=weight), SCHEMA)["judge"]["contrast"]
            == weight
        )
    for bad, message in ((1.5, "1.5"), (-0.1, "-0.1"), ("half", "'half'")):
        with pytest.raises(ConfigError, match=rf"'judge\.contrast' = {message}"):
            validate_config(config_with(judge__contrast=bad), SCHEMA)


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
    judge = ContrastiveJudge(local, rubrics, 0.5)
    for concept in CONCEPTS:
        others = [c for c in CONCEPTS if c != concept]
        expected = [
            raw[concept][i] - 0.5 * sum(raw[o][i] for o in others) / len(others)
            for i in range(len(texts))
        ]
        assert judge.score(texts, rubrics[concept]) == pytest.approx(expected, abs=1e-9)
    assert len({round(v, 6) for v in raw["animal"]}) > 1  # the random model does differ
