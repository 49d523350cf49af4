"""The activations a fit needs: pooled example activations and the task manifold's tokens."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from transformers import PreTrainedModel
from transformers.tokenization_utils_base import PreTrainedTokenizerBase

from steering.core.activations import collect_activations, collect_token_activations
from steering.core.generation import generate


def example_activations(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    layer: int,
    examples: Mapping[str, Sequence[str]],
    neutral: Sequence[str],
    *,
    pooling: str = "mean",
    batch_size: int = 16,
    layer_template: str | None = None,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Pooled ``layer`` activations of each concept's examples and of the neutral examples.

    Returns:
        ``(concept name -> (n, hidden), neutral (n, hidden))``.
    """

    def collect(texts: Sequence[str]) -> np.ndarray:
        return collect_activations(
            model,
            tokenizer,
            texts,
            layer,
            pooling=pooling,
            batch_size=batch_size,
            layer_template=layer_template,
            progress=False,
        )

    return {name: collect(texts) for name, texts in examples.items()}, collect(neutral)


def manifold_activations(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    layer: int,
    task_prompts: Sequence[str],
    *,
    max_new_tokens: int = 32,
    batch_size: int = 16,
    layer_template: str | None = None,
) -> np.ndarray:
    """Token activations at ``layer`` the unsteered model visits while continuing
    ``task_prompts`` for ``max_new_tokens`` (prompt and continuation tokens)."""
    generations = generate(
        model,
        tokenizer,
        task_prompts,
        max_new_tokens=max_new_tokens,
        batch_size=batch_size,
        progress=False,
    )
    sequences = [list(g.prompt_ids) + list(g.token_ids) for g in generations]
    return collect_token_activations(
        model,
        tokenizer,
        sequences,
        layer,
        batch_size=batch_size,
        layer_template=layer_template,
        progress=False,
    )
