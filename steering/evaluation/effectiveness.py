"""Steering effectiveness (SE) of one group of outputs.

    SE = 0.5 * (rho + r) * coherence_rate

where ``rho`` is the Spearman correlation between the judge's concept delta and the steering
strength, ``r`` is the Pearson correlation between the delta and a reference rating, and
``coherence_rate`` is the fraction of outputs judged coherent.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy.typing as npt

from steering.evaluation.arrays import bool_vector, float_vector
from steering.evaluation.correlation import pearson, spearman


@dataclass(frozen=True)
class SEResult:
    """Steering effectiveness of one (method, n_examples, concept) group.

    Attributes:
        se: ``0.5 * (rho + r) * coherence_rate``.
        rho: Spearman(delta, strength); 0.0 when undefined.
        rho_defined: Whether rho was defined.
        r: Pearson(delta, reference); 0.0 when undefined.
        r_defined: Whether r was defined.
        coherence_rate: Fraction of coherent outputs.
        n: Number of outputs.
        flags: Human-readable problems, e.g. ``"rho_undefined: delta is constant (...)"``.
    """

    se: float
    rho: float
    rho_defined: bool
    r: float
    r_defined: bool
    coherence_rate: float
    n: int
    flags: tuple[str, ...]


def steering_effectiveness(
    delta: npt.ArrayLike,
    strength: npt.ArrayLike,
    reference: npt.ArrayLike,
    coherent: npt.ArrayLike,
) -> SEResult:
    """Compute ``SE = 0.5 * (rho + r) * coherence_rate`` for one group of outputs.

    ``rho = Spearman(delta, strength)``, ``r = Pearson(delta, reference)``,
    ``coherence_rate = mean(coherent)``. Every row counts, including strength-0 baseline rows.
    An undefined correlation counts as 0 and adds a flag such as
    ``"rho_undefined: delta is constant (all values 0)"``.

    Args:
        delta: Judge concept score minus negative-concept score, per output.
        strength: Steering strength, per output.
        reference: Reference rating, per output.
        coherent: Coherence decision, per output (bool or 0/1).

    Returns:
        The SE and its parts.

    Raises:
        ValueError: If the inputs are empty, not 1-D, or of different lengths.
    """
    d = float_vector(delta, "delta")
    s = float_vector(strength, "strength")
    ref = float_vector(reference, "reference")
    c = bool_vector(coherent, "coherent")
    lengths = {"delta": d.size, "strength": s.size, "reference": ref.size, "coherent": c.size}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"inputs must have equal lengths, got {lengths}; pass one row per output")
    if d.size == 0:
        raise ValueError("inputs are empty; SE needs at least one output")
    rho = spearman(d, s, x_name="delta", y_name="strength")
    r = pearson(d, ref, x_name="delta", y_name="reference")
    flags: list[str] = []
    if not rho.defined:
        flags.append(f"rho_undefined: {rho.reason}")
    if not r.defined:
        flags.append(f"r_undefined: {r.reason}")
    coherence_rate = float(c.mean())
    return SEResult(
        se=0.5 * (rho.value + r.value) * coherence_rate,
        rho=rho.value,
        rho_defined=rho.defined,
        r=r.value,
        r_defined=r.defined,
        coherence_rate=coherence_rate,
        n=int(d.size),
        flags=tuple(flags),
    )
