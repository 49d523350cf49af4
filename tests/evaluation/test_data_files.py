"""The shipped data that evaluation relies on: judge checks and the prompt splits."""

from __future__ import annotations

from pathlib import Path

import pytest

from steering.evaluation.judges.validation import load_checks

DATA = Path(__file__).resolve().parents[2] / "data"
CONCEPTS = ("person", "change", "animal", "object", "action")


def _prompts(name: str) -> list[str]:
    return [line for line in (DATA / name).read_text(encoding="utf-8").splitlines() if line.strip()]


def test_calibration_prompts_are_held_out_from_the_evaluation_prompts() -> None:
    evaluation = _prompts("prompts.txt")
    calibration = _prompts("calibration_prompts.txt")
    assert len(calibration) >= 4
    assert len(set(calibration)) == len(calibration)

    def norm(p: str) -> str:
        return " ".join(p.lower().strip(" ,.:").split())

    shared = {norm(p) for p in calibration} & {norm(p) for p in evaluation}
    assert not shared, f"prompts used for both calibration and evaluation: {shared}"
    # no prompt is a prefix of another, so no calibration prompt is an evaluation one in disguise
    for c in calibration:
        for e in evaluation:
            assert not norm(e).startswith(norm(c)) and not norm(c).startswith(norm(e)), (c, e)


@pytest.mark.parametrize("concept", CONCEPTS)
def test_judge_checks_have_enough_positives_and_hard_negatives(concept: str) -> None:
    checks = load_checks(DATA / "judge_checks.jsonl")
    mine = checks[checks["concept"] == concept]
    assert (mine["label"] == 1).sum() >= 20
    assert (mine["label"] == 0).sum() >= 30
    assert ((mine["label"] == 0) & (mine["kind"] == "other-concept")).sum() >= 15
    assert ((mine["label"] == 0) & (mine["kind"] == "near-miss")).sum() >= 1
    assert not mine["text"].duplicated().any()


def test_judge_checks_never_label_a_text_on_and_off_the_same_concept() -> None:
    checks = load_checks(DATA / "judge_checks.jsonl")
    pairs = checks[["concept", "text"]].itertuples(index=False, name=None)
    labelled = list(zip(pairs, checks["label"], strict=True))
    positives = {pair for pair, label in labelled if label == 1}
    negatives = {pair for pair, label in labelled if label == 0}
    assert not positives & negatives
    # a text about one concept is never a positive of another
    about: dict[str, str] = {}
    for concept, text in positives:
        assert about.setdefault(text, concept) == concept, text
