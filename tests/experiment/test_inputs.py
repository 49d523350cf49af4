"""Held-out calibration prompts: none may also be an evaluation prompt."""

from __future__ import annotations

from pathlib import Path

import pytest

from steering.experiment.inputs import ConfigError, load_calibration_prompts, load_prompts

DATA = Path(__file__).resolve().parents[2] / "data"


def test_shipped_calibration_prompts_are_held_out() -> None:
    evaluation = load_prompts(DATA / "prompts.txt")
    calibration = load_calibration_prompts(DATA / "calibration_prompts.txt", evaluation)
    assert len(calibration) >= 4
    assert not set(calibration) & set(evaluation)


def test_a_shared_prompt_is_refused_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "calibration.txt"
    path.write_text("Held out one\nThe weather today is\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"shares 1 prompt\(s\) .*'The weather today is'"):
        load_calibration_prompts(path, ["The weather today is", "Another"])
