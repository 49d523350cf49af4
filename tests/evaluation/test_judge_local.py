"""Tests of the local LLM judge (steering.evaluation.judges.local) and judge validation.

The fast tests run tiny random-weight Llama and Gemma-3 models (with the real SmolLM2 tokenizer)
and check that the prefix-KV-cached, batched scores equal the cache-free reference, including
Gemma-3 sliding-window layers whose window is shorter than the cached prefix. The slow test runs
gemma-3-270m on data/judge_checks.jsonl with the few-shot examples of data/judge_shots.yaml.
"""

from __future__ import annotations

import json
import logging
import math
import sys
from pathlib import Path

import pytest
import torch
import yaml
from transformers import (
    AutoTokenizer,
    Gemma3ForCausalLM,
    Gemma3TextConfig,
    LlamaConfig,
    LlamaForCausalLM,
)

from steering.core.models import embedded_model_dir, prepare_tokenizer
from steering.evaluation.judges.base import Rubric
from steering.evaluation.judges.local import LocalJudge
from steering.evaluation.judges.validation import (
    GATING_AUROC,
    VALIDATION_COLUMNS,
    check_scores,
    load_checks,
    validate_judge,
    validation_table,
)

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "data" / "judge_shots.yaml"
CHECKS = ROOT / "data" / "judge_checks.jsonl"
CONFIG = ROOT / "config.yaml"  # its `concepts` mapping holds each description and opposite

TEXTS = [
    "A fox.",
    "The quick brown fox jumps over the lazy dog near the river bank at dawn, again and again.",
    "",
    "Tables\n\nand   chairs, stacked in the hall.",
    "1234 numbers: 5, 6 and 7!",
    "Elephants remember.",
    "word " * 300,  # longer than max_text_tokens
]

SHOT_TEXTS = [
    ("My dog chased the cat up the old oak tree.", 9),
    ("The spreadsheet lists quarterly revenue by region.", 0),
    ("A heron stood in the shallows waiting for fish.", 8),
    ("The hammer lay on the workbench next to the nails.", 1),
    ("Wolves hunt in packs across the frozen tundra.", 9),
    ("The meeting was moved to Thursday afternoon.", 0),
]


@pytest.fixture(scope="module")
def tokenizer():
    return prepare_tokenizer(
        AutoTokenizer.from_pretrained(str(embedded_model_dir("smollm2-135m-instruct")))
    )


def _llama(vocab: int) -> torch.nn.Module:
    torch.manual_seed(0)
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


def _gemma3(vocab: int, sliding_window: int = 16) -> torch.nn.Module:
    torch.manual_seed(0)
    config = Gemma3TextConfig(
        vocab_size=vocab,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=4,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=16,
        sliding_window=sliding_window,
        initializer_range=0.2,
        layer_types=["sliding_attention", "full_attention", "sliding_attention", "full_attention"],
    )
    return Gemma3ForCausalLM(config).eval()


@pytest.fixture(scope="module")
def rubric() -> Rubric:
    return Rubric(
        kind="concept", concept="animal", description="animals", version=1, shots=tuple(SHOT_TEXTS)
    )


@pytest.fixture(scope="module", params=["llama", "gemma3-sliding"])
def tiny_model(request, tokenizer):
    if request.param == "llama":
        return _llama(len(tokenizer))
    return _gemma3(len(tokenizer))


@pytest.mark.parametrize("chat", [False, True], ids=["plain", "chat"])
def test_prefix_cache_matches_full_prompt(tiny_model, tokenizer, rubric, chat):
    judge = LocalJudge(
        tiny_model,
        tokenizer,
        model_id="tiny",
        batch_size=3,
        use_chat_template=chat,
        max_text_tokens=32,
    )
    cached = judge.score(TEXTS, rubric)
    assert judge.prefix_caching
    reference = judge.score_full_prompt(TEXTS, rubric)
    assert len(cached) == len(TEXTS)
    for got, want in zip(cached, reference, strict=True):
        assert 0.0 <= got <= 10.0
        assert got == pytest.approx(want, abs=1e-4)
    # Random weights still give text-dependent scores, so the comparison is not vacuous.
    assert max(reference) - min(reference) > 1e-3


def test_sliding_window_shorter_than_prefix(tokenizer, rubric):
    model = _gemma3(len(tokenizer), sliding_window=8)
    judge = LocalJudge(
        model, tokenizer, model_id="tiny-gemma3", batch_size=4, use_chat_template=False
    )
    prefix_len = len(judge.prompts.layout(rubric).prefix_ids)
    assert prefix_len > 4 * model.config.sliding_window
    cached = judge.score(TEXTS, rubric)
    kv = judge.prompts.layout(rubric).kv
    assert any(type(layer).__name__ == "DynamicSlidingWindowLayer" for layer in kv.layers)
    assert cached == pytest.approx(judge.score_full_prompt(TEXTS, rubric), abs=1e-4)


