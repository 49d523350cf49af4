"""Judge-free measures of each method's directions per (method, n_examples, resample, concept).

From activations alone (no model, no judge), with the library's own fit
(:func:`~steering.fit.directions.fit_directions`, the code path of the workflow's fit stage):

* ``stability``: split-half stability, the cosine between the directions fitted on two disjoint
  subsets of n examples of every concept and of the neutral set
  (:func:`~steering.evaluation.stability.nested_halves`; the two fits share no example, the
  task manifold is the same). NaN, with the reason in ``stability_note``, when a pool has fewer
  than 2n examples left after the held-out split.
* ``detection_auroc``: the AUROC of the projections of the concept's held-out examples
  (positives) against the held-out neutral examples on the direction fitted on resample r's
  subsets (:func:`~steering.evaluation.resampling.example_subsets`, the subsets the workflow
  fits). NaN, with ``detection_note``, when nothing is held out or a pool is smaller than n.

Every pool (each concept's, and the neutral one under the name ``"neutral"``) is split and
subsampled with its own seed, ``concept_seed(seed, name)``, exactly as the workflow does, so the
held-out examples here are the ones no fit of the workflow ever sees. The neutral rows of a fit
are a subset of n neutral examples (as in the fit stage). Methods that fit jointly
(``contamination``, ``dual``) see every concept's subset at once, so a scale is measured only
when every pool is large enough; the note names the pools that are not.

``random`` is the chance reference, not a fit: seeded random unit directions (a fresh one per
concept, scale, resample and half), so its stability is the cosine of two random directions
(about 0, spread ``1/sqrt(hidden)``) and its detection AUROC is what a direction unrelated to the
concept scores on the same held-out examples (its sign is random, so it averages ~0.5). It
uses no examples, so it is measured at every n, also where the pools are too small for a fit.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from steering.evaluation.judge_free_fit import NEUTRAL, RANDOM, SubsetFitter
from steering.evaluation.resampling import concept_seed, example_subsets, held_out_split
from steering.evaluation.stability import cosine, detection_auroc, nested_halves
from steering.fit.directions import METHODS, DirectionSettings
from steering.fit.validation import check_finite_activations

IntArray = npt.NDArray[np.intp]
COLUMNS: Final[tuple[str, ...]] = (
    "method",
    "n_examples",
    "resample",
    "concept",
    "stability",
    "stability_note",
    "detection_auroc",
    "detection_note",
)


@dataclass(frozen=True)
class _Splits:
    """One pool's held-out rows, fit subsets and split-half pairs (feasible scales only)."""

    size: int
    available: int
    held: IntArray
    subsets: dict[tuple[int, int], IntArray]
    halves: dict[tuple[int, int], tuple[IntArray, IntArray]]


def _splits(
    name: str, size: int, scales: Sequence[int], resamples: int, seed: int, held_out: int
) -> _Splits:
    """The pool's splits, with ``concept_seed(seed, name)`` as the workflow draws them."""
    own = concept_seed(seed, name)
    try:
        available, held = held_out_split(size, held_out, own)
    except ValueError as error:
        raise ValueError(f"pool {name!r}: {error}") from error
    fit_scales = [n for n in scales if n <= available.size]
    half_scales = [n for n in scales if 2 * n <= available.size]
    subsets = example_subsets(size, fit_scales, resamples, own, held_out) if fit_scales else {}
    halves = nested_halves(size, half_scales, resamples, own, held_out) if half_scales else {}
    return _Splits(size, int(available.size), held, subsets, halves)


