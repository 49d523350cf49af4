"""Steering directions from activation arrays (no model needed); the methods as named steps.

Every method starts from the difference of means, ``mean(concept) - mean(neutral)``, and
applies a tuple of steps to it (one switch, for ablations):

* ``diffmean``: no step.
* ``contamination``: remove the directions that all concepts share.
* ``manifold``: project onto the task manifold.
* ``dual``: contamination removal, then projection onto the task manifold.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from steering.fit.subspaces import Subspace, contamination_subspace, task_manifold


@dataclass(frozen=True)
class DirectionSettings:
    """Parameters of the steps (see :mod:`steering.fit.subspaces`)."""

    contamination_rank: int | None = 1
    contamination_energy: float = 0.5
    manifold_energy: float = 0.99
    manifold_max_rank: int | None = None
    min_manifold_samples: int = 8


@dataclass(frozen=True)
class StepInputs:
    """What a step may fit its subspace on."""

    differences: Mapping[str, np.ndarray]  # per concept, (n_examples, hidden) float64
    manifold_acts: np.ndarray | None  # (tokens, hidden) task-manifold activations
    settings: DirectionSettings


@dataclass(frozen=True)
class Step:
    """One step of a method: fit a subspace, then keep (``keep``) or remove its component."""

    name: str
    fit: Callable[[StepInputs], Subspace]
    keep: bool

    def apply(
        self, vectors: Mapping[str, np.ndarray], inputs: StepInputs
    ) -> tuple[dict[str, np.ndarray], Subspace]:
        """The vectors after this step, and the subspace it used."""
        subspace = self.fit(inputs)
        project = subspace.project_onto if self.keep else subspace.project_out
        return {name: project(vector) for name, vector in vectors.items()}, subspace


def _contamination(inputs: StepInputs) -> Subspace:
    """The directions shared by every concept's differences."""
    if len(inputs.differences) < 2:
        raise ValueError(
            "Contamination removal needs at least 2 concepts to find shared directions, got "
            f"{sorted(inputs.differences)}; use method 'diffmean' or 'manifold'."
        )
    s = inputs.settings
    return contamination_subspace(
        inputs.differences, rank=s.contamination_rank, energy=s.contamination_energy
    )


def _manifold(inputs: StepInputs) -> Subspace:
    """The subspace the unsteered model visits on the task prompts."""
    if inputs.manifold_acts is None:
        raise ValueError(
            "Projection onto the task manifold needs task-manifold activations; pass "
            "manifold_acts or use method 'diffmean' or 'contamination'."
        )
    s = inputs.settings
    return task_manifold(
        inputs.manifold_acts,
        energy=s.manifold_energy,
        max_rank=s.manifold_max_rank,
        min_samples=s.min_manifold_samples,
    )


REMOVE_CONTAMINATION = Step("contamination", _contamination, keep=False)
PROJECT_ONTO_MANIFOLD = Step("manifold", _manifold, keep=True)
METHOD_STEPS: Mapping[str, tuple[Step, ...]] = {
    "diffmean": (),
    "contamination": (REMOVE_CONTAMINATION,),
    "manifold": (PROJECT_ONTO_MANIFOLD,),
    "dual": (REMOVE_CONTAMINATION, PROJECT_ONTO_MANIFOLD),
}
METHODS = tuple(METHOD_STEPS)


def method_steps(method: str) -> tuple[Step, ...]:
    """The steps of ``method``, refusing an unknown name with the known ones."""
    if method not in METHOD_STEPS:
        raise ValueError(f"Unknown method {method!r}; choose one of {METHODS}.")
    return METHOD_STEPS[method]


def needs_manifold(method: str) -> bool:
    """Whether ``method`` needs task-manifold activations."""
    return PROJECT_ONTO_MANIFOLD in method_steps(method)


def pairwise_cosines(vectors: Mapping[str, np.ndarray]) -> dict[str, float]:
    """Cosine of every pair of vectors, keyed ``"a|b"`` with ``a < b`` (0 for a zero vector)."""
    names = sorted(vectors)
    out = {}
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            va, vb = vectors[a], vectors[b]
            denom = np.linalg.norm(va) * np.linalg.norm(vb)
            out[f"{a}|{b}"] = float(va @ vb / denom) if denom > 0 else 0.0
    return out


@dataclass(frozen=True)
class Directions:
    """The result of :func:`fit_directions`: raw and final vectors, and the subspaces used."""

    method: str
    raw: dict[str, np.ndarray]  # difference of means per concept, float64
    final: dict[str, np.ndarray]  # after the method's steps, float64
    subspaces: dict[str, Subspace] = field(default_factory=dict)  # step name -> subspace
    n_examples: dict[str, int] = field(default_factory=dict)

    @property
    def raw_norms(self) -> dict[str, float]:
        """Norm of each raw difference-of-means vector."""
        return {name: float(np.linalg.norm(v)) for name, v in self.raw.items()}

    @property
    def retained_norm(self) -> dict[str, float]:
        """Share of each raw vector's norm that the steps kept."""
        return {
            name: float(np.linalg.norm(self.final[name]) / np.linalg.norm(v))
            for name, v in self.raw.items()
        }

    @property
    def warnings(self) -> list[str]:
        """One line per step whose SVD needed a fallback."""
        return [
            f"{name} SVD fell back to {s.svd_method}: {list(s.fallbacks)}"
            for name, s in self.subspaces.items()
            if s.fallbacks
        ]

    def unit_directions(self) -> dict[str, np.ndarray]:
        """The final vectors scaled to unit norm, as float32.

        Raises:
            ValueError: A vector is zero (or not finite) after the steps.
        """
        units = {}
        for name, vector in self.final.items():
            norm = float(np.linalg.norm(vector))
            if norm == 0 or not np.isfinite(norm):
                raise ValueError(
                    f"The {self.method} vector of concept {name!r} is zero after projection; "
                    "lower the contamination rank or raise the manifold energy."
                )
            units[name] = (vector / norm).astype(np.float32)
        return units


def fit_directions(
    concept_acts: Mapping[str, np.ndarray],
    neutral_acts: np.ndarray,
    manifold_acts: np.ndarray | None = None,
    *,
    method: str = "dual",
    settings: DirectionSettings | None = None,
) -> Directions:
    """Fit one steering vector per concept from pooled activations, in float64.

    Args:
        concept_acts: Concept name -> ``(n_examples, hidden)`` activations of its examples.
        neutral_acts: ``(n, hidden)`` activations of concept-free examples.
        manifold_acts: ``(tokens, hidden)`` task-manifold activations (methods ``manifold``
            and ``dual`` only).
        method: One of :data:`METHODS`.
        settings: Parameters of the steps; defaults when ``None``.

    Raises:
        ValueError: Unknown method, no concepts, or inputs the method's steps refuse.
    """
    steps = method_steps(method)
    if not concept_acts:
        raise ValueError("No concepts to fit; pass at least one concept's activations.")
    neutral_mean = np.asarray(neutral_acts, dtype=np.float64).mean(axis=0)
    differences = {
        name: np.asarray(acts, dtype=np.float64) - neutral_mean
        for name, acts in concept_acts.items()
    }
    raw = {name: d.mean(axis=0) for name, d in differences.items()}
    inputs = StepInputs(differences, manifold_acts, settings or DirectionSettings())
    final, subspaces = dict(raw), {}
    for step in steps:
        final, subspaces[step.name] = step.apply(final, inputs)
    return Directions(
        method,
        raw,
        final,
        subspaces,
        {name: int(d.shape[0]) for name, d in differences.items()},
    )
