"""Tests for steering.evaluation.judge_free (split-half stability and held-out detection per
method, scale, resample and concept) and its fitter, on synthetic activations with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from steering.evaluation.judge_free import COLUMNS, judge_free_table
from steering.evaluation.judge_free_fit import SubsetFitter
from steering.evaluation.resampling import concept_seed, held_out_split
from steering.fit.directions import DirectionSettings, fit_directions

HIDDEN = 32
POOL = 84
CONCEPTS = ("animal", "person", "object", "change", "action")


def _pools(signal: float, seed: int = 0) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Each concept: its own axis times ``signal``, a shared axis (the last) times 1.5 x
    ``signal`` (the common component contamination removal is for), unit noise; neutral: noise;
    manifold: full-rank noise. With unit noise in 32 dimensions the mean difference of n concept
    and n neutral rows errs by ~ sqrt(64 / n), so cos(two fits) ~ s^2 / (s^2 + 64 / n)."""
    rng = np.random.default_rng(seed)
    axes = np.eye(HIDDEN)
    concepts = {
        c: rng.normal(size=(POOL, HIDDEN)) + signal * (axes[i] + 1.5 * axes[-1])
        for i, c in enumerate(CONCEPTS)
    }
    return concepts, rng.normal(size=(POOL, HIDDEN)), rng.normal(size=(400, HIDDEN))


def _table(signal: float, methods=("diffmean",), **kwargs) -> pd.DataFrame:
    concepts, neutral, manifold = _pools(signal)
    settings = {"n_examples": [2, 4, 8, 16, 32], "resamples": 3, "held_out": 16, "seed": 0}
    return judge_free_table(
        concepts, neutral, manifold, methods=list(methods), **{**settings, **kwargs}
    )


def test_one_row_per_method_scale_resample_concept() -> None:
    table = _table(6.0, methods=("dual", "diffmean"))
    assert list(table.columns) == list(COLUMNS)
    assert len(table) == 2 * 5 * 3 * 5
    assert not table.duplicated(["method", "n_examples", "resample", "concept"]).any()
    assert table[["stability", "detection_auroc"]].notna().all().all()
    assert (table["stability_note"] == "").all() and (table["detection_note"] == "").all()


def test_a_strong_direction_is_stable_at_large_n_and_detected() -> None:
    table = _table(6.0, methods=("diffmean", "contamination", "manifold", "dual"))
    means = table.groupby(["method", "n_examples"])["stability"].mean().unstack()
    for method, curve in means.iterrows():
        assert curve.is_monotonic_increasing, (method, curve.round(3).to_dict())
        assert curve[32] > 0.95 and curve[32] - curve[2] > 0.15, method
    expected = {n: 117 / (117 + 64 / n) for n in means.columns}  # |v|^2 = 36 * (1 + 1.5^2)
    for n, value in means.loc["diffmean"].items():
        assert value == pytest.approx(expected[n], abs=0.04), n
    assert table.groupby("method")["detection_auroc"].min().min() > 0.95


def test_pure_noise_is_detected_at_chance_and_is_not_stable() -> None:
    table = _table(0.0, methods=("diffmean", "dual"))
    assert table["detection_auroc"].mean() == pytest.approx(0.5, abs=0.06)
    assert table["stability"].abs().mean() < 0.3
    assert table["stability"].mean() == pytest.approx(0.0, abs=0.1)


def test_random_reference_sits_at_chance() -> None:
    table = _table(6.0, methods=("random",))
    assert table["stability"].mean() == pytest.approx(0.0, abs=0.08)  # cosine of random pairs
    assert table["detection_auroc"].mean() == pytest.approx(0.5, abs=0.1)


def test_split_half_beyond_the_pool_is_nan_with_the_reason() -> None:
    # 84 - 16 held out = 68 available: split-half fits n <= 34, a fit n <= 68.
    table = _table(6.0, methods=("dual",), n_examples=[32, 40, 68, 70])
    by_n = table.groupby("n_examples")
    assert by_n["stability"].count().to_dict() == {32: 15, 40: 0, 68: 0, 70: 0}
    assert by_n["detection_auroc"].count().to_dict() == {32: 15, 40: 15, 68: 15, 70: 0}
    note = table.loc[table["n_examples"] == 40, "stability_note"].iloc[0]
    assert "split-half at n=40 needs 80 examples per pool" in note
    assert "animal 68 of 84" in note and "neutral 68 of 84" in note
    assert (
        "a fit at n=70 needs 70 examples"
        in table.loc[table["n_examples"] == 70, "detection_note"].iloc[0]
    )


