"""Generation steered by fitted vectors: one batched call, one concept and strength per row."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from transformers import PreTrainedModel
from transformers.tokenization_utils_base import PreTrainedTokenizerBase

from steering.core.generation import Generation, generate, row_vectors
from steering.core.hooks import check_strengths
from steering.fit.vectors import SteeringVector


def fitted_concepts(
    vectors: Mapping[str, SteeringVector], concepts: Sequence[str | None]
) -> list[str]:
    """The distinct concepts of ``concepts`` (``None`` aside), refusing unfitted ones."""
    used = sorted({c for c in concepts if c is not None})
    for concept in used:
        if concept not in vectors:
            raise ValueError(
                f"Concept {concept!r} not fitted; fitted: {sorted(vectors)}. "
                "Pass concept=None for the unsteered baseline."
            )
    return used


def steered_rows(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    vectors: Mapping[str, SteeringVector],
    prompts: Sequence[str],
    concepts: str | None | Sequence[str | None],
    strengths: float | Sequence[float] = 0.0,
    *,
    layer: int,
    layer_template: str | None = None,
    max_new_tokens: int = 50,
    batch_size: int = 16,
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
        model: The model to steer.
        tokenizer: Its tokenizer.
        vectors: Concept -> fitted vector.
        prompts: One prompt per row.
        concepts: One concept for every row, or one per row; ``None`` is unsteered.
        strengths: One strength for every row, or one per row; each finite and at most
            ``steering.core.hooks.MAX_STRENGTH`` (100) in absolute value.
        layer: The (resolved) layer the vectors were fitted at.
        layer_template: The decoder layers' name template (``None``: guessed).
        max_new_tokens: Tokens to generate per row.
        batch_size: Most rows per ``generate`` call.
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
    used = fitted_concepts(vectors, row_concepts)
    row_strengths = check_strengths(row_strengths)
    return generate(
        model,
        tokenizer,
        prompts,
        layer=layer,
        direction=row_vectors({c: vectors[c].added_vector(1.0) for c in used}, row_concepts),
        strengths=row_strengths,
        max_new_tokens=max_new_tokens,
        batch_size=batch_size,
        do_sample=do_sample,
        temperature=temperature,
        top_p=top_p,
        seed=seed,
        max_prompt_tokens=max_prompt_tokens,
        on_long=on_long,
        layer_template=layer_template,
        progress=progress,
    )
