"""Judge-free measures of a fitted direction: split-half stability and detection AUROC.

Split-half stability: fit the direction twice, on two disjoint subsets of n examples
(:func:`~steering.evaluation.resampling.disjoint_halves`), and take the cosine of the two
directions. It rises towards 1 as n grows and the estimate stops depending on which examples
were picked, so it answers "how many examples" without a judge.

Detection AUROC: project held-out concept activations and neutral activations on the direction;
the AUROC of concept vs neutral says whether the direction detects the concept in examples it
was not fitted on.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import numpy as np
import numpy.typing as npt

from steering.evaluation.auroc import auroc
from steering.evaluation.resampling import held_out_split

IntArray = npt.NDArray[np.intp]
_NESTED_HALVES_STREAM = 3  # resampling.py uses streams 0-2 of the same seed

FloatMatrix = npt.NDArray[np.float64]
FitFunction = Callable[[FloatMatrix, FloatMatrix], npt.ArrayLike]
"""``fit(concept_rows, neutral_rows) -> direction``: activations in, one d-vector out."""


def _direction(values: npt.ArrayLike, name: str) -> npt.NDArray[np.float64]:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D vector, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return array


def _matrix(values: npt.ArrayLike, name: str) -> FloatMatrix:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 2 or array.shape[0] == 0:
        raise ValueError(
            f"{name} must be a 2-D (examples, hidden) array with at least one row, got shape "
            f"{array.shape}"
        )
    return array


def cosine(first: npt.ArrayLike, second: npt.ArrayLike) -> float:
    """Cosine similarity of two directions (signed, in [-1, 1]).

    Raises:
        ValueError: On vectors of different lengths, non-finite values or a zero vector.
    """
    a, b = _direction(first, "first"), _direction(second, "second")
    if a.size != b.size:
        raise ValueError(f"directions differ in length ({a.size} vs {b.size}); same layer?")
    norms = float(np.linalg.norm(a)) * float(np.linalg.norm(b))
    if norms == 0.0:
        raise ValueError("a direction is the zero vector; its cosine is undefined")
    return max(-1.0, min(1.0, float(a @ b) / norms))


def split_half_stability(
    concept_acts: npt.ArrayLike,
    neutral_acts: npt.ArrayLike,
    halves: tuple[npt.ArrayLike, npt.ArrayLike],
    fit: FitFunction,
    neutral_halves: tuple[npt.ArrayLike, npt.ArrayLike] | None = None,
) -> float:
    """Cosine between directions fitted on two disjoint subsets of a concept's examples.

    Args:
        concept_acts: The concept's pooled activations, shape (examples, hidden).
        neutral_acts: Neutral activations, shape (examples, hidden).
        halves: Two disjoint row-index arrays into ``concept_acts`` of equal size n.
        fit: ``fit(concept_rows, neutral_rows) -> direction`` (e.g. the mean difference).
        neutral_halves: Row indices into ``neutral_acts`` for each fit; None uses all neutral
            rows in both (so only the concept examples differ).

    Returns:
        The signed cosine of the two fitted directions.

    Raises:
        ValueError: On overlapping or unequal halves, bad shapes, or a zero direction.
    """
    concept = _matrix(concept_acts, "concept_acts")
    neutral = _matrix(neutral_acts, "neutral_acts")
    first, second = (np.asarray(h, dtype=np.intp).ravel() for h in halves)
    if first.size != second.size or first.size == 0:
        raise ValueError(
            f"halves must be non-empty and equal in size, got {first.size} and {second.size}"
        )
    shared = np.intersect1d(first, second)
    if shared.size:
        raise ValueError(f"halves share rows {shared.tolist()}; use disjoint_halves()")
    if neutral_halves is None:
        n_first = n_second = np.arange(neutral.shape[0])
    else:
        n_first, n_second = (np.asarray(h, dtype=np.intp).ravel() for h in neutral_halves)
    a = fit(concept[first], neutral[n_first])
    b = fit(concept[second], neutral[n_second])
    return cosine(a, b)


def detection_auroc(
    direction: npt.ArrayLike, concept_acts: npt.ArrayLike, neutral_acts: npt.ArrayLike
) -> float:
    """AUROC of the projection on ``direction``: held-out concept (positive) vs neutral rows.

    Args:
        direction: The fitted direction, shape (hidden,); its norm does not matter.
        concept_acts: Held-out concept activations, shape (examples, hidden).
        neutral_acts: Neutral activations (ideally not used in the fit), same hidden size.

    Returns:
        AUROC in [0, 1]; 0.5 is chance, below 0.5 means the direction points away.

    Raises:
        ValueError: On mismatched hidden sizes, empty arrays or non-finite projections.
    """
    d = _direction(direction, "direction")
    concept = _matrix(concept_acts, "concept_acts")
    neutral = _matrix(neutral_acts, "neutral_acts")
    for name, acts in (("concept_acts", concept), ("neutral_acts", neutral)):
        if acts.shape[1] != d.size:
            raise ValueError(
                f"{name} has hidden size {acts.shape[1]} but the direction has {d.size}; use "
                "activations from the direction's layer"
            )
    scores = np.concatenate([concept @ d, neutral @ d])
    labels = np.concatenate([np.ones(concept.shape[0]), np.zeros(neutral.shape[0])])
    value = auroc(labels, scores)
    return value if math.isfinite(value) else math.nan


def nested_halves(
    pool_size: int, n_examples: Iterable[int], resamples: int, seed: int, held_out: int = 0
) -> dict[tuple[int, int], tuple[IntArray, IntArray]]:
    """Pairs of disjoint subsets of size n per (scale, resample), nested within a resample.

    Resample r permutes the available examples (the held-out split of
    :func:`~steering.evaluation.resampling.held_out_split` with the same ``seed``, so no half
    ever holds a held-out example) once; at scale n its halves are the first n of the
    permutation's even positions and the first n of its odd positions. So, as in
    :func:`~steering.evaluation.resampling.example_subsets`, each resample is one learning curve
    (the halves at n are contained in the halves at every larger n) and resamples are
    independent. Unlike :func:`~steering.evaluation.resampling.disjoint_halves` (one pair, a
    fresh draw per n), the curve over n is not blurred by a new draw at every scale.

    Args:
        pool_size: Examples in the pool, >= 1.
        n_examples: The scales, each >= 1, each needing ``2 * n`` available examples.
        resamples: Pairs per scale (R), >= 1.
        seed: Seed (per concept, see :func:`~steering.evaluation.resampling.concept_seed`).
        held_out: Examples held out, as in :func:`~steering.evaluation.resampling.example_subsets`.

    Returns:
        ``{(n, r): (first, second)}``: two sorted, disjoint index arrays of length n.

    Raises:
        ValueError: On a bad count, or a scale with ``2 * n`` above the available examples.
    """
    scales = [int(n) for n in n_examples]
    if resamples < 1 or any(n < 1 for n in scales):
        raise ValueError(
            f"resamples ({resamples}) and every scale ({scales}) must be >= 1 for split-half"
        )
    available, _ = held_out_split(pool_size, held_out, seed)
    too_big = [n for n in scales if 2 * n > available.size]
    if too_big:
        raise ValueError(
            f"split-half at n={too_big} needs 2n examples but only {available.size} are "
            f"available ({pool_size} minus {held_out} held out); use n <= {available.size // 2}"
        )
    rng = np.random.default_rng([int(seed), _NESTED_HALVES_STREAM])
    orders = [rng.permutation(available) for _ in range(int(resamples))]
    return {
        (n, r): (
            np.sort(orders[r][0::2][:n]).astype(np.intp),
            np.sort(orders[r][1::2][:n]).astype(np.intp),
        )
        for n in scales
        for r in range(int(resamples))
    }
