"""Batched generation with a per-row steering strength, and out-of-memory back-off."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np
import torch
from tqdm.auto import tqdm
from transformers import GenerationConfig, PreTrainedModel
from transformers.tokenization_utils_base import PreTrainedTokenizerBase

from steering.core.activations import pad_left, tokenize
from steering.core.hooks import check_strengths, steer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Generation:
    """One generated continuation: its text and the exact token ids (prompt and new)."""

    prompt: str
    text: str
    prompt_ids: tuple[int, ...]
    token_ids: tuple[int, ...]


def row_vectors(
    vectors: Mapping[str, np.ndarray], names: Sequence[str | None]
) -> torch.Tensor | None:
    """The ``direction`` argument of :func:`generate` for rows steered by different vectors.

    Args:
        vectors: Name -> the vector strength 1.0 adds, ``(hidden,)``.
        names: One name per row; ``None`` for an unsteered row.

    Returns:
        ``None`` when no row is steered, the shared ``(hidden,)`` vector when every row uses
        the same one, else a float32 ``(rows, hidden)`` stack with zeros for unsteered rows.
    """
    used = {name for name in names if name is not None}
    if not used:
        return None
    if len(used) == 1 and None not in names:
        return torch.tensor(np.asarray(vectors[used.pop()], dtype=np.float32))
    hidden = np.asarray(vectors[next(iter(used))]).shape[0]
    zeros = np.zeros(hidden, dtype=np.float32)
    return torch.from_numpy(
        np.stack([zeros if n is None else np.asarray(vectors[n], np.float32) for n in names])
    )


def is_out_of_memory(error: BaseException) -> bool:
    """True for CUDA and CPU allocator out-of-memory errors."""
    if isinstance(error, torch.OutOfMemoryError):
        return True
    message = str(error).lower()
    return isinstance(error, RuntimeError) and (
        "out of memory" in message or "can't allocate memory" in message
    )


def generation_config(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    *,
    max_new_tokens: int,
    do_sample: bool = False,
    temperature: float = 1.0,
    top_p: float = 1.0,
) -> GenerationConfig:
    """An explicit generation config, so the model's own sampling defaults never apply."""
    if max_new_tokens <= 0:
        raise ValueError(f"max_new_tokens={max_new_tokens} must be > 0.")
    eos = model.generation_config.eos_token_id
    if eos is None:
        eos = tokenizer.eos_token_id
    kwargs: dict[str, object] = {
        "max_new_tokens": max_new_tokens,
        "do_sample": do_sample,
        "pad_token_id": tokenizer.pad_token_id,
        "eos_token_id": eos,
    }
    if do_sample:
        kwargs.update(temperature=temperature, top_p=top_p, top_k=0)
    else:
        kwargs.update(temperature=None, top_p=None, top_k=None)
    return GenerationConfig(**kwargs)


def _continuation(row: torch.Tensor, eos_ids: set[int]) -> list[int]:
    """Generated tokens up to (not including) the first end-of-sequence token."""
    out: list[int] = []
    for token in row.tolist():
        if token in eos_ids:
            break
        out.append(token)
    return out


def _generate_rows(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompt_ids: Sequence[list[int]],
    config: GenerationConfig,
    direction: torch.Tensor | None,
    strengths: torch.Tensor | None,
    layer: int | None,
    layer_template: str | None,
) -> list[list[int]]:
    device = next(model.parameters()).device
    ids, mask = pad_left(prompt_ids, tokenizer.pad_token_id, device)
    steering = direction is not None and strengths is not None and bool(strengths.abs().sum() > 0)
    context = (
        steer(
            model,
            layer if layer is not None else -1,
            direction,
            strengths,
            layer_template=layer_template,
        )
        if steering and direction is not None and strengths is not None
        else nullcontext()
    )
    with context, torch.no_grad():
        output = model.generate(  # type: ignore[operator]
            input_ids=ids, attention_mask=mask, generation_config=config
        )
    eos = config.eos_token_id
    eos_ids = set(eos if isinstance(eos, list) else [eos] if eos is not None else [])
    return [_continuation(row, eos_ids) for row in output[:, ids.shape[1] :]]