def test_without_held_out_examples_detection_says_why() -> None:
    table = _table(6.0, held_out=0, n_examples=[4])
    assert table["detection_auroc"].isna().all()
    assert table["detection_note"].str.contains("no held-out examples").all()
    assert table["stability"].notna().all()


def test_deterministic_in_the_seed() -> None:
    first = _table(1.0, methods=("dual", "random"), n_examples=[4, 8])
    second = _table(1.0, methods=("dual", "random"), n_examples=[4, 8])
    pd.testing.assert_frame_equal(first, second)
    other = _table(1.0, methods=("dual", "random"), n_examples=[4, 8], seed=1)
    assert not np.allclose(first["stability"], other["stability"])


def test_fits_never_see_the_held_out_examples_and_detection_scores_them() -> None:
    concepts, neutral, manifold = _pools(6.0)
    settings = {
        "n_examples": [4, 16],
        "resamples": 2,
        "held_out": 16,
        "seed": 3,
        "methods": ["dual"],
    }
    before = judge_free_table(concepts, neutral, manifold, **settings)
    moved = {}  # push every held-out concept row far below the neutral ones on its own axis
    for i, (name, pool) in enumerate(concepts.items()):
        _, held = held_out_split(POOL, 16, concept_seed(3, name))
        moved[name] = pool.copy()
        moved[name][held] -= 50.0 * np.eye(HIDDEN)[i]
    after = judge_free_table(moved, neutral, manifold, **settings)
    pd.testing.assert_series_equal(before["stability"], after["stability"])  # same fits
    assert before["detection_auroc"].min() > 0.8
    assert after["detection_auroc"].max() < 0.2  # the held-out rows are the ones scored


@pytest.mark.parametrize("method", ["diffmean", "contamination", "manifold", "dual"])
def test_fitter_gives_the_library_fit(method: str) -> None:
    concepts, neutral, manifold = _pools(3.0)
    pools = {**concepts, "neutral": neutral}
    settings = DirectionSettings(manifold_energy=0.9)
    rows = {name: np.arange(5, 17) for name in pools}
    mine = SubsetFitter(pools, manifold, settings, seed=0)(method, rows, 12, 0, 0)
    library = fit_directions(
        {c: concepts[c][5:17] for c in concepts},
        neutral[5:17],
        manifold,
        method=method,
        settings=settings,
    ).unit_directions()
    for concept in concepts:
        np.testing.assert_allclose(mine[concept], library[concept], atol=1e-6)


def test_bad_inputs_are_refused_with_the_fix() -> None:
    concepts, neutral, manifold = _pools(1.0)
    base = {"n_examples": [4], "resamples": 1, "held_out": 4, "seed": 0}
    with pytest.raises(ValueError, match="unknown \\['dua'\\]"):
        judge_free_table(concepts, neutral, manifold, methods=["dua"], **base)
    with pytest.raises(ValueError, match="neutral pool as neutral_pool"):
        judge_free_table({"neutral": neutral}, neutral, manifold, methods=["diffmean"], **base)
    with pytest.raises(ValueError, match="hidden size 31, the neutral ones 32"):
        judge_free_table(
            {"animal": concepts["animal"][:, :31]}, neutral, None, methods=["diffmean"], **base
        )
    broken = concepts["animal"].copy()
    broken[3, 0] = np.nan
    with pytest.raises(FloatingPointError, match="concept 'animal' activations contain NaN"):
        judge_free_table({"animal": broken}, neutral, None, methods=["diffmean"], **base)
    with pytest.raises(ValueError, match="'dual' at n=4, resample 0: .*task-manifold"):
        judge_free_table(concepts, neutral, None, methods=["dual"], **base)
    with pytest.raises(ValueError, match="resamples must be an integer >= 1"):
        judge_free_table(concepts, neutral, None, methods=["diffmean"], **{**base, "resamples": 0})
    with pytest.raises(ValueError, match="pool 'animal': held_out=4 leaves no examples of the 4"):
        judge_free_table({"animal": neutral[:4]}, neutral, None, methods=["diffmean"], **base)
    with pytest.raises(ValueError, match=r"n_examples must hold integers >= 1, got \[2.5\]"):
        judge_free_table(
            concepts, neutral, None, methods=["diffmean"], **{**base, "n_examples": [2.5]}
        )
    flat = np.ones((POOL, HIDDEN))  # a concept whose examples are the neutral ones
    with pytest.raises(ValueError, match="'diffmean' at n=4, resample 0: Concept 'animal'"):
        judge_free_table({"animal": flat}, flat, None, methods=["diffmean"], **base)
