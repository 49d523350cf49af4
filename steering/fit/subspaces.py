"""Subspaces in float64: the contamination subspace and the task manifold.

Each SVD goes through a recorded fallback chain (numpy SVD -> scipy ``gesvd`` ->
eigendecomposition of the covariance), so a non-converging SVD never stops a fit silently:
the method used and the failures before it are part of the result.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import scipy.linalg

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SVDResult:
    """Right singular vectors (rows of ``vt``), singular values, and how they were computed."""

    singular_values: np.ndarray
    vt: np.ndarray
    method: str
    fallbacks: tuple[str, ...]


@dataclass(frozen=True)
class Subspace:
    """An orthonormal basis (rows) of a subspace of the residual stream.

    Projections are orthogonal in the residual stream's own coordinates, so they never lengthen
    a vector. ``std``, when set, records the per-dimension standard deviations of the
    standardised coordinates the subspace was *chosen* in (see :func:`task_manifold`).
    """

    basis: np.ndarray  # (rank, hidden), float64, orthonormal rows (residual coordinates)
    explained: float  # share of energy the basis captures
    n_samples: int
    svd_method: str
    fallbacks: tuple[str, ...]
    std: np.ndarray | None = None  # per-dimension std of the fitting coordinates, or None

    @property
    def rank(self) -> int:
        """Number of basis vectors."""
        return int(self.basis.shape[0])

    def project_out(self, vector: np.ndarray) -> np.ndarray:
        """Return ``vector`` minus its component in the subspace."""
        v = np.asarray(vector, dtype=np.float64)
        return v - self.project_onto(v)

    def project_onto(self, vector: np.ndarray) -> np.ndarray:
        """Return the component of ``vector`` in the subspace."""
        v = np.asarray(vector, dtype=np.float64)
        return self.basis.T @ (self.basis @ v)


def normalize_rows(matrix: np.ndarray) -> np.ndarray:
    """Scale rows to unit norm in float64, leaving all-zero rows at zero (no division by 0)."""
    m = np.asarray(matrix, dtype=np.float64)
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    return np.divide(m, norms, out=np.zeros_like(m), where=norms > 0)


def robust_svd(matrix: np.ndarray) -> SVDResult:
    """Thin SVD of ``matrix`` in float64 through the fallback chain, recording what was used."""
    m = np.asarray(matrix, dtype=np.float64)
    if not np.isfinite(m).all():
        raise FloatingPointError("SVD input contains NaN or inf; check the activations.")
    failures: list[str] = []
    try:
        _, s, vt = np.linalg.svd(m, full_matrices=False)
        return SVDResult(s, vt, "numpy.linalg.svd", ())
    except np.linalg.LinAlgError as error:
        failures.append(f"numpy.linalg.svd: {error}")
        log.warning("numpy SVD failed (%s); trying scipy gesvd.", error)
    try:
        _, s, vt = scipy.linalg.svd(m, full_matrices=False, lapack_driver="gesvd")
        return SVDResult(s, vt, "scipy.linalg.svd(gesvd)", tuple(failures))
    except (np.linalg.LinAlgError, ValueError) as error:
        failures.append(f"scipy gesvd: {error}")
        log.warning("scipy gesvd failed (%s); using the covariance eigendecomposition.", error)
    eigenvalues, eigenvectors = np.linalg.eigh(m.T @ m)
    order = np.argsort(eigenvalues)[::-1][: min(m.shape)]
    s = np.sqrt(np.clip(eigenvalues[order], 0.0, None))
    return SVDResult(s, eigenvectors[:, order].T, "eigh(covariance)", tuple(failures))


def rank_for_energy(singular_values: np.ndarray, energy: float) -> int:
    """Smallest rank whose singular values hold at least ``energy`` of the total energy."""
    if not 0 < energy <= 1:
        raise ValueError(f"energy={energy} must be in (0, 1].")
    power = singular_values**2
    total = power.sum()
    if total <= 0:
        return 0
    return int(np.searchsorted(np.cumsum(power) / total, energy - 1e-12) + 1)


def _explained(singular_values: np.ndarray, rank: int) -> float:
    power = singular_values**2
    return float(power[:rank].sum() / power.sum()) if power.sum() > 0 else 0.0


def contamination_subspace(
    differences: Mapping[str, np.ndarray], *, rank: int | None = 1, energy: float = 0.5
) -> Subspace:
    """Directions shared by every concept's per-example difference vectors.

    Args:
        differences: Per concept, the ``(n_examples, hidden)`` differences between each
            concept example's activation and the mean neutral activation.
        rank: Number of shared directions; ``None`` picks the smallest rank holding ``energy``
            of the pooled, row-normalised differences. Always below the number of concepts, or
            removing it would remove the concepts themselves.
        energy: Energy threshold used when ``rank`` is ``None``.
    """
    n_concepts = len(differences)
    if n_concepts < 2:
        raise ValueError(
            f"The contamination subspace needs at least 2 concepts, got {n_concepts}; "
            "use method 'diffmean' or 'manifold' for a single concept."
        )
    if rank is not None and not 0 <= rank < n_concepts:
        raise ValueError(
            f"contamination rank={rank} must be between 0 and the number of concepts - 1 "
            f"({n_concepts - 1}); with {n_concepts} concepts a rank of {n_concepts} or more "
            "would project out the concepts themselves."
        )
    stacked = normalize_rows(np.concatenate([np.asarray(d) for d in differences.values()]))
    svd = robust_svd(stacked)
    k = (
        rank
        if rank is not None
        else min(rank_for_energy(svd.singular_values, energy), n_concepts - 1)
    )
    return Subspace(
        svd.vt[:k].copy(),
        _explained(svd.singular_values, k),
        stacked.shape[0],
        svd.method,
        svd.fallbacks,
    )


def task_manifold(
    activations: np.ndarray,
    *,
    energy: float = 0.99,
    max_rank: int | None = None,
    min_samples: int = 8,
    standardize: bool = True,
) -> Subspace:
    """PCA subspace of the activations the model visits while generating from task prompts.

    Rows are normalised (so a few huge-norm tokens cannot dominate) and centred. With
    ``standardize`` (the default) each dimension is then divided by its standard deviation
    before the decomposition: in models such as Gemma-3, 88-98% of the residual energy sits in
    ~5 outlier dimensions, and a raw PCA would make those few dimensions "the manifold". The
    subspace so chosen is mapped back to residual coordinates (basis rows times ``std``) and
    re-orthonormalised, so projections onto it are orthogonal. (Projecting in standardised
    coordinates, ``std * P(v / std)``, is an oblique projection: on gemma-3-270m it lengthened
    random vectors 2.6x and turned concept vectors away from themselves; BENCHMARKS.md B8.)
    The rank is the smallest holding ``energy`` of the variance, capped by ``max_rank`` and by
    the number of samples minus one.

    Raises:
        ValueError: Fewer than ``min_samples`` activations were collected (the prototype
            silently collected 0 here).
    """
    acts = np.asarray(activations, dtype=np.float64)
    if acts.ndim != 2 or acts.shape[0] < min_samples:
        got = acts.shape[0] if acts.ndim == 2 else 0
        raise ValueError(
            f"Task manifold needs at least {min_samples} token activations, collected {got}; "
            "give more task prompts or more manifold tokens."
        )
    rows = normalize_rows(acts)
    centred = rows - rows.mean(axis=0, keepdims=True)
    std = None
    if standardize:
        spread = centred.std(axis=0)
        std = np.where(spread > 0, spread, 1.0)
        centred = centred / std
    svd = robust_svd(centred)
    cap = min(acts.shape[0] - 1, acts.shape[1], max_rank or acts.shape[1])
    k = max(1, min(rank_for_energy(svd.singular_values, energy), cap))
    basis = svd.vt[:k].copy()
    if std is not None:  # the same subspace in residual coordinates, orthonormal rows
        basis = np.linalg.qr((basis * std).T)[0].T
    return Subspace(
        basis,
        _explained(svd.singular_values, k),
        acts.shape[0],
        svd.method,
        svd.fallbacks,
        std,
    )
