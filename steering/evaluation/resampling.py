"""Seeded example subsets per scale: which of a concept's examples a fit at scale n may use.

A concept's pool of examples (the lines of its file) is split once into a held-out part, which
no subset ever uses (it is for detection AUROC and other checks on unseen examples), and the
available rest. At each scale n, resample r is the first n entries of one seeded random
permutation of the available examples, so the subsets are NESTED within a resample (the subset
of resample r at n is contained in its subset at every larger n: each resample is one learning
curve, as if examples arrived in a random order) and INDEPENDENT across resamples (each has its
own permutation). Everything is deterministic in ``seed``; the held-out split does not depend on
the scales or the number of resamples, so adding a scale or a resample changes no earlier subset.

Use a different seed per concept (:func:`concept_seed`) so that concepts do not share the same
line numbers.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.intp]

_HELD_OUT_STREAM = 0
_SUBSET_STREAM = 1
_HALVES_STREAM = 2


def _check_count(value: object, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def concept_seed(seed: int, concept: str) -> int:
    """A per-concept seed derived from ``seed`` and the concept's name (stable across runs).

    Args:
        seed: The experiment's seed.
        concept: The concept's name.

    Returns:
        ``seed`` combined with the CRC-32 of the name, a non-negative integer.
    """
    return (int(seed) * 1_000_003 + zlib.crc32(concept.encode("utf-8"))) % 2**63


def held_out_split(n_lines: int, held_out: int, seed: int) -> tuple[IntArray, IntArray]:
    """Split a pool of ``n_lines`` examples into available and held-out line indices.

    Args:
        n_lines: Examples in the pool (lines of the concept's file), >= 1.
        held_out: How many to hold out, 0 <= held_out < n_lines.
        seed: Seed; the same seed gives the same split.

    Returns:
        ``(available, held)``: sorted 0-based line indices, disjoint, together ``0..n_lines-1``.

    Raises:
        ValueError: On a non-integer or negative count, or when nothing would be left.
    """
    n_lines = _check_count(n_lines, "n_lines", 1)
    held_out = _check_count(held_out, "held_out", 0)
    if held_out >= n_lines:
        raise ValueError(
            f"held_out={held_out} leaves no examples of the {n_lines} in the pool; hold out "
            f"fewer (at most {n_lines - 1}) or add examples to the concept's file"
        )
    order = np.random.default_rng([int(seed), _HELD_OUT_STREAM]).permutation(n_lines)
    return np.sort(order[held_out:]).astype(np.intp), np.sort(order[:held_out]).astype(np.intp)


def example_subsets(
    pool_size: int,
    n_examples: Iterable[int],
    resamples: int,
    seed: int,
    held_out: int = 0,
) -> dict[tuple[int, int], IntArray]:
    """Seeded random subsets of the pool per (scale, resample), nested within a resample.

    Args:
        pool_size: Examples in the concept's pool, >= 1.
        n_examples: The scales: examples per concept in a fit, each >= 1.
        resamples: Subsets per scale (R), >= 1.
        seed: Seed (per concept, see :func:`concept_seed`).
        held_out: Examples held out of every subset, the split of :func:`held_out_split` with
            the same ``seed``.

    Returns:
        ``{(n, r): indices}`` for every scale ``n`` and ``r in range(resamples)``: ``n`` sorted,
        distinct 0-based line indices, none of them held out. For ``n`` equal to the available
        count every resample is the whole available pool.

    Raises:
        ValueError: On a bad count, or a scale larger than the examples left after holding out.
    """
    resamples = _check_count(resamples, "resamples", 1)
    scales = [_check_count(n, "n_examples entry", 1) for n in n_examples]
    available, _ = held_out_split(pool_size, held_out, seed)
    too_big = [n for n in scales if n > available.size]
    if too_big:
        raise ValueError(
            f"n_examples {too_big} exceed the {available.size} examples available "
            f"({pool_size} in the pool minus {held_out} held out); lower n_examples or "
            "held_out, or add examples to the concept's file"
        )
    rng = np.random.default_rng([int(seed), _SUBSET_STREAM])
    orders = [rng.permutation(available) for _ in range(resamples)]
    return {
        (n, r): np.sort(orders[r][:n]).astype(np.intp) for n in scales for r in range(resamples)
    }


def disjoint_halves(
    pool_size: int, n: int, seed: int, held_out: int = 0
) -> tuple[IntArray, IntArray]:
    """Two disjoint random subsets of size ``n`` from the available pool (for split-half).

    Args:
        pool_size: Examples in the concept's pool.
        n: Size of each subset, >= 1; needs ``2 * n`` available examples.
        seed: Seed (per concept); the held-out split is that of :func:`held_out_split`.
        held_out: Examples held out, as in :func:`example_subsets`.

    Returns:
        Two sorted index arrays of length ``n`` with no index in common and none held out.

    Raises:
        ValueError: When fewer than ``2 * n`` examples are available.
    """
    n = _check_count(n, "n", 1)
    available, _ = held_out_split(pool_size, held_out, seed)
    if 2 * n > available.size:
        raise ValueError(
            f"split-half at n={n} needs {2 * n} examples but only {available.size} are "
            f"available ({pool_size} minus {held_out} held out); use n <= {available.size // 2}"
        )
    order = np.random.default_rng([int(seed), _HALVES_STREAM, n]).permutation(available)
    return np.sort(order[:n]).astype(np.intp), np.sort(order[n : 2 * n]).astype(np.intp)
