"""Directions without a model: each method's steps, against a direct numpy computation."""

from __future__ import annotations

import numpy as np
import pytest

from steering.fit.directions import (
    METHODS,
    DirectionSettings,
    fit_directions,
    method_steps,
    needs_manifold,
    pairwise_cosines,
    signal_to_noise,
)
from steering.fit.subspaces import contamination_subspace, task_manifold

HIDDEN = 16
RNG = np.random.default_rng(0)
SHARED = RNG.normal(size=HIDDEN)  # a direction every concept carries
CONCEPTS = {
    c: RNG.normal(size=(6, HIDDEN)) + 3 * SHARED + 2 * np.eye(HIDDEN)[i]
    for i, c in enumerate(["animal", "food", "weather"])
}
NEUTRAL = RNG.normal(size=(6, HIDDEN))
MANIFOLD = RNG.normal(size=(40, HIDDEN))


def _raw() -> dict[str, np.ndarray]:
    return {c: (a - NEUTRAL.mean(axis=0)).mean(axis=0) for c, a in CONCEPTS.items()}


def test_diffmean_is_the_difference_of_means() -> None:
    result = fit_directions(CONCEPTS, NEUTRAL, method="diffmean")
    for name, vector in _raw().items():
        np.testing.assert_allclose(result.raw[name], vector)
        np.testing.assert_allclose(result.final[name], vector)
    assert result.subspaces == {} and result.n_examples == dict.fromkeys(CONCEPTS, 6)
    assert result.retained_norm == pytest.approx(dict.fromkeys(CONCEPTS, 1.0))
    for name, unit in result.unit_directions().items():
        assert unit.dtype == np.float32 and np.linalg.norm(unit) == pytest.approx(1.0)
        np.testing.assert_allclose(unit * result.raw_norms[name], _raw()[name], rtol=1e-5)


def test_dual_is_contamination_removal_then_manifold_projection() -> None:
    settings = DirectionSettings(manifold_energy=0.9)
    result = fit_directions(CONCEPTS, NEUTRAL, MANIFOLD, method="dual", settings=settings)
    differences = {c: a - NEUTRAL.mean(axis=0) for c, a in CONCEPTS.items()}
    contamination = contamination_subspace(differences, rank=1)
    manifold = task_manifold(MANIFOLD, energy=0.9)
    for name, vector in _raw().items():
        expected = manifold.project_onto(contamination.project_out(vector))
        np.testing.assert_allclose(result.final[name], expected, atol=1e-10)
    assert list(result.subspaces) == ["contamination", "manifold"]
    assert result.subspaces["manifold"].rank == manifold.rank
    assert not any("SVD" in w for w in result.warnings)  # low retention is warned, see below
    cosines = pairwise_cosines(result.raw)
    assert set(cosines) == {"animal|food", "animal|weather", "food|weather"}
    assert np.mean(list(pairwise_cosines(result.final).values())) < np.mean(list(cosines.values()))


def test_method_switch_and_refusals() -> None:
    assert METHODS == ("diffmean", "contamination", "manifold", "dual")
    assert [s.name for s in method_steps("dual")] == ["contamination", "manifold"]
    assert needs_manifold("manifold") and not needs_manifold("contamination")
    with pytest.raises(ValueError, match=r"Unknown method 'pca'; choose one of"):
        fit_directions(CONCEPTS, NEUTRAL, method="pca")
    with pytest.raises(ValueError, match="needs task-manifold activations"):
        fit_directions(CONCEPTS, NEUTRAL, None, method="manifold")
    with pytest.raises(ValueError, match="at least 2 concepts"):
        fit_directions({"animal": CONCEPTS["animal"]}, NEUTRAL, method="contamination")
    with pytest.raises(ValueError, match="No concepts"):
        fit_directions({}, NEUTRAL, method="diffmean")
    flat = np.ones((3, HIDDEN))
    with pytest.raises(ValueError, match="Concept 'same': its mean activation equals"):
        fit_directions({"same": flat}, flat, method="diffmean")


def test_a_concept_whose_examples_are_the_neutral_examples_fails_naming_it() -> None:
    """Issue 11 item 6: same texts collected in other batches differ by rounding only."""
    jitter = NEUTRAL * (1 + 1e-6 * RNG.standard_normal(NEUTRAL.shape))  # float32-batch noise
    concepts = {**CONCEPTS, "copy": jitter[::-1]}
    for method in METHODS:
        manifold = MANIFOLD if needs_manifold(method) else None
        with pytest.raises(ValueError, match=r"Concept 'copy'.*neutral examples"):
            fit_directions(concepts, NEUTRAL, manifold, method=method)


def test_signal_to_noise_separates_a_concept_from_a_resample() -> None:
    rng = np.random.default_rng(1)
    pool = rng.normal(size=(400, HIDDEN))
    same = [signal_to_noise(pool[i : i + 20], pool[200 + i : 220 + i]) for i in range(0, 180, 20)]
    assert 0.5 < np.mean(same) < 1.5  # two draws of one distribution: ~1
    shifted = signal_to_noise(pool[:20] + 3 * np.eye(HIDDEN)[0], pool[200:220])
    assert shifted > 2  # expected sqrt(3**2 + 1.6) / 1.26 ~ 2.6
    result = fit_directions(
        {"a": pool[:20], "b": pool[20:40] + 3}, pool[200:220], method="diffmean"
    )
    assert result.signal_to_noise["b"] > 3
    assert any("concept 'a'" in w and "sampling noise" in w for w in result.warnings) == (
        result.signal_to_noise["a"] <= 1
    )


def test_a_step_that_keeps_under_20_percent_warns_naming_the_concept() -> None:
    shared = np.eye(HIDDEN)[0] * 10
    concepts = {  # 'mostly' is almost all shared direction, 'distinct' has its own
        "mostly": RNG.normal(size=(8, HIDDEN)) * 0.1 + shared + 0.2 * np.eye(HIDDEN)[1],
        "distinct": RNG.normal(size=(8, HIDDEN)) * 0.1 + shared + 4 * np.eye(HIDDEN)[2],
        "third": RNG.normal(size=(8, HIDDEN)) * 0.1 + shared + 4 * np.eye(HIDDEN)[3],
    }
    neutral = RNG.normal(size=(8, HIDDEN)) * 0.1
    result = fit_directions(concepts, neutral, method="contamination")
    kept = result.step_retained["contamination"]
    assert kept["mostly"] < 0.2 < kept["distinct"]
    low = [w for w in result.warnings if "keeps" in w]
    assert len(low) == 1 and "concept 'mostly'" in low[0] and "contamination step" in low[0]