def _pool(name: str, values: npt.ArrayLike, hidden: int | None) -> np.ndarray:
    """A pool as a finite float64 (examples, hidden) array, refused with the fix named."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 2 or array.shape[0] == 0:
        raise ValueError(
            f"{name} activations must be a 2-D (examples, hidden) array with rows, got shape "
            f"{array.shape}"
        )
    if hidden is not None and array.shape[1] != hidden:
        raise ValueError(
            f"{name} activations have hidden size {array.shape[1]}, the neutral ones {hidden}; "
            "collect every pool at the same layer of the same model"
        )
    check_finite_activations(name, array)
    return array


def _check_settings(
    n_examples: Iterable[int], resamples: int, held_out: int, methods: Sequence[str]
) -> list[int]:
    """The scales, sorted and distinct; a ``ValueError`` naming any bad setting."""
    given = list(n_examples)
    bad = [n for n in given if isinstance(n, bool) or int(n) != n or n < 1]
    if not given or bad:
        raise ValueError(f"n_examples must hold integers >= 1, got {given}")
    scales = sorted({int(n) for n in given})
    if isinstance(resamples, bool) or int(resamples) != resamples or resamples < 1:
        raise ValueError(f"resamples must be an integer >= 1, got {resamples!r}")
    if isinstance(held_out, bool) or int(held_out) != held_out or held_out < 0:
        raise ValueError(f"held_out must be an integer >= 0, got {held_out!r}")
    unknown = [m for m in methods if m not in (*METHODS, RANDOM)]
    if unknown or not methods:
        raise ValueError(
            f"methods {list(methods)}: unknown {unknown}; choose from {[*METHODS, RANDOM]}"
        )
    return scales


def _short_pools(splits: Mapping[str, _Splits], need: int) -> str:
    """The pools with fewer than ``need`` available examples, as text for a note."""
    short = [(name, s) for name, s in splits.items() if s.available < need]
    listed = ", ".join(f"{name} {s.available} of {s.size}" for name, s in short)
    held = sorted({s.size - s.available for _, s in short})
    return f"available after {', '.join(map(str, held))} held out: {listed}"


def judge_free_table(
    concept_pools: Mapping[str, npt.ArrayLike],
    neutral_pool: npt.ArrayLike,
    manifold_acts: npt.ArrayLike | None,
    *,
    n_examples: Iterable[int],
    resamples: int,
    held_out: int,
    seed: int,
    methods: Sequence[str],
    settings: DirectionSettings | None = None,
) -> pd.DataFrame:
    """Split-half stability and held-out detection AUROC per (method, n, resample, concept).

    Args:
        concept_pools: Concept name -> ``(pool lines, hidden)`` activations of the WHOLE pool
            (row i is line i of the concept's file).
        neutral_pool: ``(pool lines, hidden)`` activations of the neutral pool.
        manifold_acts: ``(tokens, hidden)`` task-manifold activations (needed by ``manifold``
            and ``dual``; ``None`` otherwise).
        n_examples: The scales (examples per concept and neutral examples in a fit).
        resamples: Subsets per scale (R), as in the workflow.
        held_out: Examples of each pool that no fit uses (H); detection needs >= 1.
        seed: The experiment's seed; each pool's own is ``concept_seed(seed, name)``.
        methods: Fit methods (see :data:`~steering.fit.directions.METHODS`) and, optionally,
            ``"random"`` (the chance reference, see the module docstring).
        settings: Parameters of the methods' steps; the library defaults when ``None``.

    Returns:
        One row per (method, n_examples, resample, concept) with :data:`COLUMNS`; a note is
        empty where its value was measured and says why where the value is NaN.

    Raises:
        ValueError: On bad settings or arrays, a pool with no more than ``held_out`` examples,
            a concept named ``"neutral"``, or a fit its method refuses (the message names the
            method, scale and resample).
        FloatingPointError: On NaN or infinite activations (naming the pool and rows).
    """
    scales = _check_settings(n_examples, resamples, held_out, methods)
    if not concept_pools or NEUTRAL in concept_pools:
        raise ValueError(
            f"concept_pools {sorted(concept_pools)}: give at least one concept, and the neutral "
            "pool as neutral_pool, not as a concept"
        )
    neutral = _pool(NEUTRAL, neutral_pool, None)
    hidden = neutral.shape[1]
    pools = {c: _pool(f"concept {c!r}", a, hidden) for c, a in concept_pools.items()}
    pools[NEUTRAL] = neutral
    manifold = None if manifold_acts is None else _pool("task-manifold", manifold_acts, hidden)
    splits = {
        name: _splits(name, a.shape[0], scales, int(resamples), seed, int(held_out))
        for name, a in pools.items()
    }
    fit = SubsetFitter(pools, manifold, settings or DirectionSettings(), seed)
    rows: list[dict[str, object]] = []
    for method in methods:
        for n in scales:
            for r in range(int(resamples)):
                rows += _cell(method, n, r, splits, pools, fit)
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _cell(
    method: str,
    n: int,
    r: int,
    splits: Mapping[str, _Splits],
    pools: Mapping[str, np.ndarray],
    fit: SubsetFitter,
) -> list[dict[str, object]]:
    """The rows of one (method, n, resample): a split-half pair of fits and one fit."""
    concepts = [c for c in pools if c != NEUTRAL]
    random = method == RANDOM
    stability = dict.fromkeys(concepts, math.nan)
    stability_note = ""
    if random or all((n, r) in s.halves for s in splits.values()):
        pairs = {k: s.halves[(n, r)] for k, s in splits.items() if not random}
        first = fit(method, {k: pair[0] for k, pair in pairs.items()}, n, r, 1)
        second = fit(method, {k: pair[1] for k, pair in pairs.items()}, n, r, 2)
        stability = {c: cosine(first[c], second[c]) for c in concepts}
    else:
        stability_note = (
            f"split-half at n={n} needs {2 * n} examples per pool; {_short_pools(splits, 2 * n)}"
        )
    detection = dict.fromkeys(concepts, math.nan)
    detection_note = ""
    if any(s.held.size == 0 for s in splits.values()):
        detection_note = "no held-out examples (held_out = 0): nothing unseen to detect"
    elif not random and not all((n, r) in s.subsets for s in splits.values()):
        detection_note = f"a fit at n={n} needs {n} examples per pool; {_short_pools(splits, n)}"
    else:
        subset = {k: s.subsets[(n, r)] for k, s in splits.items() if not random}
        directions = fit(method, subset, n, r, 0)
        held_neutral = pools[NEUTRAL][splits[NEUTRAL].held]
        detection = {
            c: detection_auroc(directions[c], pools[c][splits[c].held], held_neutral)
            for c in concepts
        }
    return [
        {
            "method": method,
            "n_examples": n,
            "resample": r,
            "concept": c,
            "stability": stability[c],
            "stability_note": stability_note,
            "detection_auroc": detection[c],
            "detection_note": detection_note,
        }
        for c in concepts
    ]
