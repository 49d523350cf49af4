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

ZERO_TOLERANCE = 1e-3  # |mean difference| below this x the mean activation norm is "zero"
LOW_RETAINED = 0.2  # a step that keeps less of the raw norm than this is reported


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
    step_retained: dict[str, dict[str, float]] = field(default_factory=dict)  # step -> concept
    signal_to_noise: dict[str, float] = field(default_factory=dict)

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
        """One line per step whose SVD needed a fallback, per concept whose vector a step cut
        below :data:`LOW_RETAINED` of its raw norm, and per concept whose difference of means
        is no larger than its sampling noise."""
        lines = [
            f"{name} SVD fell back to {s.svd_method}: {list(s.fallbacks)}"
            for name, s in self.subspaces.items()
            if s.fallbacks
        ]
        for step, kept in self.step_retained.items():
            lines += [
                f"concept {concept!r}: after the {step} step the {self.method} vector keeps "
                f"{share:.1%} of the raw norm (< {LOW_RETAINED:.0%}); the step removes most of "
                "the concept, so the vector may not steer. Compare with method 'diffmean', or "
                "lower the contamination rank / raise the manifold energy."
                for concept, share in kept.items()
                if share < LOW_RETAINED
            ]
        lines += [
            f"concept {concept!r}: the difference of means is {snr:.2f} x its sampling noise "
            "(<= 1: indistinguishable from two random draws of the same texts); give more or "
            "more distinct examples."
            for concept, snr in self.signal_to_noise.items()
            if snr <= 1.0
        ]
        return lines

    def unit_directions(self) -> dict[str, np.ndarray]:
        """The final vectors scaled to unit norm, as float32.

        Raises:
            ValueError: A vector is zero (or not finite) after the steps.
        """
        units = {}
        for name, vector in self.final.items():
            norm = float(np.linalg.norm(vector))
            if not np.isfinite(norm) or norm <= 1e-9 * np.linalg.norm(self.raw[name]):
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
    neutral = np.asarray(neutral_acts, dtype=np.float64)
    neutral_mean = neutral.mean(axis=0)
    differences = {
        name: np.asarray(acts, dtype=np.float64) - neutral_mean
        for name, acts in concept_acts.items()
    }
    raw = {name: d.mean(axis=0) for name, d in differences.items()}
    check_not_degenerate(raw, concept_acts, neutral)
    inputs = StepInputs(differences, manifold_acts, settings or DirectionSettings())
    final, subspaces, step_retained = dict(raw), {}, {}
    for step in steps:
        final, subspaces[step.name] = step.apply(final, inputs)
        step_retained[step.name] = {
            name: float(np.linalg.norm(final[name]) / np.linalg.norm(v)) for name, v in raw.items()
        }
    return Directions(
        method,
        raw,
        final,
        subspaces,
        {name: int(d.shape[0]) for name, d in differences.items()},
        step_retained,
        {name: signal_to_noise(concept_acts[name], neutral) for name in raw},
    )


def signal_to_noise(concept_acts: np.ndarray, neutral_acts: np.ndarray) -> float:
    """``|mean(concept) - mean(neutral)|`` over its standard error.

    The standard error is ``sqrt(tr(cov_c) / n_c + tr(cov_n) / n_n)``: the expected norm of the
    difference of means when both sets are drawn from one distribution. A ratio near 1 (or
    below) means the examples do not differ from the neutral ones more than two random draws of
    the same texts would; real concepts give ~2 with 24 examples on gemma-3-270m. ``inf`` when a
    set has one row (no variance to estimate).
    """
    c = np.asarray(concept_acts, dtype=np.float64)
    n = np.asarray(neutral_acts, dtype=np.float64)
    if len(c) < 2 or len(n) < 2:
        return float("inf")
    se = np.sqrt(c.var(axis=0, ddof=1).sum() / len(c) + n.var(axis=0, ddof=1).sum() / len(n))
    diff = float(np.linalg.norm(c.mean(axis=0) - n.mean(axis=0)))
    return diff / se if se > 0 else (float("inf") if diff > 0 else 0.0)


def check_not_degenerate(
    raw: Mapping[str, np.ndarray], concept_acts: Mapping[str, np.ndarray], neutral: np.ndarray
) -> None:
    """Refuse a concept whose difference of means is zero relative to the activations' norm.

    The bound is :data:`ZERO_TOLERANCE` (1e-3) x the mean norm of the concept's and the neutral
    activations: far above float32 rounding of activations collected in different batches
    (~1e-6 relative) and far below any real concept (~0.1 on gemma-3-270m at layer 12).

    Raises:
        ValueError: Naming the concept; typically its examples are the neutral examples.
    """
    for name, vector in raw.items():
        acts = np.asarray(concept_acts[name], dtype=np.float64)
        scale = np.linalg.norm(np.concatenate([acts, neutral]), axis=1).mean()
        norm = float(np.linalg.norm(vector))
        if not norm > ZERO_TOLERANCE * scale:
            raise ValueError(
                f"Concept {name!r}: its mean activation equals the neutral mean "
                f"(|difference| = {norm:.3g}, mean activation norm {scale:.3g}, bound "
                f"{ZERO_TOLERANCE:g} x that); are its examples the neutral examples? Give "
                "examples that are about the concept."
            )
