"""Fits per resample: seeded nested subsets without held-out lines, one calibration search per
job reused on every resample, and the random control's norms per resample."""

from __future__ import annotations

import numpy as np
import pytest

from steering.evaluation.resampling import concept_seed, held_out_split
from steering.fit.calibration import CalibrationSettings
from steering.fit.resampled_fit import (
    fit_resamples,
    random_controls,
    resample_subsets,
    resampled_metadata,
)
from steering.fit.steerer import ManifoldSteerer
from steering.fit.vector_files import VectorFileError, save_vectors
from tests.helpers.tiny_models import HIDDEN, PROMPTS, STEER_LAYER, TinyModel

POOL = 12
HELD_OUT = 3
GRID = [2, 4, 6]
SEARCH = CalibrationSettings(mode="search", multiples=(0.5, 1.0), n_prompts=2, max_new_tokens=3)


def _pools(seed: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
    rng = np.random.default_rng(seed)
    concepts = {
        c: rng.normal(size=(POOL, HIDDEN)).astype(np.float32) + 3.0 * np.eye(HIDDEN)[i]
        for i, c in enumerate(("animal", "object", "person"))
    }
    return concepts, rng.normal(size=(POOL, HIDDEN)).astype(np.float32)


def test_subsets_are_seeded_nested_distinct_and_never_held_out() -> None:
    sizes = {"animal": POOL, "object": POOL, "neutral": POOL}
    subsets = resample_subsets(sizes, GRID, 3, seed=7, held_out=HELD_OUT)
    again = resample_subsets(sizes, GRID, 3, seed=7, held_out=HELD_OUT)
    assert all(
        np.array_equal(v, again[name][key]) for name in subsets for key, v in subsets[name].items()
    )
    for name, by_key in subsets.items():
        _, held = held_out_split(POOL, HELD_OUT, concept_seed(7, name))
        for r in range(3):
            for small, large in zip(GRID, GRID[1:], strict=False):
                assert set(by_key[(small, r)]) <= set(by_key[(large, r)])  # nested
            for n in GRID:
                assert len(by_key[(n, r)]) == n and not set(by_key[(n, r)]) & set(held)
        assert len({tuple(by_key[(4, r)]) for r in range(3)}) > 1  # independent resamples
    assert subsets["animal"][(4, 0)].tolist() != subsets["object"][(4, 0)].tolist()
    # A job asking for one scale gets the same subsets as the whole grid: nested across jobs.
    alone = resample_subsets(sizes, [4], 3, seed=7, held_out=HELD_OUT)
    assert all(
        np.array_equal(alone[name][(4, r)], subsets[name][(4, r)])
        for name in sizes
        for r in range(3)
    )
    with pytest.raises(ValueError, match="examples of 'animal': n_examples \\[10\\] exceed"):
        resample_subsets({"animal": POOL}, [10], 2, seed=0, held_out=HELD_OUT)


def test_fit_resamples_calibrates_once_and_reuses_the_multiple(
    llama: TinyModel, tokenizer, tmp_path
):
    pools, neutral = _pools(0)
    sizes = {**{c: POOL for c in pools}, "neutral": POOL}
    subsets = resample_subsets(sizes, GRID, 3, seed=0, held_out=HELD_OUT)
    steerer = ManifoldSteerer(llama.model, tokenizer, STEER_LAYER, "diffmean", calibration=SEARCH)
    fit = fit_resamples(steerer, pools, neutral, None, PROMPTS, n=4, subsets=subsets, resamples=3)
    assert len(fit.vectors) == len(fit.reports) == 3
    assert fit.subsets["animal"] == [subsets["animal"][(4, r)].tolist() for r in range(3)]
    assert fit.subsets["neutral"] == [subsets["neutral"][(4, r)].tolist() for r in range(3)]
    for concept in pools:
        first = fit.vectors[0][concept]
        assert "coherent" in first.calibration["note"]  # searched on resample 0
        for r in (1, 2):
            later = fit.vectors[r][concept]
            # Each resample is fitted on its own subset: its own direction and raw norm.
            expected = pools[concept][subsets[concept][(4, r)]].mean(0) - neutral[
                subsets["neutral"][(4, r)]
            ].mean(0)
            np.testing.assert_allclose(later.raw_norm, np.linalg.norm(expected), rtol=1e-4)
            assert not np.allclose(later.direction, first.direction)
            # ... but the multiple of |v| calibrated on resample 0, with no search.
            assert later.calibration["multiple"] == first.calibration["multiple"]
            assert later.calibration["coherent_share"] == {}
            assert "calibrated on resample 0" in later.calibration["note"]
            np.testing.assert_allclose(
                later.full_strength_norm, later.calibration["multiple"] * later.raw_norm
            )
    meta = resampled_metadata(fit, steerer.metadata, seed=0, held_out=HELD_OUT)
    assert meta["resampling"]["resamples"] == 3 and len(meta["fits"]) == 3
    assert meta["fit"] == fit.reports[0].as_dict()
    # The file holds every resample; the steerer loads one, or all for one batched generation.
    save_vectors(tmp_path / "v", fit.vectors, meta)
    one = ManifoldSteerer.load(tmp_path / "v", llama.model, tokenizer, resample=2)
    np.testing.assert_array_equal(
        one.vectors["object"].direction, fit.vectors[2]["object"].direction
    )
    every = ManifoldSteerer.load(tmp_path / "v", llama.model, tokenizer, resample=None)
    assert sorted(every.vectors) == sorted(f"r{r}/{c}" for r in range(3) for c in pools)
    rows = every.generate_batch(
        PROMPTS[:2], ["r0/animal", "r2/animal"], [1.0, 1.0], max_new_tokens=2, progress=False
    )
    assert len(rows) == 2
    with pytest.raises(VectorFileError, match="holds resamples 0..2, not 3"):
        ManifoldSteerer.load(tmp_path / "v", llama.model, tokenizer, resample=3)


def test_random_control_takes_each_resamples_norms(llama: TinyModel, tokenizer):
    pools, neutral = _pools(1)
    sizes = {**{c: POOL for c in pools}, "neutral": POOL}
    subsets = resample_subsets(sizes, GRID, 2, seed=1, held_out=HELD_OUT)
    steerer = ManifoldSteerer(
        llama.model, tokenizer, STEER_LAYER, "diffmean", calibration=CalibrationSettings("fixed")
    )
    primary = fit_resamples(
        steerer, pools, neutral, None, PROMPTS, n=2, subsets=subsets, resamples=2
    ).vectors
    control = random_controls(primary, seed=5)
    again = random_controls(primary, seed=5)
    assert all(
        np.array_equal(control[r][c].direction, again[r][c].direction)
        for r in range(2)
        for c in control[r]
    )
    for r in range(2):
        for concept, vector in control[r].items():
            assert vector.method == "random"
            assert vector.full_strength_norm == primary[r][concept].full_strength_norm
            assert vector.raw_norm == primary[r][concept].raw_norm
            assert np.linalg.norm(vector.direction) == pytest.approx(1.0, abs=1e-5)
    assert primary[0]["animal"].full_strength_norm != primary[1]["animal"].full_strength_norm
    assert not np.allclose(control[0]["animal"].direction, control[1]["animal"].direction)
