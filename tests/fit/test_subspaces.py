"""Subspaces: orthonormal bases, ranks, projections and input checks."""

from __future__ import annotations

import numpy as np
import pytest

from steering.fit.subspaces import (
    contamination_subspace,
    normalize_rows,
    rank_for_energy,
    robust_svd,
    task_manifold,
)

RNG = np.random.default_rng(0)


def _orthonormal(basis: np.ndarray) -> bool:
    return np.allclose(basis @ basis.T, np.eye(basis.shape[0]), atol=1e-8)


def test_robust_svd_reconstructs_the_matrix() -> None:
    m = RNG.normal(size=(12, 20))
    result = robust_svd(m)
    assert result.method == "numpy.linalg.svd" and result.fallbacks == ()
    projected = m @ result.vt.T @ result.vt
    np.testing.assert_allclose(projected, m, atol=1e-10)
    np.testing.assert_allclose(result.singular_values, np.linalg.svd(m, compute_uv=False))


def test_robust_svd_refuses_non_finite_input() -> None:
    m = np.ones((3, 4))
    m[1, 2] = np.nan
    with pytest.raises(FloatingPointError, match="NaN"):
        robust_svd(m)


def test_contamination_subspace_finds_the_shared_direction() -> None:
    hidden = 16
    shared = np.zeros(hidden)
    shared[0] = 1.0
    differences = {}
    for index, name in enumerate(["a", "b", "c"]):
        own = np.zeros(hidden)
        own[index + 1] = 1.0
        differences[name] = 5 * shared + own + 0.01 * RNG.normal(size=(6, hidden))
    sub = contamination_subspace(differences, rank=1)
    assert sub.rank == 1 and sub.n_samples == 18
    assert abs(sub.basis[0] @ shared) > 0.99
    assert _orthonormal(sub.basis)
    cleaned = sub.project_out(differences["a"].mean(axis=0))
    assert abs(cleaned @ shared) < 0.1
    np.testing.assert_allclose(sub.basis @ cleaned, 0, atol=1e-10)
    auto = contamination_subspace(differences, rank=None, energy=0.5)
    assert 1 <= auto.rank <= 2


def test_contamination_subspace_checks_concepts_and_rank() -> None:
    one = {"a": RNG.normal(size=(4, 8))}
    with pytest.raises(ValueError, match="at least 2 concepts"):
        contamination_subspace(one)
    two = {"a": RNG.normal(size=(4, 8)), "b": RNG.normal(size=(4, 8))}
    with pytest.raises(ValueError, match="rank=2"):
        contamination_subspace(two, rank=2)
    assert contamination_subspace(two, rank=0).rank == 0


def test_task_manifold_rank_is_capped_and_basis_orthonormal() -> None:
    low_rank = RNG.normal(size=(40, 3)) @ RNG.normal(size=(3, 24))
    sub = task_manifold(low_rank, energy=0.99)
    assert sub.rank <= 3 and _orthonormal(sub.basis)
    assert task_manifold(low_rank, energy=0.99, max_rank=1).rank == 1
    small = RNG.normal(size=(9, 24))
    assert task_manifold(small, energy=1.0).rank <= 8
    vector = RNG.normal(size=24)
    inside = sub.project_onto(vector)
    np.testing.assert_allclose(sub.project_onto(inside), inside, atol=1e-10)


def test_rank_for_energy_and_normalize_rows() -> None:
    assert rank_for_energy(np.array([3.0, 1.0, 0.0]), 0.9) == 1
    assert rank_for_energy(np.array([1.0, 1.0]), 1.0) == 2
    assert rank_for_energy(np.zeros(3), 0.5) == 0
    with pytest.raises(ValueError, match="energy"):
        rank_for_energy(np.ones(2), 0.0)
    rows = normalize_rows(np.array([[3.0, 4.0], [0.0, 0.0]]))
    np.testing.assert_allclose(rows, [[0.6, 0.8], [0.0, 0.0]])


def test_standardised_manifold_projects_orthogonally_onto_the_standardised_pca() -> None:
    """B8: the old ``std * P(v / std)`` was oblique and lengthened vectors 2.6x on gemma."""
    scales = np.r_[np.full(3, 50.0), np.ones(21)]  # 3 outlier dimensions, as in Gemma-3
    acts = (RNG.normal(size=(60, 6)) @ RNG.normal(size=(6, 24))) * scales
    sub = task_manifold(acts, energy=0.9)
    assert sub.std is not None and _orthonormal(sub.basis)
    # the subspace is the one chosen in standardised coordinates, mapped back by std
    rows = normalize_rows(acts)
    centred = rows - rows.mean(axis=0)
    z = centred / np.where(centred.std(axis=0) > 0, centred.std(axis=0), 1.0)
    chosen = np.linalg.svd(z, full_matrices=False)[2][: sub.rank] * sub.std
    np.testing.assert_allclose(sub.project_onto(chosen.T).T, chosen, atol=1e-8)
    projector = sub.basis.T @ sub.basis  # orthogonal: symmetric, never lengthens
    np.testing.assert_allclose(projector, projector.T, atol=1e-12)
    for vector in RNG.normal(size=(20, 24)) * scales:
        kept = sub.project_onto(vector)
        assert np.linalg.norm(kept) <= np.linalg.norm(vector) + 1e-9
        assert abs((vector - kept) @ kept) < 1e-6 * np.linalg.norm(vector) ** 2
