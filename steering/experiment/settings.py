"""Typed views of the validated config, one per section a stage reads.

These dataclasses have no defaults of their own: the schema (workflow/schemas/config.schema.yaml)
is the one home of every default, filled in by :func:`steering.experiment.config.validate_config`.
Building one from a section with a missing or unknown key is a ``TypeError``, so the schema and
these fields cannot drift apart unnoticed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, TypeVar

T = TypeVar("T")


def from_section(cls: type[T], section: Mapping[str, Any]) -> T:
    """``cls`` built from exactly its fields' keys of a validated config section."""
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    return cls(**{k: v for k, v in section.items() if k in names})


@dataclass(frozen=True)
class ModelSettings:
    """``model:``: which model is steered, at which layer."""

    name: str
    revision: str | None
    dtype: str
    layer: int
    layer_template: str | None
    trust_remote_code: bool


@dataclass(frozen=True)
class GenerationSettings:
    """``generation:`` plus the prompt-length policy of ``data:``."""

    max_new_tokens: int
    batch_size: int
    do_sample: bool
    temperature: float
    top_p: float
    max_prompt_tokens: int
    on_long: str

    def generate_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of :func:`steering.core.generation.generate`."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class FitSettings:
    """``fit:`` without ``methods`` (a stage fits one method)."""

    pooling: str
    batch_size: int
    contamination_rank: int | None
    contamination_energy: float
    manifold_energy: float
    manifold_max_rank: int | None
    manifold_tokens: int
    min_manifold_samples: int


@dataclass(frozen=True)
class CoherenceSettings:
    """``coherence:``: when an output counts as coherent."""

    rule: str
    ratio: float
    distinct_ratio: float
    first_k: int
    dtype: str