def _older_slice_logits_to_keep(hidden_states, logits_to_keep):
    """transformers <= 5.17: any tensor is a 1-D list of positions kept for every row."""
    if isinstance(logits_to_keep, int):
        logits_to_keep = slice(-logits_to_keep, None)
    return hidden_states[:, logits_to_keep, :]


def test_output_layer_sees_one_position_per_text(tiny_model, tokenizer, rubric, monkeypatch):
    """Regression (GPU check, transformers 5.17): a 2-D ``logits_to_keep`` was read as a list of
    positions there, giving batch x batch logit rows and a CUDA device-side assert. The judge
    now hands the output layer each text's last real position itself, whatever the version:
    here the older slicing is patched in, and scores still match full prompts."""
    module = sys.modules[type(tiny_model).__module__]
    monkeypatch.setattr(module, "slice_logits_to_keep", _older_slice_logits_to_keep)
    seen = []
    head = tiny_model.get_output_embeddings()
    handle = head.register_forward_hook(lambda _m, args, out: seen.append(tuple(out.shape)))
    try:
        judge = LocalJudge(
            tiny_model,
            tokenizer,
            model_id="tiny",
            batch_size=4,
            use_chat_template=False,
            max_text_tokens=32,
        )
        cached = judge.score(TEXTS, rubric)
    finally:
        handle.remove()
    batches = seen[1:]  # seen[0]: the prefix pass
    assert [shape[0] for shape in batches] == [4, len(TEXTS) - 4]
    assert all(shape[1] == 1 for shape in batches)
    assert cached == pytest.approx(judge.score_full_prompt(TEXTS, rubric), abs=1e-4)


def test_batch_equals_one_by_one_and_counters(tokenizer, rubric):
    model = _gemma3(len(tokenizer))
    judge = LocalJudge(model, tokenizer, model_id="tiny", batch_size=4, use_chat_template=False)
    batched = judge.score(TEXTS, rubric)
    assert judge.prefix_computations == 1
    assert judge.forward_calls == 1 + math.ceil(len(TEXTS) / 4)
    assert judge.texts_scored == len(TEXTS)
    singles = [judge.score([text], rubric)[0] for text in TEXTS]
    assert batched == pytest.approx(singles, abs=1e-4)
    assert judge.prefix_computations == 1  # the prefix cache is reused across calls
    assert judge.forward_calls == 1 + math.ceil(len(TEXTS) / 4) + len(TEXTS)
    judge.reset_counters()
    assert judge.score([], rubric) == []
    assert judge.forward_calls == 0
    other = Rubric(
        kind="concept", concept="object", description="objects", version=1, shots=rubric.shots
    )
    judge.score(TEXTS[:2], other)
    assert judge.prefix_computations == 1


def test_prompt_layout_and_truncation(tokenizer, rubric):
    judge = LocalJudge(
        _llama(len(tokenizer)),
        tokenizer,
        model_id="tiny",
        use_chat_template=False,
        max_text_tokens=5,
    )
    assert judge.judge_id.startswith("local:tiny:plain-")
    prompt = judge.prompt("Hello\n\nworld,   fox and more words after the fifth token", rubric)
    assert prompt.startswith("Rate from 0 to 9 how much each text is about animals.")
    assert "Text: My dog chased the cat up the old oak tree.\nScore: 9\n\n" in prompt
    last = prompt.rsplit("\n\n", 1)[1]
    assert last.startswith("Text: Hello world,")
    assert last.endswith("\nScore: ")  # SmolLM2 makes the space its own token
    text = last[len("Text: ") : -len("\nScore: ")]
    assert len(tokenizer(text, add_special_tokens=False)["input_ids"]) == 5
    chat = LocalJudge(_llama(len(tokenizer)), tokenizer, model_id="tiny")
    assert chat.use_chat_template and chat.judge_id.startswith("local:tiny:chat-")
    with pytest.raises(TypeError):
        judge.score("one string", rubric)


def test_unsupported_cache_falls_back_with_warning(tokenizer, rubric, caplog, monkeypatch):
    judge = LocalJudge(
        _llama(len(tokenizer)), tokenizer, model_id="tiny", batch_size=4, use_chat_template=False
    )
    monkeypatch.setattr(
        "steering.evaluation.judges.local.unsupported_cache_reason",
        lambda kv, n: "pretend recurrent state",
    )
    with caplog.at_level(logging.WARNING, logger="steering.evaluation.judges.local"):
        got = judge.score(TEXTS[:3], rubric)
    assert "prefix KV caching cannot be made exact" in caplog.text
    assert not judge.prefix_caching
    assert got == pytest.approx(judge.score_full_prompt(TEXTS[:3], rubric), abs=1e-6)


