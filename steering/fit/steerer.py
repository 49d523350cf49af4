"""``ManifoldSteerer``: fit dual-subspace steering vectors from a few examples and steer.

Methods (one switch, for ablations):

* ``diffmean``: mean(concept) - mean(neutral).
* ``contamination``: diffmean with the directions that all concepts share projected out.
* ``manifold``: diffmean projected onto the task manifold.
* ``dual``: contamination removal, then projection onto the task manifold.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import PreTrainedModel
from transformers.tokenization_utils_base import PreTrainedTokenizerBase

from steering.core.activations import collect_activations, collect_token_activations
from steering.core.generation import Generation, generate
from steering.core.layers import num_layers, resolve_layer
from steering.core.memory import track_peak_memory
from steering.core.models import model_identity
from steering.fit.calibration import CalibrationSettings, calibrate_scales
from steering.fit.subspaces import Subspace, contamination_subspace, task_manifold
from steering.fit.vectors import SteeringVector, load_vectors, save_vectors
from steering.provenance import hash_texts, library_version

log = logging.getLogger(__name__)

METHODS = ("diffmean", "contamination", "manifold", "dual")


def _cosines(vectors: Mapping[str, np.ndarray]) -> dict[str, float]:
    names = sorted(vectors)
    out = {}
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            va, vb = vectors[a], vectors[b]
            denom = np.linalg.norm(va) * np.linalg.norm(vb)
            out[f"{a}|{b}"] = float(va @ vb / denom) if denom > 0 else 0.0
    return out


def validate_examples(examples: Mapping[str, Sequence[str]], what: str = "examples") -> None:
    """Refuse empty, whitespace-only or duplicated examples, naming the concept and line."""
    if not examples:
        raise ValueError(f"No {what} given; pass at least one concept with examples.")
    for concept, texts in examples.items():
        if len(texts) == 0:
            raise ValueError(f"Concept {concept!r} has no {what}.")
        seen: dict[str, int] = {}
        for index, text in enumerate(texts):
            if not isinstance(text, str) or not text.strip():
                raise ValueError(f"Concept {concept!r}: {what} {index} is empty or whitespace.")
            if text in seen:
                raise ValueError(
                    f"Concept {concept!r}: {what} {index} duplicates {what} {seen[text]} "
                    f"({text[:50]!r}); remove the duplicate."
                )
            seen[text] = index


@dataclass(frozen=True)
class FitReport:
    """What a fit did: cost, subspace ranks, SVD fallbacks, cosines, calibration, warnings."""

    method: str
    layer: int
    n_examples: dict[str, int]
    fit_seconds: float
    peak_memory_mb: float
    memory_kind: str
    contamination_rank: int | None
    contamination_explained: float | None
    manifold_rank: int | None
    manifold_explained: float | None
    manifold_samples: int | None
    svd_methods: dict[str, str]
    svd_fallbacks: dict[str, list[str]]
    cosine_raw: dict[str, float]
    cosine_final: dict[str, float]
    retained_norm: dict[str, float]
    calibration: dict[str, dict[str, Any]]
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return asdict(self)


class ManifoldSteerer:
    """Fit per-concept steering vectors at one layer and steer generation with them.

    Example:
        >>> model, tok = load_model("gemma-3-270m")
        >>> steerer = ManifoldSteerer(model, tok, layer=12, method="dual")
        >>> report = steerer.fit(examples={"animal": [...]}, neutral=[...], task_prompts=[...])
        >>> steerer.generate("Hello, ", "animal", 0.5)
        >>> steerer.generate("Hello, ", None, 0.0)   # the unsteered baseline
    """

    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        layer: int,
        method: str = "dual",
        *,
        layer_template: str | None = None,
        contamination_rank: int | None = 1,
        contamination_energy: float = 0.5,
        manifold_energy: float = 0.99,
        manifold_max_rank: int | None = None,
        manifold_tokens: int = 32,
        min_manifold_samples: int = 8,
        pooling: str = "mean",
        batch_size: int = 16,
        calibration: CalibrationSettings | None = None,
    ) -> None:
        if method not in METHODS:
            raise ValueError(f"Unknown method {method!r}; choose one of {METHODS}.")
        self.model = model
        self.tokenizer = tokenizer
        self.layer_template = layer_template
        self.layer = resolve_layer(model, layer, layer_template)
        self.method = method
        self.contamination_rank = contamination_rank
        self.contamination_energy = contamination_energy
        self.manifold_energy = manifold_energy
        self.manifold_max_rank = manifold_max_rank
        self.manifold_tokens = manifold_tokens
        self.min_manifold_samples = min_manifold_samples
        self.pooling = pooling
        self.batch_size = batch_size
        self.calibration = calibration or CalibrationSettings()
        self.vectors: dict[str, SteeringVector] = {}
        self.metadata: dict[str, Any] = {}

    @property
    def device(self) -> torch.device:
        """The model's device."""
        return next(self.model.parameters()).device

    # ------------------------------------------------------------------ fitting
    def manifold_activations(self, task_prompts: Sequence[str]) -> np.ndarray:
        """Token activations the unsteered model visits while continuing ``task_prompts``."""
        generations = generate(
            self.model,
            self.tokenizer,
            task_prompts,
            max_new_tokens=self.manifold_tokens,
            batch_size=self.batch_size,
            progress=False,
        )
        sequences = [list(g.prompt_ids) + list(g.token_ids) for g in generations]
        return collect_token_activations(
            self.model,
            self.tokenizer,
            sequences,
            self.layer,
            batch_size=self.batch_size,
            layer_template=self.layer_template,
            progress=False,
        )

    def fit(
        self,
        examples: Mapping[str, Sequence[str]],
        neutral: Sequence[str],
        task_prompts: Sequence[str],
    ) -> FitReport:
        """Collect activations for the examples and fit one vector per concept.

        Args:
            examples: Concept name -> example sentences.
            neutral: Concept-free sentences (the baseline for each difference of means).
            task_prompts: Prompts whose unsteered continuations define the task manifold and
                on which strength 1.0 is calibrated.
        """
        validate_examples(examples)
        validate_examples({"neutral": neutral}, "neutral example")
        with track_peak_memory(self.device) as peak:
            collect: dict[str, Any] = {
                "pooling": self.pooling,
                "batch_size": self.batch_size,
                "layer_template": self.layer_template,
                "progress": False,
            }
            concept_acts = {
                name: collect_activations(self.model, self.tokenizer, texts, self.layer, **collect)
                for name, texts in examples.items()
            }
            neutral_acts = collect_activations(
                self.model, self.tokenizer, neutral, self.layer, **collect
            )
            needs_manifold = self.method in ("manifold", "dual")
            manifold_acts = self.manifold_activations(task_prompts) if needs_manifold else None
            report = self.fit_from_activations(
                concept_acts,
                neutral_acts,
                manifold_acts,
                task_prompts,
                examples_sha256={k: hash_texts(v) for k, v in examples.items()},
            )
        report = _with_cost(report, peak.seconds, peak.peak_mb, peak.kind)
        self.metadata["fit"] = report.as_dict()
        return report

    def fit_from_activations(
        self,
        concept_acts: Mapping[str, np.ndarray],
        neutral_acts: np.ndarray,
        manifold_acts: np.ndarray | None,
        task_prompts: Sequence[str],
        *,
        examples_sha256: Mapping[str, str] | None = None,
        scale: int | None = None,
    ) -> FitReport:
        """Fit from precomputed activations (the workflow slices one collection per scale)."""
        for name, array in (
            *((f"concept {c!r}", a) for c, a in concept_acts.items()),
            ("neutral", neutral_acts),
            ("task-manifold", manifold_acts),
        ):
            _check_finite_activations(name, array)
        with track_peak_memory(self.device) as peak:
            report = self._fit(concept_acts, neutral_acts, manifold_acts, task_prompts)
        report = _with_cost(report, peak.seconds, peak.peak_mb, peak.kind)
        self.metadata = {
            **model_identity(self.model),
            "layer": self.layer,
            "method": self.method,
            "dtype": str(self.model.dtype).removeprefix("torch."),
            "hidden_size": int(neutral_acts.shape[1]),
            "n_layers": num_layers(self.model, self.layer_template),
            "scale": scale,
            "examples_sha256": dict(examples_sha256 or {}),
            "library_version": library_version(),
            "fit": report.as_dict(),
        }
        return report

    def _fit(
        self,
        concept_acts: Mapping[str, np.ndarray],
        neutral_acts: np.ndarray,
        manifold_acts: np.ndarray | None,
        task_prompts: Sequence[str],
    ) -> FitReport:
        if not concept_acts:
            raise ValueError("No concepts to fit.")
        neutral_mean = np.asarray(neutral_acts, dtype=np.float64).mean(axis=0)
        differences = {
            c: np.asarray(a, dtype=np.float64) - neutral_mean for c, a in concept_acts.items()
        }
        raw = {c: d.mean(axis=0) for c, d in differences.items()}
        final = dict(raw)
        warnings: list[str] = []
        svd_methods: dict[str, str] = {}
        svd_fallbacks: dict[str, list[str]] = {}
        contamination: Subspace | None = None
        manifold: Subspace | None = None
        if self.method in ("contamination", "dual"):
            if len(differences) < 2:
                raise ValueError(
                    f"method={self.method!r} needs at least 2 concepts to find shared directions, "
                    f"got {sorted(differences)}; use 'diffmean' or 'manifold'."
                )
            contamination = contamination_subspace(
                differences, rank=self.contamination_rank, energy=self.contamination_energy
            )
            final = {c: contamination.project_out(v) for c, v in final.items()}
            svd_methods["contamination"] = contamination.svd_method
            svd_fallbacks["contamination"] = list(contamination.fallbacks)
        if self.method in ("manifold", "dual"):
            if manifold_acts is None:
                raise ValueError(f"method={self.method!r} needs task-manifold activations.")
            manifold = task_manifold(
                manifold_acts,
                energy=self.manifold_energy,
                max_rank=self.manifold_max_rank,
                min_samples=self.min_manifold_samples,
            )
            final = {c: manifold.project_onto(v) for c, v in final.items()}
            svd_methods["manifold"] = manifold.svd_method
            svd_fallbacks["manifold"] = list(manifold.fallbacks)
        for name, fallbacks in svd_fallbacks.items():
            if fallbacks:
                warnings.append(f"{name} SVD fell back to {svd_methods[name]}: {fallbacks}")
        self.vectors = {}
        directions: dict[str, np.ndarray] = {}
        raw_norms: dict[str, float] = {}
        for concept, vector in final.items():
            norm = float(np.linalg.norm(vector))
            raw_norms[concept] = float(np.linalg.norm(raw[concept]))
            if norm == 0 or not np.isfinite(norm):
                raise ValueError(
                    f"The {self.method} vector of concept {concept!r} is zero after projection; "
                    "lower the contamination rank or raise the manifold energy."
                )
            directions[concept] = (vector / norm).astype(np.float32)
        results = calibrate_scales(
            self.model,
            self.tokenizer,
            layer=self.layer,
            directions=directions,
            raw_norms=raw_norms,
            prompts=task_prompts,
            settings=self.calibration,
            batch_size=max(self.batch_size, 1),
            layer_template=self.layer_template,
        )
        calibration: dict[str, dict[str, Any]] = {}
        for concept, result in results.items():
            if result.degraded:
                warnings.append(f"calibration of {concept!r}: {result.note}")
            calibration[concept] = result.as_dict()
            self.vectors[concept] = SteeringVector(
                concept,
                directions[concept],
                result.scale,
                raw_norms[concept],
                self.method,
                calibration[concept],
            )
        for warning in warnings:
            log.warning(warning)
        return FitReport(
            method=self.method,
            layer=self.layer,
            n_examples={c: int(np.asarray(a).shape[0]) for c, a in concept_acts.items()},
            fit_seconds=0.0,
            peak_memory_mb=0.0,
            memory_kind="",
            contamination_rank=contamination.rank if contamination else None,
            contamination_explained=contamination.explained if contamination else None,
            manifold_rank=manifold.rank if manifold else None,
            manifold_explained=manifold.explained if manifold else None,
            manifold_samples=manifold.n_samples if manifold else None,
            svd_methods=svd_methods,
            svd_fallbacks=svd_fallbacks,
            cosine_raw=_cosines(raw),
            cosine_final=_cosines(final),
            retained_norm={
                c: float(np.linalg.norm(final[c]) / np.linalg.norm(raw[c])) for c in raw
            },
            calibration=calibration,
            warnings=warnings,
        )

    # --------------------------------------------------------------- generation
    def _vector(self, concept: str | None) -> SteeringVector | None:
        if concept is None:
            return None
        if concept not in self.vectors:
            raise ValueError(
                f"Concept {concept!r} not fitted; fitted: {sorted(self.vectors)}. "
                "Pass concept=None for the unsteered baseline."
            )
        return self.vectors[concept]

    def generate_rows(
        self,
        prompts: Sequence[str],
        concept: str | None,
        strengths: Sequence[float] | float = 0.0,
        *,
        max_new_tokens: int = 50,
        **kwargs: Any,
    ) -> list[Generation]:
        """Generate one row per prompt with per-row strengths; returns texts and token ids."""
        if isinstance(strengths, (int, float)):
            strengths = [float(strengths)] * len(prompts)
        for s in strengths:
            if not np.isfinite(s):
                raise ValueError(f"strength {s} is not a finite number.")
        vector = self._vector(concept)
        direction = vector.to_tensor() if vector is not None else None
        return generate(
            self.model,
            self.tokenizer,
            prompts,
            layer=self.layer,
            direction=direction,
            strengths=list(strengths),
            max_new_tokens=max_new_tokens,
            batch_size=kwargs.pop("batch_size", self.batch_size),
            layer_template=self.layer_template,
            **kwargs,
        )

    def generate(
        self,
        prompt: str,
        concept: str | None = None,
        strength: float = 0.0,
        max_new_tokens: int = 50,
        **kwargs: Any,
    ) -> str:
        """Continue ``prompt`` steered toward ``concept`` at ``strength`` (in [-1, 1] nominally).

        ``concept=None`` or ``strength=0`` registers no hook: the plain model's output.
        """
        rows = self.generate_rows(
            [prompt], concept, [strength], max_new_tokens=max_new_tokens, progress=False, **kwargs
        )
        return rows[0].text

    def generate_batch(
        self,
        prompts: Sequence[str],
        concept: str | None,
        strengths: Sequence[float] | float = 0.0,
        max_new_tokens: int = 50,
        **kwargs: Any,
    ) -> list[str]:
        """Continue every prompt, row i at ``strengths[i]``, in a few batched calls."""
        return [
            g.text
            for g in self.generate_rows(
                prompts, concept, strengths, max_new_tokens=max_new_tokens, **kwargs
            )
        ]

    # ------------------------------------------------------------------- files
    def save(self, path: str | Path) -> None:
        """Write ``<path>.safetensors`` and ``<path>.json``."""
        if not self.vectors:
            raise ValueError("Nothing to save: call fit() first.")
        save_vectors(path, self.vectors, self.metadata)

    @classmethod
    def load(
        cls,
        path: str | Path,
        model: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        **kwargs: Any,
    ) -> ManifoldSteerer:
        """Load vectors saved by :meth:`save`, refusing files fitted on another model or layer."""
        identity = model_identity(model)["model_id"]
        vectors, meta = load_vectors(path, expect_model=identity)
        hidden = int(model.get_input_embeddings().weight.shape[1])  # type: ignore[index]
        if meta.get("hidden_size") not in (None, hidden):
            raise ValueError(
                f"{path} has vectors of size {meta.get('hidden_size')} but the model's hidden "
                f"size is {hidden}."
            )
        steerer = cls(model, tokenizer, layer=int(meta["layer"]), method=meta["method"], **kwargs)
        steerer.vectors, steerer.metadata = vectors, meta
        return steerer


def _check_finite_activations(name: str, array: np.ndarray | None) -> None:
    """Refuse NaN/inf activations up front, naming the set and the first bad rows."""
    if array is None:
        return
    values = np.asarray(array, dtype=np.float64)
    if values.ndim == 0 or values.size == 0:
        return
    bad: np.ndarray = np.asarray(~np.isfinite(values.reshape(values.shape[0], -1)).all(axis=1))
    if bad.any():
        rows = np.flatnonzero(bad)
        raise FloatingPointError(
            f"{name} activations contain NaN/inf in {len(rows)} of {len(bad)} rows (first: "
            f"{rows[:5].tolist()}); the model overflowed in this dtype. Recollect them with dtype "
            "float32 or bfloat16, or at an earlier layer."
        )


def _with_cost(report: FitReport, seconds: float, peak_mb: float, kind: str) -> FitReport:
    data = report.as_dict()
    data.update(fit_seconds=seconds, peak_memory_mb=peak_mb, memory_kind=kind)
    return FitReport(**data)
