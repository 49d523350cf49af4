"""Fit one method at one n on every resample's example subset, calibrating strength 1.0 once.

Resample ``r`` at scale ``n`` uses the seeded subset of
:func:`steering.evaluation.resampling.example_subsets` for each concept and for the neutral
set (each with its own :func:`~steering.evaluation.resampling.concept_seed`): the first n of
one seeded order of the pool per resample, so the subsets are nested within a resample whatever
scales a job asks for (adding a scale changes no other job's subsets). No subset contains a
held-out example. The calibration search (a batched generation, the costly part
of a fit on a CPU) runs on resample 0 only; its multiple of ``|v|`` per concept is applied to
every other resample's own ``|v|`` (see :func:`steering.fit.calibration.reuse_calibration`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from steering.evaluation.resampling import IntArray, concept_seed, example_subsets
from steering.fit.report import FitReport
from steering.fit.steerer import ManifoldSteerer
from steering.fit.vectors import SteeringVector

NEUTRAL = "neutral"
CALIBRATION_SCHEME = (
    "calibration search on resample 0; its multiple of |v| per concept applied to every "
    "other resample's own |v|"
)


def resample_subsets(
    pool_sizes: Mapping[str, int],
    n_examples: Sequence[int],
    resamples: int,
    seed: int,
    held_out: int,
) -> dict[str, dict[tuple[int, int], IntArray]]:
    """Per example set (concepts and ``"neutral"``), its subsets per ``(n, resample)``.

    Args:
        pool_sizes: Example-set name -> examples in its pool (lines of its file).
        n_examples: The scales wanted (a subset does not depend on the other scales).
        resamples: Subsets per scale.
        seed: The experiment's seed (combined with each set's name).
        held_out: Examples per set that no subset uses.

    Raises:
        ValueError: As :func:`~steering.evaluation.resampling.example_subsets` (a pool too
            small), naming the set.
    """
    out = {}
    for name, size in pool_sizes.items():
        try:
            out[name] = example_subsets(
                size, n_examples, resamples, concept_seed(seed, name), held_out
            )
        except ValueError as error:
            raise ValueError(f"examples of {name!r}: {error}") from error
    return out


@dataclass(frozen=True)
class ResampledFit:
    """The vectors of every resample of one (method, n), and what each fit did.

    Attributes:
        vectors: One ``{concept: vector}`` per resample.
        reports: One fit report per resample.
        subsets: Example-set name -> the 0-based line indices each resample used.
    """

    vectors: list[dict[str, SteeringVector]]
    reports: list[FitReport]
    subsets: dict[str, list[list[int]]]


def fit_resamples(
    steerer: ManifoldSteerer,
    pools: Mapping[str, np.ndarray],
    neutral: np.ndarray,
    manifold: np.ndarray | None,
    task_prompts: Sequence[str],
    *,
    n: int,
    subsets: Mapping[str, Mapping[tuple[int, int], IntArray]],
    resamples: int,
    examples_sha256: Mapping[str, str] | None = None,
) -> ResampledFit:
    """Fit ``steerer``'s method at ``n`` on each resample's subset of the pools.

    Args:
        steerer: The steerer (its method, settings and calibration); its ``vectors`` and
            ``metadata`` are left at the last resample's.
        pools: Concept -> activations of its whole pool (row i = line i of its file).
        neutral: Activations of the whole neutral pool.
        manifold: Task-manifold activations (None when the method needs none).
        task_prompts: Calibration prompts (used on resample 0 only).
        n: Examples per concept.
        subsets: :func:`resample_subsets` for these pools (with ``n`` among its scales).
        resamples: How many resamples to fit (0..resamples-1).
        examples_sha256: Provenance of the activations, stored in the metadata.

    Returns:
        The vectors, reports and line indices of every resample.
    """
    names = [*pools, NEUTRAL]
    picks = {name: [subsets[name][(n, r)] for r in range(resamples)] for name in names}
    vectors, reports = [], []
    first: dict[str, Any] | None = None
    for r in range(resamples):
        report = steerer.fit_from_activations(
            {c: pools[c][picks[c][r]] for c in pools},
            neutral[picks[NEUTRAL][r]],
            manifold,
            task_prompts,
            examples_sha256=examples_sha256,
            n_examples=n,
            reuse_calibration=first,
            reuse_source="resample 0",
        )
        first = first or report.calibration
        vectors.append(dict(steerer.vectors))
        reports.append(report)
    lines = {name: [idx.tolist() for idx in picks[name]] for name in names}
    return ResampledFit(vectors, reports, lines)


def resampled_metadata(
    fit: ResampledFit,
    base: Mapping[str, Any],
    *,
    seed: int,
    held_out: int,
) -> dict[str, Any]:
    """The vectors' JSON metadata: ``base`` (a steerer's) plus the resampling's record.

    ``fit`` is resample 0's report (its cost includes the calibration search, as a single fit's
    did); ``fits`` has every resample's; ``subsets`` the line indices each resample used.
    """
    return {
        **dict(base),
        "fit": fit.reports[0].as_dict(),
        "fits": [report.as_dict() for report in fit.reports],
        "resampling": {
            "resamples": len(fit.vectors),
            "seed": seed,
            "held_out_examples": held_out,
            "calibration": CALIBRATION_SCHEME,
        },
        "subsets": fit.subsets,
    }


def random_controls(
    primary: Sequence[Mapping[str, SteeringVector]], seed: int
) -> list[dict[str, SteeringVector]]:
    """Random unit directions with each resample's primary norms: the chance-level control.

    Resample ``r``'s random directions are drawn from ``numpy.random.default_rng([seed, r])``
    and take the norms (``full_strength_norm``, ``raw_norm``) of ``primary[r]``.
    """
    out = []
    for r, vectors in enumerate(primary):
        rng = np.random.default_rng([seed, r])
        control = {}
        for name in sorted(vectors):
            direction = rng.standard_normal(vectors[name].direction.shape[0])
            control[name] = replace(
                vectors[name],
                direction=(direction / np.linalg.norm(direction)).astype(np.float32),
                method="random",
                calibration={"note": f"random direction, seed [{seed}, {r}], primary's norms"},
            )
        out.append(control)
    return out