# ------------------------------------------------------------------------------ validation


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_load_checks_errors_name_file_and_line(tmp_path):
    good = json.dumps({"concept": "animal", "text": "A cat.", "label": 1, "kind": "on-concept"})
    off = good.replace('"label": 1', '"label": 0')
    df = load_checks(_write(tmp_path / "ok.jsonl", [good, "", off]))
    assert list(df.columns[:4]) == ["concept", "text", "label", "kind"]
    assert df["label"].tolist() == [1, 0] and df["line"].tolist() == [1, 3]
    cases = {
        "{not json": "not valid JSON",
        json.dumps({"concept": "animal", "text": "x", "label": 1}): "missing field",
        json.dumps({"concept": "animal", "text": "x", "label": 2, "kind": "k"}): "'label'",
        json.dumps({"concept": "animal", "text": "x", "label": True, "kind": "k"}): "'label'",
        json.dumps({"concept": 3, "text": "x", "label": 1, "kind": "k"}): "'concept'",
    }
    for bad, message in cases.items():
        path = _write(tmp_path / "bad.jsonl", [good, bad])
        with pytest.raises(ValueError, match=rf"bad\.jsonl:2: .*{message}"):
            load_checks(path)
    with pytest.raises(ValueError, match="empty"):
        load_checks(_write(tmp_path / "empty.jsonl", [""]))


class _KeywordJudge:
    judge_id = "keyword"

    def score(self, texts, rubric):
        return [9.0 if rubric.concept in t else 1.0 for t in texts]


def test_validate_judge_table(tmp_path, rubric):
    lines = [
        {"concept": "animal", "text": "animal one", "label": 1, "kind": "on-concept"},
        {"concept": "animal", "text": "plain", "label": 0, "kind": "neutral"},
        {"concept": "animal", "text": "animal but off", "label": 0, "kind": "other-concept"},
        {"concept": "object", "text": "object here", "label": 1, "kind": "on-concept"},
        {"concept": "object", "text": "nothing", "label": 0, "kind": "neutral"},
    ]
    checks = load_checks(_write(tmp_path / "c.jsonl", [json.dumps(x) for x in lines]))
    rubrics = {"animal": rubric, "object": Rubric("concept", "object", "objects", 1)}
    table = validate_judge(_KeywordJudge(), checks, rubrics)
    assert list(table.columns) == list(VALIDATION_COLUMNS)
    assert table["concept"].tolist() == ["animal", "object"]
    # animal: "animal one" (9) vs other = "animal but off" (9, its own hard negative) and
    # "object here" (1, object's on-concept text); vs neutral = "plain", "nothing" (1, 1).
    assert table["auroc_other"].tolist() == pytest.approx([0.75, 1.0])
    assert table["auroc_neutral"].tolist() == pytest.approx([1.0, 1.0])
    assert table["auroc"].tolist() == table[GATING_AUROC].tolist()  # other concepts gate
    assert table["n"].tolist() == [5, 4] and table["n_pos"].tolist() == [1, 1]
    assert table["n_other"].tolist() == [2, 1] and table["n_neutral"].tolist() == [2, 2]
    assert table["mean_other"].tolist() == pytest.approx([5.0, 1.0])
    assert table["mean_off"].tolist() == pytest.approx([3.0, 1.0])
    with pytest.raises(ValueError, match="no rubric"):
        validate_judge(_KeywordJudge(), checks, {"animal": rubric})
    only_animal = checks[checks.concept == "animal"].iloc[:2]  # no text about another concept
    with pytest.raises(ValueError, match="texts about other concepts.*got 1 and 0"):
        validate_judge(_KeywordJudge(), only_animal, rubrics)
    scores = check_scores(_KeywordJudge(), checks, rubrics)
    assert len(scores) == 5 * 2  # every distinct text under every concept's rubric
    with pytest.raises(ValueError, match="lack 1 check text"):
        validation_table(checks, scores.iloc[1:])


# ------------------------------------------------------------------------------ slow: real model


def load_rubrics(kind: str = "concept") -> dict[str, Rubric]:
    shots = yaml.safe_load(SHOTS.read_text(encoding="utf-8"))
    concepts = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))["concepts"]
    rubrics = {}
    for concept, rows in shots[kind].items():
        info = concepts[concept]
        rubrics[concept] = Rubric(
            kind=kind,
            concept=concept,
            description=info["opposite"] if kind == "opposite" else info["description"],
            version=int(shots["rubric_version"]),
            shots=tuple((row["text"], int(row["score"])) for row in rows),
            opposite=info["opposite"] if kind == "bipolar" else "",
        )
    return rubrics


