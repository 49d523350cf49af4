"""Tests for steering.evaluation.judges.shared_reading: one reading per text, exact scores."""

from __future__ import annotations

import pytest
import torch
from transformers import (
    AutoTokenizer,
    Gemma3ForCausalLM,
    Gemma3TextConfig,
    LlamaConfig,
    LlamaForCausalLM,
)

from steering.core.models import embedded_model_dir, prepare_tokenizer
from steering.evaluation.judges.base import Rubric
from steering.evaluation.judges.shared_reading import SharedReadingJudge

CONCEPTS = ("animal", "object", "person")
TEXTS = [
    "A cat sat on the mat.",
    "A dog sat on the rug.",  # same token length as the first: read in one batch
    "The invoice is due on Monday, please pay it before noon.",
    "My aunt.",
    "word " * 200,  # cut to max_text_tokens
]


@pytest.fixture(scope="module")
def tokenizer():
    return prepare_tokenizer(
        AutoTokenizer.from_pretrained(str(embedded_model_dir("smollm2-135m-instruct")))
    )


def _model(kind: str, vocab: int) -> torch.nn.Module:
    torch.manual_seed(0)
    if kind == "llama":
        config = LlamaConfig(
            vocab_size=vocab,
            hidden_size=64,
            intermediate_size=128,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            initializer_range=0.2,
        )
        return LlamaForCausalLM(config).eval()
    config = Gemma3TextConfig(  # sliding window far shorter than the shared prefix
        vocab_size=vocab,
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
    return Gemma3ForCausalLM(config).eval()


def _rubrics() -> dict[str, Rubric]:
    return {
        c: Rubric("concept", c, f"{c}s", 1, ((f"A text about a {c}.", 9), ("Tax forms.", 0)))
        for c in CONCEPTS
    }


@pytest.mark.parametrize("kind", ["llama", "gemma3-sliding"])
def test_one_reading_equals_one_prompt_per_rubric(tokenizer, kind):
    rubrics = _rubrics()
    judge = SharedReadingJudge(
        _model(kind, len(tokenizer)), tokenizer, rubrics, model_id="tiny", max_text_tokens=32
    )
    shared = judge.score_all(TEXTS)
    lengths = {len(judge.text_ids(t)) for t in TEXTS}
    assert len(lengths) < len(TEXTS)  # some texts share a batch
    assert judge.forward_calls == 1 + 2 * len(lengths)  # prefix, then texts + questions
    reference = judge.score_all_full_prompt(TEXTS)
    assert list(shared.columns) == list(CONCEPTS) and shared.shape == (len(TEXTS), 3)
    assert (shared - reference).abs().to_numpy().max() <= 1e-4
    assert shared.to_numpy().std() > 0  # the random model does tell texts/rubrics apart
    assert judge.score(TEXTS[:2], rubrics["object"]) == pytest.approx(
        shared["object"].tolist()[:2], abs=1e-9
    )
    with pytest.raises(ValueError, match="not one of this judge's rubrics"):
        judge.score(TEXTS, Rubric("concept", "plant", "plants", 1))


def test_layout_puts_every_rubric_after_the_text(tokenizer):
    judge = SharedReadingJudge(
        _model("llama", len(tokenizer)), tokenizer, _rubrics(), model_id="tiny"
    )
    prefix = tokenizer.decode(judge.prefix_ids)
    assert prefix.index("Topic: animals\nScore: 9") < prefix.index("Topic: objects\nScore: 9")
    assert prefix.index("Topic: persons\nScore: 9") < prefix.index("Topic: animals\nScore: 0")
    assert tokenizer.decode(judge.question_ids["object"]).startswith("Topic: objects\nScore:")
    assert tokenizer.decode(judge.text_ids("a  b\nc")) == "Text: a b c\n"
    assert judge.judge_id == "local:tiny:shared-v1:digit09-v1:t128"
    with pytest.raises(ValueError, match=r"concept_rubrics\['x'\] must be the concept rubric"):
        SharedReadingJudge(None, tokenizer, {"x": _rubrics()["animal"]}, model_id="t")
