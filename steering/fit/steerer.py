"""``ManifoldSteerer``: fit steering vectors on a model from a few examples, and steer it.

The model-facing half of a fit: collect activations, hand them to
:func:`steering.fit.directions.fit_directions` (the numpy half, where the methods live),
calibrate strength 1.0 by generating, generate steered rows, save and load the vectors.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import PreTrainedModel
from transformers.tokenization_utils_base import PreTrainedTokenizerBase

from steering.core.activations import collect_activations, collect_token_activations
from steering.core.generation import Generation, generate, row_vectors
from steering.core.hooks import check_strengths
from steering.core.layers import num_layers, resolve_layer
from steering.core.memory import track_peak_memory
from steering.core.models import model_identity
from steering.fit.calibration import CalibrationSettings, calibrate_norms
from steering.fit.directions import (
    DirectionSettings,
    fit_directions,
    method_steps,
    needs_manifold,
)
from steering.fit.report import FitReport, fit_report
from steering.fit.validation import check_finite_activations, validate_examples
from steering.fit.vector_files import VectorFileError, load_vectors, save_vectors
from steering.fit.vectors import SteeringVector
from steering.provenance import hash_texts, library_version

log = logging.getLogger(__name__)


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
        method_steps(method)  # refuses an unknown method
        self.model = model
        self.tokenizer = tokenizer
        self.layer_template = layer_template
        self.layer = resolve_layer(model, layer, layer_template)
        self.method = method
        self.settings = DirectionSettings(
            contamination_rank=contamination_rank,
            contamination_energy=contamination_energy,
            manifold_energy=manifold_energy,
            manifold_max_rank=manifold_max_rank,
            min_manifold_samples=min_manifold_samples,
        )
        self.manifold_tokens = manifold_tokens
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
            manifold_acts = (
                self.manifold_activations(task_prompts) if needs_manifold(self.method) else None
            )
            report = self.fit_from_activations(
                concept_acts,
                neutral_acts,
                manifold_acts,
                task_prompts,
                examples_sha256={k: hash_texts(v) for k, v in examples.items()},
            )
        report = report.with_cost(peak.seconds, peak.peak_mb, peak.kind)
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
        n_examples: int | None = None,
    ) -> FitReport:
        """Fit from precomputed activations, then calibrate strength 1.0 on ``task_prompts``.

        Args:
            concept_acts: Concept name -> ``(n, hidden)`` activations of its examples.
            neutral_acts: ``(n, hidden)`` activations of the neutral examples.
            manifold_acts: Task-manifold token activations (``None`` when the method needs
                none).
            task_prompts: Prompts strength 1.0 is calibrated on.
            examples_sha256: Hashes of the examples, stored in the metadata.
            n_examples: Examples per concept, stored in the metadata (the workflow slices one
                collection to several sizes).
        """
        for name, array in (
            *((f"concept {c!r}", a) for c, a in concept_acts.items()),
            ("neutral", neutral_acts),
            ("task-manifold", manifold_acts),
        ):
            check_finite_activations(name, array)
        with track_peak_memory(self.device) as peak:
            report = self._fit(concept_acts, neutral_acts, manifold_acts, task_prompts)
        report = report.with_cost(peak.seconds, peak.peak_mb, peak.kind)
        self.metadata = {
            **model_identity(self.model),
            "layer": self.layer,
            "method": self.method,
            "dtype": str(self.model.dtype).removeprefix("torch."),
            "hidden_size": int(neutral_acts.shape[1]),
            "n_layers": num_layers(self.model, self.layer_template),
            "n_examples": n_examples,
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
        """Fit the directions, calibrate them, and keep the vectors."""
        directions = fit_directions(
            concept_acts,
            neutral_acts,
            manifold_acts,
            method=self.method,
            settings=self.settings,
        )
        units = directions.unit_directions()
        raw_norms = directions.raw_norms
        calibrations = calibrate_norms(
            self.model,
            self.tokenizer,
            layer=self.layer,
            directions=units,
            raw_norms=raw_norms,
            prompts=task_prompts,
            settings=self.calibration,
            batch_size=max(self.batch_size, 1),
            layer_template=self.layer_template,
        )
        report = fit_report(directions, calibrations, layer=self.layer)
        self.vectors = {
            name: SteeringVector(
                name,
                units[name],
                calibrations[name].full_strength_norm,
                raw_norms[name],
                self.method,
                report.calibration[name],
            )
            for name in units
        }
        for warning in report.warnings:
            log.warning(warning)
        return report

    # --------------------------------------------------------------- generation
    def _check_fitted(self, concepts: Sequence[str | None]) -> list[str]:
        """The distinct concepts of ``concepts`` (``None`` aside), refusing unfitted ones."""
        used = sorted({c for c in concepts if c is not None})
        for concept in used:
            if concept not in self.vectors:
                raise ValueError(
                    f"Concept {concept!r} not fitted; fitted: {sorted(self.vectors)}. "
                    "Pass concept=None for the unsteered baseline."
                )
        return used

    def generate_rows(
        self,
        prompts: Sequence[str],
        concepts: str | None | Sequence[str | None],
        strengths: float | Sequence[float] = 0.0,
        *,
        max_new_tokens: int = 50,
        batch_size: int | None = None,
        do_sample: bool = False,
        temperature: float = 1.0,
        top_p: float = 1.0,
        seed: int = 0,
        max_prompt_tokens: int | None = None,
        on_long: str = "truncate",
        progress: bool = True,
    ) -> list[Generation]:
        """Generate one row per prompt, row i steered toward ``concepts[i]`` at ``strengths[i]``.

        All rows, whatever their concept, go through one batched
        :func:`steering.core.generation.generate` call.

        Args:
            prompts: One prompt per row.
            concepts: One concept for every row, or one per row; ``None`` is unsteered.
            strengths: One strength for every row, or one per row; each finite and at most
                ``steering.core.hooks.MAX_STRENGTH`` (100) in absolute value.
            max_new_tokens: Tokens to generate per row.
            batch_size: Most rows per ``generate`` call; ``None`` for the steerer's.
            do_sample: Sample instead of greedy decoding.
            temperature: Sampling temperature.
            top_p: Nucleus sampling threshold.
            seed: Seed for sampling.
            max_prompt_tokens: Longest prompt in tokens; longer ones per ``on_long``.
            on_long: ``"truncate"`` (with a warning) or ``"error"``.
            progress: Show a progress bar.

        Returns:
            One :class:`Generation` (text and token ids) per prompt, in order.
        """
        n = len(prompts)
        row_concepts = [concepts] * n if concepts is None or isinstance(concepts, str) else concepts
        row_strengths = (
            [float(strengths)] * n if isinstance(strengths, (int, float)) else list(strengths)
        )
        if len(row_concepts) != n:
            raise ValueError(f"Got {n} prompts but {len(row_concepts)} concepts.")
        used = self._check_fitted(row_concepts)
        row_strengths = check_strengths(row_strengths)
        return generate(
            self.model,
            self.tokenizer,
            prompts,
            layer=self.layer,
            direction=row_vectors(
                {c: self.vectors[c].added_vector(1.0) for c in used}, row_concepts
            ),
            strengths=row_strengths,
            max_new_tokens=max_new_tokens,
            batch_size=self.batch_size if batch_size is None else batch_size,
            do_sample=do_sample,
            temperature=temperature,
            top_p=top_p,
            seed=seed,
            max_prompt_tokens=max_prompt_tokens,
            on_long=on_long,
            layer_template=self.layer_template,
            progress=progress,
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

        ``concept=None`` or ``strength=0`` registers no hook: the plain model's output. Other
        keyword arguments are those of :meth:`generate_rows`.
        """
        kwargs.setdefault("progress", False)
        rows = self.generate_rows(
            [prompt], concept, [strength], max_new_tokens=max_new_tokens, **kwargs
        )
        return rows[0].text

    def generate_batch(
        self,
        prompts: Sequence[str],
        concept: str | None | Sequence[str | None],
        strengths: float | Sequence[float] = 0.0,
        max_new_tokens: int = 50,
        **kwargs: Any,
    ) -> list[str]:
        """The texts of :meth:`generate_rows` (same arguments)."""
        rows = self.generate_rows(
            prompts, concept, strengths, max_new_tokens=max_new_tokens, **kwargs
        )
        return [g.text for g in rows]

    # ------------------------------------------------------------------- files
    def save(self, path: str | Path) -> None:
        """Write ``<path>.safetensors`` and ``<path>.json`` (``path`` keeps its own dots)."""
        if not self.vectors:
            raise ValueError("Nothing to save: call fit() first.")
        save_vectors(path, self.vectors, self.metadata)

    @classmethod
    def load(
        cls,
        path: str | Path,
        model: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        *,
        expect_layer: int | None = None,
        **kwargs: Any,
    ) -> ManifoldSteerer:
        """Load vectors saved by :meth:`save`, refusing files fitted on another model or layer.

        Args:
            path: The vectors' path without suffix.
            model: The model to steer; its identity must match the file's.
            tokenizer: Its tokenizer.
            expect_layer: The layer the vectors must have been fitted at (negative counts from
                the end, resolved with ``layer_template``); ``None`` accepts the file's layer.
            **kwargs: Other constructor arguments (``layer_template``, ``batch_size``, ...).

        Raises:
            VectorFileError: The file is missing or corrupt, or fitted on another model, layer
                or hidden size.
        """
        identity = model_identity(model)["model_id"]
        layer = (
            None
            if expect_layer is None
            else resolve_layer(model, expect_layer, kwargs.get("layer_template"))
        )
        vectors, meta = load_vectors(path, expect_model=identity, expect_layer=layer)
        hidden = int(model.get_input_embeddings().weight.shape[1])  # type: ignore[index]
        if meta.get("hidden_size") not in (None, hidden):
            raise VectorFileError(
                f"{path} has vectors of size {meta.get('hidden_size')} but the model's hidden "
                f"size is {hidden}; refit the vectors for this model."
            )
        steerer = cls(model, tokenizer, layer=int(meta["layer"]), method=meta["method"], **kwargs)
        steerer.vectors, steerer.metadata = vectors, meta
        return steerer