@pytest.fixture
def one_thread():
    """Run torch on one thread: on a 2-core box shared with other jobs, two OpenMP threads
    spin-wait on each other and a forward pass gets ~9x slower (measured: 7.4 s vs 0.85 s)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.slow
def test_gemma_270m_separates_concepts(one_thread):
    from steering.core.models import load_model
    from steering.evaluation.judges.base import IncrementalJudge

    if not (SHOTS.is_file() and CHECKS.is_file()):
        pytest.fail(f"missing {SHOTS} or {CHECKS}")
    model, tokenizer = load_model("gemma-3-270m", device="cpu")
    judge = LocalJudge(model, tokenizer, model_id="gemma-3-270m", batch_size=16)
    assert not judge.use_chat_template  # base model: plain few-shot layout
    assert isinstance(judge, IncrementalJudge)
    checks = load_checks(CHECKS)
    rubrics = load_rubrics("concept")
    table = validate_judge(judge, checks, rubrics)
    print("\n" + table.to_string(index=False))
    n_concepts = checks["concept"].nunique()
    n_texts = checks["text"].nunique()  # every distinct text under every concept's rubric
    assert judge.prefix_computations == n_concepts  # one prefix forward per rubric
    assert judge.forward_calls == n_concepts * (1 + math.ceil(n_texts / 16))
    assert judge.texts_scored == n_concepts * n_texts
    # Measured (BENCHMARKS.md, judge AUROC): vs other concepts 0.90-0.96, vs neutral 0.92-1.00.
    assert table["auroc_neutral"].min() >= 0.85, table.to_string()
    assert table["auroc_other"].min() >= 0.85, table.to_string()
    assert table["auroc_other"].mean() >= 0.9, table.to_string()
    assert (table["mean_on"] > table["mean_off"]).all(), table.to_string()
    # Spot-check the cache against the reference on the real model.
    some = checks[checks["concept"] == "animal"]["text"].tolist()[:2]
    assert judge.score(some, rubrics["animal"]) == pytest.approx(
        judge.score_full_prompt(some, rubrics["animal"]), abs=1e-3
    )


def test_factory_judge_loads_its_model_only_on_a_cache_miss(tmp_path, rubric, caplog):
    """A rerun whose judgments are all cached (e.g. after a judge-code edit) never loads the
    judge's weights; the first text not in the cache does, once."""
    from steering.evaluation.judges.cache import JudgmentCache
    from steering.evaluation.judges.cached import CachedJudge
    from steering.evaluation.judges.factory import make_judge
    from tests.helpers.workflow_project import build_tiny_model

    folder = build_tiny_model(tmp_path / "model")
    settings = {"backend": "local", "model": str(folder), "batch_size": 4}
    with JudgmentCache(tmp_path / "judgments.sqlite") as cache:
        first = CachedJudge(make_judge(settings, device="cpu"), cache)
        assert not first.judge.model_loaded
        scores = first.score(TEXTS[:3], rubric)
        assert first.judge.model_loaded
        rerun = CachedJudge(make_judge(settings, device="cpu"), cache)
        assert rerun.judge_id == first.judge_id
        with caplog.at_level(logging.INFO, logger="steering.evaluation.judges.local"):
            assert rerun.score(TEXTS[:3], rubric) == scores
        assert not rerun.judge.model_loaded
        assert "loading the model" not in caplog.text
        rerun.score(TEXTS[:4], rubric)  # one new text: the model loads now, once
        assert rerun.judge.model_loaded and rerun.judge.texts_scored == 1
        # the loaded dtype is the one in the judge's id: a cache never mixes dtypes
        assert first.judge_id.endswith(":" + str(rerun.judge.model.dtype).split(".")[-1])
        other = "float32" if first.judge.dtype == "bfloat16" else "bfloat16"
        second = CachedJudge(make_judge({**settings, "dtype": other}, device="cpu"), cache)
        assert second.judge_id != first.judge_id and second.judge_id.endswith(":" + other)
        second.score(TEXTS[:1], rubric)  # not answered from the other dtype's cached scores
        assert second.judge.model_loaded and second.judge.texts_scored == 1
        assert str(second.judge.model.dtype) == f"torch.{other}"
    with pytest.raises(ValueError, match="either a model or a model_loader"):
        LocalJudge(None, first.judge.tokenizer, model_id="tiny")
