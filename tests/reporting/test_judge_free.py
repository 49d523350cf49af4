"""Tests for steering.reporting.judge_free: the curves' figure and the report section."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from steering.evaluation.judge_free import judge_free_table
from steering.evaluation.judge_free_curves import CURVE_COLUMNS, judge_free_curves
from steering.reporting.judge_free import judge_free_section, plot_judge_free, stability_sentence

N = (2, 4, 8, 16, 32)


def _curves(stability: dict[str, list[float]], width: float = 0.03) -> pd.DataFrame:
    """Hand-made curves: per method its stability by N; detection AUROC 0.6 + 0.01 * n."""
    rows = []
    for method, values in stability.items():
        for n, value in zip(N, values, strict=True):
            measured = not math.isnan(value)
            rows.append(
                (
                    method,
                    n,
                    "stability",
                    value,
                    value - width,
                    value + width,
                    15 if measured else 0,
                    "" if measured else f"split-half at n={n} needs more",
                )
            )
            auroc = 0.6 + 0.01 * n
            rows.append((method, n, "detection_auroc", auroc, auroc - 0.05, auroc + 0.05, 15, ""))
    return pd.DataFrame(rows, columns=list(CURVE_COLUMNS))


def test_section_on_a_curve_that_never_reaches_the_threshold() -> None:
    curves = _curves({"dual": [0.1, 0.3, 0.5, 0.7, 0.85]})
    text = "\n".join(judge_free_section(curves))
    assert "**dual**: stability does not exceed 0.9 at any measured n, **not reached**" in text
    assert "largest measured, n = 32: 0.850 [0.820, 0.880]" in text
    assert "detection AUROC at n = 32: 0.920 [0.870, 0.970]" in text
    assert "| 16 | 0.700 [0.670, 0.730] |" in text  # the stability table, n down


def test_section_names_the_first_n_above_threshold_and_when_the_interval_clears_it() -> None:
    curves = _curves({"diffmean": [0.5, 0.8, 0.91, 0.95, 0.97]})
    (line,) = [x for x in judge_free_section(curves) if x.startswith("- **diffmean**")]
    assert "stability first exceeds 0.9 at n = 8 (0.910 [0.880, 0.940])" in line
    assert "its interval is above 0.9 from n = 16" in line
    sentence = stability_sentence(curves[curves["measure"] == "stability"], threshold=0.99)
    assert "not reached" in sentence


def test_section_compares_with_diffmean_and_treats_random_as_the_reference() -> None:
    curves = _curves(
        {
            "dual": [0.1, 0.3, 0.5, 0.7, 0.85],
            "diffmean": [0.1, 0.3, 0.6, 0.8, math.nan],
            "random": [0.0, 0.01, -0.01, 0.0, 0.0],
        }
    )
    text = "\n".join(judge_free_section(curves))
    assert "- dual vs diffmean: stability lower (intervals apart) at n = 8, 16;" in text
    assert "detection intervals overlap at every n." in text
    assert "- random directions (chance reference, not a fit): stability 0.000" in text
    assert "**random**" not in text
    assert "n/a: split-half at n=32 needs more." in text
    assert "| 32 | 0.850 [0.820, 0.880] | n/a | 0.000 [-0.030, 0.030] |" in text


def test_empty_curves_say_so() -> None:
    assert "No judge-free measures were computed." in judge_free_section(
        pd.DataFrame(columns=list(CURVE_COLUMNS))
    )


def test_plot_from_a_real_table(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    axes = np.eye(16)
    concepts = {c: rng.normal(size=(40, 16)) + 3 * axes[i] for i, c in enumerate("abc")}
    table = judge_free_table(
        concepts,
        rng.normal(size=(40, 16)),
        None,
        n_examples=[2, 4, 8, 16],
        resamples=2,
        held_out=8,
        seed=0,
        methods=["diffmean", "contamination", "random"],
    )
    path = plot_judge_free(judge_free_curves(table, n_boot=200), tmp_path / "judge_free.png")
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size[0] > 800
    with pytest.raises(ValueError, match="empty"):
        plot_judge_free(pd.DataFrame(columns=list(CURVE_COLUMNS)), tmp_path / "x.png")
