"""``ManifoldSteerer``: fit steering vectors on a model from a few examples, and steer it.

The object that ties a fit together and keeps its vectors: the activations come from
:mod:`steering.fit.fit_activations`, the vectors from :func:`steering.fit.fitting.fit_vectors`
(directions, then strength 1.0 calibrated by generating), steered rows from
:mod:`steering.fit.steered_generation`, and the files from :mod:`steering.fit.vector_files`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import PreTrainedModel
from transformers.tokenization_utils_base import PreTrainedTokenizerBase

from steering.core.generation import Generation
from steering.core.layers import num_layers, resolve_layer
from steering.core.memory import track_peak_memory
from steering.core.models import model_identity
from steering.fit.calibration import CalibrationSettings
from steering.fit.directions import DirectionSettings, method_steps, needs_manifold
from steering.fit.fit_activations import example_activations, manifold_activations
from steering.fit.fitting import fit_vectors
from steering.fit.report import FitReport
from steering.fit.steered_generation import steered_rows
from steering.fit.validation import check_finite_activations, validate_examples
from steering.fit.vector_files import (
    VectorFileError,
    load_resampled_vectors,
    pick_resample,
    save_vectors,
)
from steering.fit.vectors import SteeringVector
from steering.provenance import hash_texts, library_version


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
        return manifold_activations(
            self.model,
            self.tokenizer,
            self.layer,
            task_prompts,
            max_new_tokens=self.manifold_tokens,
            batch_size=self.batch_size,
            layer_template=self.layer_template,
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
            concept_acts, neutral_acts = example_activations(
                self.model,
                self.tokenizer,
                self.layer,
                examples,
                neutral,
                pooling=self.pooling,
                batch_size=self.batch_size,
                layer_template=self.layer_template,
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
        reuse_calibration: Mapping[str, Mapping[str, Any]] | None = None,
        reuse_source: str = "another fit",
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
            reuse_calibration: Concept -> another fit's calibration (its report's
                ``calibration``): its multiples are applied to this fit's raw norms and no
                calibration search runs (see :func:`steering.fit.fitting.fit_vectors`).
            reuse_source: Where those multiples come from, for the notes.
        """
        for name, array in (
            *((f"concept {c!r}", a) for c, a in concept_acts.items()),
            ("neutral", neutral_acts),
            ("task-manifold", manifold_acts),
        ):
            check_finite_activations(name, array)
        with track_peak_memory(self.device) as peak:
            self.vectors, report = fit_vectors(
                self.model,
                self.tokenizer,
                concept_acts,
                neutral_acts,
                manifold_acts,
                task_prompts,
                layer=self.layer,
                method=self.method,
                settings=self.settings,
                calibration=self.calibration,
                batch_size=self.batch_size,
                layer_template=self.layer_template,
                reuse=reuse_calibration,
                reuse_source=reuse_source,
            )
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

    # --------------------------------------------------------------- generation
    def generate_rows(
        self,
        prompts: Sequence[str],
        concepts: str | None | Sequence[str | None],
        strengths: float | Sequence[float] = 0.0,
        **options: Any,
    ) -> list[Generation]:
        """Generate one row per prompt, row i steered toward ``concepts[i]`` at ``strengths[i]``.

        :func:`steering.fit.steered_generation.steered_rows` with this steerer's model,
        vectors, layer and batch size; ``options`` are its keyword arguments
        (``max_new_tokens``, ``batch_size`` (``None``: the steerer's), ``do_sample``, ``seed``,
        ``max_prompt_tokens``, ``on_long``, ``progress``, ...).
        """
        if options.get("batch_size") is None:
            options["batch_size"] = self.batch_size
        return steered_rows(
            self.model,
            self.tokenizer,
            self.vectors,
            prompts,
            concepts,
            strengths,
            layer=self.layer,
            layer_template=self.layer_template,
            **options,
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
        resample: int | None = 0,
        **kwargs: Any,
    ) -> ManifoldSteerer:
        """Load vectors saved by :meth:`save`, refusing files fitted on another model or layer.

        Args:
            path: The vectors' path without suffix.
            model: The model to steer; its identity must match the file's.
            tokenizer: Its tokenizer.
            expect_layer: The layer the vectors must have been fitted at (negative counts from
                the end, resolved with ``layer_template``); ``None`` accepts the file's layer.
            resample: Which resample's vectors to load (a file holds
                ``metadata["n_resamples"]``); ``None`` loads all of them, keyed
                ``r<r>/<concept>`` (:func:`~steering.fit.vector_files.tensor_name`), so that
                one batched generation can steer rows with any resample's vectors.
            **kwargs: Other constructor arguments (``layer_template``, ``batch_size``, ...).

        Raises:
            VectorFileError: The file is missing or corrupt, fitted on another model, layer
                or hidden size, or lacks ``resample``.
        """
        identity = model_identity(model)["model_id"]
        layer = (
            None
            if expect_layer is None
            else resolve_layer(model, expect_layer, kwargs.get("layer_template"))
        )
        sets, meta = load_resampled_vectors(path, expect_model=identity, expect_layer=layer)
        vectors = pick_resample(sets, resample, path)
        hidden = int(model.get_input_embeddings().weight.shape[1])  # type: ignore[index]
        if meta.get("hidden_size") not in (None, hidden):
            raise VectorFileError(
                f"{path} has vectors of size {meta.get('hidden_size')} but the model's hidden "
                f"size is {hidden}; refit the vectors for this model."
            )
        steerer = cls(model, tokenizer, layer=int(meta["layer"]), method=meta["method"], **kwargs)
        steerer.vectors, steerer.metadata = vectors, meta
        return steerer
