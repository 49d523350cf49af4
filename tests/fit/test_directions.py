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
    assert result.subspaces["manifold"].rank == manifold.rank and result.warnings == []
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
    zero = fit_directions({"same": flat}, flat, method="diffmean")
    with pytest.raises(ValueError, match="'same' is zero"):
        zero.unit_directions()