def generate(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompts: Sequence[str],
    *,
    layer: int | None = None,
    direction: torch.Tensor | None = None,
    strengths: Sequence[float] | None = None,
    max_new_tokens: int = 50,
    batch_size: int = 32,
    do_sample: bool = False,
    temperature: float = 1.0,
    top_p: float = 1.0,
    seed: int = 0,
    max_prompt_tokens: int | None = None,
    on_long: str = "truncate",
    layer_template: str | None = None,
    progress: bool = True,
) -> list[Generation]:
    """Generate a continuation for every prompt, each row with its own steering strength.

    Rows are left-padded and run as a few batched ``generate`` calls with the KV cache on; the
    hook adds ``strengths[i] * direction`` to row i. Without a direction (or with all strengths
    0) no hook is registered at all, so the result is the plain model's output. An
    out-of-memory error halves the batch and retries, with a warning in the log.

    Args:
        model: Causal LM.
        tokenizer: Its tokenizer (padding side is handled here).
        prompts: One prompt per row.
        layer: Block to steer (required with ``direction``).
        direction: Steering vector in residual units (strength 1 adds it once), shared
            ``(hidden,)`` or one per prompt ``(rows, hidden)`` (several concepts in one batch).
        strengths: One strength per prompt.
        max_new_tokens: Tokens to generate per row.
        batch_size: Most rows per ``generate`` call; the rows are split into equal batches
            (halved on out-of-memory).
        do_sample: Sample instead of greedy decoding.
        temperature: Sampling temperature.
        top_p: Nucleus sampling threshold.
        seed: Seed for sampling, set before each batch.
        max_prompt_tokens: Longest prompt in tokens; longer ones per ``on_long``.
        on_long: ``"truncate"`` (with a warning) or ``"error"``.
        layer_template: Override of the block path.
        progress: Show a progress bar.
    """
    if direction is not None and layer is None:
        raise ValueError("Give the layer to steer together with the direction.")
    if strengths is not None and len(strengths) != len(prompts):
        raise ValueError(f"Got {len(prompts)} prompts but {len(strengths)} strengths.")
    if strengths is not None:
        strengths = check_strengths(strengths)
    if direction is not None and direction.ndim == 2 and direction.shape[0] != len(prompts):
        raise ValueError(f"Got {len(prompts)} prompts but {direction.shape[0]} direction rows.")
    if batch_size < 1:
        raise ValueError(f"batch_size={batch_size} must be >= 1.")
    config = generation_config(
        model,
        tokenizer,
        max_new_tokens=max_new_tokens,
        do_sample=do_sample,
        temperature=temperature,
        top_p=top_p,
    )
    encoded = tokenize(tokenizer, prompts, max_length=max_prompt_tokens, on_long=on_long)
    all_strengths = torch.tensor(
        list(strengths) if strengths is not None else [0.0] * len(prompts), dtype=torch.float32
    )
    results: list[list[int]] = []
    bar = tqdm(total=len(prompts), desc="generate", unit="row", disable=not progress)
    # Equal batches (300 rows at batch_size 128: 3 x 100, not 128 + 128 + 44).
    size = math.ceil(len(prompts) / max(1, math.ceil(len(prompts) / batch_size)))
    start = 0
    while start < len(prompts):
        stop = min(start + size, len(prompts))
        if do_sample:
            torch.manual_seed(seed + start)
        try:
            rows_direction = (
                direction[start:stop]
                if direction is not None and direction.ndim == 2
                else direction
            )
            results.extend(
                _generate_rows(
                    model,
                    tokenizer,
                    encoded[start:stop],
                    config,
                    rows_direction,
                    all_strengths[start:stop],
                    layer,
                    layer_template,
                )
            )
        except (RuntimeError, torch.OutOfMemoryError) as error:
            if not is_out_of_memory(error) or size == 1:
                raise
            size = max(1, size // 2)
            log.warning("Out of memory at batch size %d; retrying with %d.", stop - start, size)
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            continue
        bar.update(stop - start)
        start = stop
    bar.close()
    return [
        Generation(
            prompt,
            str(tokenizer.decode(ids, skip_special_tokens=True)),
            tuple(encoded[i]),
            tuple(ids),
        )
        for i, (prompt, ids) in enumerate(zip(prompts, results, strict=True))
    ]
