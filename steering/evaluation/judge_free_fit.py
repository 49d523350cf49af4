"""Fit one method's unit directions on chosen rows of every pool (for the judge-free measures).

The fit is the library's own, :func:`~steering.fit.directions.fit_directions`; ``random`` gives
seeded random unit directions instead (the chance reference of
:mod:`steering.evaluation.judge_free`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Final

import numpy as np
import numpy.typing as npt

from steering.evaluation.resampling import concept_seed
from steering.fit.directions import (
    METHOD_STEPS,
    PROJECT_ONTO_MANIFOLD,
    DirectionSettings,
    StepInputs,
    fit_directions,
    method_steps,
)
from steering.fit.subspaces import Subspace

IntArray = npt.NDArray[np.intp]
RANDOM: Final[str] = "random"
NEUTRAL: Final[str] = "neutral"
_RANDOM_STREAM = 4  # resampling.py and stability.py use streams 0-3 of a pool's seed


class SubsetFitter:
    """Unit directions of one method on chosen rows of every pool.

    The fit is :func:`~steering.fit.directions.fit_directions`. The task manifold does not
    depend on the examples, so it is fitted once (by the library's own manifold step) and the
    method's projection onto it is applied to the fit of the method without that last step
    (``dual`` = ``contamination`` then the projection, ``manifold`` = ``diffmean`` then the
    projection): the same vectors as fitting the method itself (tested), without an SVD of the
    manifold per fit.

    Args:
        pools: Name -> ``(pool lines, hidden)`` float64 activations: the concepts, and the
            neutral pool under ``"neutral"``.
        manifold: ``(tokens, hidden)`` task-manifold activations, or ``None``.
        settings: Parameters of the methods' steps.
        seed: The experiment's seed (for the random reference's directions).
    """

    def __init__(
        self,
        pools: Mapping[str, np.ndarray],
        manifold: np.ndarray | None,
        settings: DirectionSettings,
        seed: int,
    ) -> None:
        self.pools, self.manifold, self.settings, self.seed = pools, manifold, settings, seed
        self._manifold: Subspace | None = None

    def _split(self, method: str) -> tuple[str, bool]:
        """The method to fit and whether to project onto the cached manifold afterwards."""
        steps = method_steps(method)
        if not steps or steps[-1] is not PROJECT_ONTO_MANIFOLD:
            return method, False
        base = {v: k for k, v in METHOD_STEPS.items()}.get(steps[:-1])
        if base is None or PROJECT_ONTO_MANIFOLD in steps[:-1]:
            return method, False
        if self._manifold is None:
            inputs = StepInputs({}, self.manifold, self.settings)
            self._manifold = PROJECT_ONTO_MANIFOLD.fit(inputs)
        return base, True

    def __call__(
        self, method: str, rows: Mapping[str, IntArray], n: int, r: int, draw: int
    ) -> dict[str, np.ndarray]:
        """``concept -> unit direction`` fitted on ``rows`` (the neutral ones under
        ``"neutral"``); ``draw`` tells the random reference's directions apart."""
        concepts = [c for c in self.pools if c != NEUTRAL]
        if method == RANDOM:
            return {c: self._random(c, n, r, draw) for c in concepts}
        try:
            base, project = self._split(method)
            fitted = fit_directions(
                {c: self.pools[c][rows[c]] for c in concepts},
                self.pools[NEUTRAL][rows[NEUTRAL]],
                self.manifold,
                method=base,
                settings=self.settings,
            )
            if project and self._manifold is not None:
                final = {c: self._manifold.project_onto(v) for c, v in fitted.final.items()}
                fitted = replace(fitted, method=method, final=final)
            return {c: v.astype(np.float64) for c, v in fitted.unit_directions().items()}
        except ValueError as error:
            raise ValueError(
                f"judge-free fit of method {method!r} at n={n}, resample {r}: {error}"
            ) from error

    def _random(self, concept: str, n: int, r: int, draw: int) -> np.ndarray:
        """A seeded random unit direction, one per concept, scale, resample and draw."""
        key = [concept_seed(self.seed, concept), _RANDOM_STREAM, n, r, draw]
        vector = np.random.default_rng(key).standard_normal(self.pools[NEUTRAL].shape[1])
        return np.asarray(vector / np.linalg.norm(vector), dtype=np.float64)
