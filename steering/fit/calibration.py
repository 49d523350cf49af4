"""Give strength 1.0 a calibrated meaning: the largest coherent multiple of the raw vector.

Strength ``s`` adds ``s * full_strength_norm * direction``. Residual norms are dominated by a
few outlier dimensions, so "a fraction of the mean residual norm" means different things across
layers; the raw concept vector's norm ``|v|`` is a steadier unit (fluency breaks near ``2 |v|``
at every layer of gemma-3-270m). Calibration tries multiples of ``|v|`` in increasing order,
generating short continuations of a few task prompts at ``+m`` and ``-m`` in one batch, and
keeps the largest multiple whose continuations stay coherent by the configured rule."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from transformers import PreTrainedModel
from transformers.tokenization_utils_base import PreTrainedTokenizerBase

from steering.core.generation import generate, row_vectors
from steering.evaluation.coherence import coherence_flags, distinct_n
from steering.evaluation.perplexity import continuation_perplexity

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CalibrationSettings:
    """How strength 1.0 is chosen.

    ``mode="search"`` runs the search below; ``mode="fixed"`` sets strength 1.0 to
    ``fixed_multiple * |v|`` without generating anything.
    """

    mode: str = "search"
    multiples: tuple[float, ...] = (0.5, 1.0, 1.5, 2.0)
    fixed_multiple: float = 1.0
    n_prompts: int = 3
    max_new_tokens: int = 16
    rule: str = "robust"
    ratio: float = 3.0
    distinct_ratio: float = 0.5
    first_k: int = 10
    min_coherent: float = 0.75

    def __post_init__(self) -> None:
        if self.mode not in ("search", "fixed"):
            raise ValueError(f"calibration mode={self.mode!r}; use 'search' or 'fixed'.")
        if self.mode == "search" and (not self.multiples or min(self.multiples) <= 0):
            raise ValueError(f"calibration multiples {self.multiples} must be positive numbers.")
        if self.fixed_multiple <= 0:
            raise ValueError(f"calibration fixed_multiple={self.fixed_multiple} must be > 0.")


@dataclass(frozen=True)
class Calibration:
    """The chosen multiple of ``|v|`` for strength 1.0, and the evidence."""

    multiple: float
    full_strength_norm: float  # the norm strength 1.0 adds: multiple * |v|
    coherent_share: dict[float, float] = field(default_factory=dict)
    degraded: bool = False
    note: str = ""

    def as_dict(self) -> dict[str, object]:
        """JSON-friendly form stored with the vectors."""
        return {
            "multiple": self.multiple,
            "full_strength_norm": self.full_strength_norm,
            "degraded": self.degraded,
            "note": self.note,
            "coherent_share": {str(k): v for k, v in self.coherent_share.items()},
        }


def calibrate_norm(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    *,
    layer: int,
    direction: np.ndarray,
    raw_norm: float,
    prompts: Sequence[str],
    settings: CalibrationSettings,
    batch_size: int = 32,
    layer_template: str | None = None,
) -> Calibration:
    """Find the norm that strength 1.0 adds along the unit ``direction`` (one concept).

    Returns a :class:`Calibration`; when even the smallest multiple is incoherent, it uses that
    multiple and sets ``degraded`` with a note (also logged), never silently.
    """
    return calibrate_norms(
        model,
        tokenizer,
        layer=layer,
        directions={"_": direction},
        raw_norms={"_": raw_norm},
        prompts=prompts,
        settings=settings,
        batch_size=batch_size,
        layer_template=layer_template,
    )["_"]


def reuse_calibration(
    calibrated: Mapping[str, Mapping[str, Any]], raw_norms: Mapping[str, float], source: str
) -> dict[str, Calibration]:
    """Apply each concept's calibrated multiple to another fit's raw norms, generating nothing.

    The search costs a batched generation per fit and does not depend on which examples were
    used, so the workflow runs it on a job's first resample and reuses its multiples.

    Args:
        calibrated: Concept -> a :meth:`Calibration.as_dict` (its ``multiple`` and
            ``degraded`` are reused).
        raw_norms: Concept -> this fit's raw norm ``|v|``.
        source: Where the multiples were calibrated, for the note (e.g. ``"resample 0"``).

    Raises:
        ValueError: When the concepts differ.
    """
    if set(calibrated) != set(raw_norms):
        raise ValueError(
            f"calibrated concepts {sorted(calibrated)} differ from the fit's {sorted(raw_norms)}"
        )
    out = {}
    for name, info in calibrated.items():
        multiple = float(info["multiple"])
        note = f"multiple {multiple:g} calibrated on {source}, applied to this fit's |v|"
        out[name] = Calibration(
            multiple, multiple * raw_norms[name], degraded=bool(info["degraded"]), note=note
        )
    return out


def calibrate_norms(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    *,
    layer: int,
    directions: Mapping[str, np.ndarray],
    raw_norms: Mapping[str, float],
    prompts: Sequence[str],
    settings: CalibrationSettings,
    batch_size: int = 32,
    layer_template: str | None = None,
) -> dict[str, Calibration]:
    """Calibrate every concept at once: one batched generation (per-row vectors) shares the
    unsteered rows and fills the batch, then one perplexity pass."""
    if settings.mode == "fixed":
        return {
            name: Calibration(
                settings.fixed_multiple,
                settings.fixed_multiple * raw_norms[name],
                note="fixed multiple from config",
            )
            for name in directions
        }
    chosen = list(prompts[: settings.n_prompts])
    if not chosen:
        raise ValueError("Strength calibration needs at least one task prompt.")
    multiples = sorted(settings.multiples)
    names = list(directions)
    rows: list[tuple[str | None, int, float]] = [(None, p, 0.0) for p in range(len(chosen))]
    rows += [
        (n, p, sign * m)
        for n in names
        for m in multiples
        for sign in (1.0, -1.0)
        for p in range(len(chosen))
    ]
    at_one_norm = {  # multiple 1: the raw vector's norm along the direction
        n: np.asarray(directions[n], dtype=np.float32) * np.float32(raw_norms[n]) for n in names
    }
    outputs = generate(
        model,
        tokenizer,
        [chosen[p] for _, p, _ in rows],
        layer=layer,
        direction=row_vectors(at_one_norm, [n for n, _, _ in rows]),
        strengths=[s for _, _, s in rows],
        max_new_tokens=settings.max_new_tokens,
        batch_size=batch_size,
        layer_template=layer_template,
        progress=False,
    )
    ppl = continuation_perplexity(
        model,
        [o.prompt_ids for o in outputs],
        [o.token_ids for o in outputs],
        pad_token_id=tokenizer.pad_token_id,
        first_k=settings.first_k,
        progress=False,
    )
    table = pd.DataFrame(
        {
            "concept": [n for n, _, _ in rows],
            "prompt": [p for _, p, _ in rows],
            "multiple": [abs(s) for _, _, s in rows],
            "perplexity": [r.perplexity for r in ppl],
            "ppl_first_k": [r.ppl_first_k for r in ppl],
            "distinct2": [distinct_n(o.text, 2) for o in outputs],
        }
    )
    base = table[table.concept.isna()].set_index("prompt")
    for column in ("perplexity", "ppl_first_k", "distinct2"):
        table[f"baseline_{column}"] = table.prompt.map(base[column])
    table["coherent"] = coherence_flags(
        table, rule=settings.rule, ratio=settings.ratio, distinct_ratio=settings.distinct_ratio
    )
    return {
        name: _choose(table[table.concept == name], multiples, raw_norms[name], settings)
        for name in names
    }


def _choose(
    table: pd.DataFrame, multiples: list[float], raw_norm: float, settings: CalibrationSettings
) -> Calibration:
    shares = {m: float(table[table.multiple == m].coherent.mean()) for m in multiples}
    passing = None
    for m in multiples:  # ascending: stop at the first multiple that breaks coherence
        if shares[m] < settings.min_coherent:
            break
        passing = m
    if passing is None:
        note = (
            f"no multiple kept {settings.min_coherent:.0%} of calibration continuations "
            f"coherent (shares {shares}); using the smallest, {multiples[0]} |v|"
        )
        log.warning("Strength calibration degraded: %s", note)
        return Calibration(multiples[0], multiples[0] * raw_norm, shares, True, note)
    return Calibration(
        passing,
        passing * raw_norm,
        shares,
        note=f"largest multiple with >= {settings.min_coherent:.0%} coherent",
    )
