"""The held-out judge checks (data/judge_checks_heldout.jsonl) really are held out."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from steering.evaluation.judges.validation import load_checks

DATA = Path(__file__).resolve().parents[2] / "data"
CONCEPTS = ("person", "change", "animal", "object", "action")


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def test_heldout_checks_share_no_text_with_the_tuning_checks_or_the_shots() -> None:
    heldout = load_checks(DATA / "judge_checks_heldout.jsonl")
    tuning = load_checks(DATA / "judge_checks.jsonl")
    shots = yaml.safe_load((DATA / "judge_shots.yaml").read_text(encoding="utf-8"))
    shot_texts = {
        _norm(s["text"])
        for kind in ("concept", "opposite", "bipolar")
        for rows in shots[kind].values()
        for s in rows
    }
    held = {_norm(t) for t in heldout["text"]}
    assert not held & {_norm(t) for t in tuning["text"]}
    assert not held & shot_texts
    assert not {_norm(t) for t in tuning["text"]} & shot_texts  # no check is a shot either


@pytest.mark.parametrize("concept", CONCEPTS)
def test_heldout_checks_cover_every_concept(concept: str) -> None:
    checks = load_checks(DATA / "judge_checks_heldout.jsonl")
    mine = checks[checks["concept"] == concept]
    assert (mine["label"] == 1).sum() >= 10
    assert ((mine["label"] == 0) & (mine["kind"] != "neutral")).sum() >= 5
    assert ((mine["label"] == 0) & (mine["kind"] == "neutral")).sum() >= 2
