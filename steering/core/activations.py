"""Collect residual-stream activations at one layer, in batches, with padding masks."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

import numpy as np
import torch
from tqdm.auto import tqdm
from transformers import PreTrainedModel
from transformers.tokenization_utils_base import PreTrainedTokenizerBase

from steering.core.hooks import forward_to_layer

log = logging.getLogger(__name__)

POOLINGS = ("mean", "last")
EXAMPLE_PREFIX = "examples__"


def example_key(name: str) -> str:
    """The key of example set ``name`` (a concept, or ``"neutral"``) in an activations npz."""
    return f"{EXAMPLE_PREFIX}{name}"


def example_names(keys: Iterable[str]) -> list[str]:
    """The example-set names among the keys of an activations npz, in key order.

    Keys that are not example sets (such as ``"manifold"``) are skipped.
    """
    return [key.removeprefix(EXAMPLE_PREFIX) for key in keys if key.startswith(EXAMPLE_PREFIX)]


def _content_mask(
    input_ids: torch.Tensor, attention_mask: torch.Tensor, tokenizer: PreTrainedTokenizerBase
) -> torch.Tensor:
    """Real, non-special tokens: pads never count, and neither do BOS/attention-sink tokens."""
    special = torch.tensor(sorted(set(tokenizer.all_special_ids)), device=input_ids.device)
    return attention_mask.bool() & ~torch.isin(input_ids, special)


def tokenize(
    tokenizer: PreTrainedTokenizerBase,
    texts: Sequence[str],
    *,
    max_length: int | None = None,
    on_long: str = "truncate",
) -> list[list[int]]:
    """Tokenize ``texts`` (with special tokens), handling over-long texts per ``on_long``.

    Args:
        tokenizer: The model's tokenizer.
        texts: Texts to encode.
        max_length: Longest allowed sequence in tokens; ``None`` for no limit.
        on_long: ``"truncate"`` (keep the first ``max_length`` tokens, with a warning) or
            ``"error"``.
    """
    if on_long not in ("truncate", "error"):
        raise ValueError(f"on_long={on_long!r}; use 'truncate' or 'error'.")
    encoded = [list(tokenizer(text)["input_ids"]) for text in texts]
    if max_length is None:
        return encoded
    for index, ids in enumerate(encoded):
        if len(ids) > max_length:
            excerpt = texts[index][:60]
            if on_long == "error":
                raise ValueError(
                    f"Text {index} ({excerpt!r}...) has {len(ids)} tokens > "
                    f"max_length={max_length}; "
                    "shorten it, raise max_length, or set on_long: truncate."
                )
            log.warning(
                "Text %d (%r...) truncated from %d to %d tokens.",
                index,
                excerpt,
                len(ids),
                max_length,
            )
            encoded[index] = ids[:max_length]
    return encoded


def pad_left(
    rows: Sequence[Sequence[int]], pad_id: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """Left-pad token id lists into ``(input_ids, attention_mask)`` tensors."""
    width = max(len(row) for row in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        if row:
            ids[i, width - len(row) :] = torch.tensor(row, dtype=torch.long)
            mask[i, width - len(row) :] = 1
    return ids.to(device), mask.to(device)


def _check_finite(array: np.ndarray, offset: int, texts: Sequence[str] | None) -> None:
    bad = ~np.isfinite(array).reshape(array.shape[0], -1).all(axis=1)
    if bad.any():
        index = offset + int(np.flatnonzero(bad)[0])
        what = f" ({texts[index][:60]!r})" if texts is not None else ""
        raise FloatingPointError(
            f"Non-finite (NaN/inf) activations for example {index}{what}; the model overflowed "
            "in this dtype: use dtype float32 or bfloat16, or an earlier layer."
        )


def collect_activations(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    texts: Sequence[str],
    layer: int,
    *,
    pooling: str = "mean",
    batch_size: int = 16,
    max_length: int | None = 512,
    on_long: str = "truncate",
    layer_template: str | None = None,
    progress: bool = True,
) -> np.ndarray:
    """Return one pooled residual-stream vector per text, as a float32 ``(n, hidden)`` array.

    Mean pooling averages the real content tokens (pads and special tokens such as BOS, whose
    norm is 10-25x the others, are excluded); ``"last"`` takes the last real token. Memory is
    bounded by the batch: only pooled vectors are kept.
    """
    if pooling not in POOLINGS:
        raise ValueError(f"pooling={pooling!r}; use one of {POOLINGS}.")
    if len(texts) == 0:
        raise ValueError("collect_activations got no texts; give at least one example.")
    encoded = tokenize(tokenizer, texts, max_length=max_length, on_long=on_long)
    device = next(model.parameters()).device
    pooled: list[np.ndarray] = []
    starts = range(0, len(encoded), batch_size)
    for start in tqdm(starts, desc=f"activations L{layer}", disable=not progress, unit="batch"):
        ids, mask = pad_left(encoded[start : start + batch_size], tokenizer.pad_token_id, device)
        hidden = forward_to_layer(model, layer, ids, mask, layer_template=layer_template).float()
        if pooling == "last":
            vectors = hidden[:, -1, :]
        else:
            content = _content_mask(ids, mask, tokenizer)
            content[content.sum(dim=1) == 0] = mask.bool()[content.sum(dim=1) == 0]
            weights = content.unsqueeze(-1).float()
            vectors = (hidden * weights).sum(dim=1) / weights.sum(dim=1)
        array = vectors.cpu().numpy().astype(np.float32)
        _check_finite(array, start, texts)
        pooled.append(array)
    return np.concatenate(pooled, axis=0)


def collect_token_activations(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    sequences: Sequence[Sequence[int]],
    layer: int,
    *,
    batch_size: int = 16,
    layer_template: str | None = None,
    progress: bool = True,
) -> np.ndarray:
    """Return the activations of every real, non-special token of ``sequences`` (token ids).

    Used for the task manifold: the sequences are prompts plus the tokens the model generated.
    """
    if len(sequences) == 0:
        raise ValueError("collect_token_activations got no sequences.")
    device = next(model.parameters()).device
    rows: list[np.ndarray] = []
    starts = range(0, len(sequences), batch_size)
    for start in tqdm(
        starts, desc=f"token activations L{layer}", disable=not progress, unit="batch"
    ):
        ids, mask = pad_left(sequences[start : start + batch_size], tokenizer.pad_token_id, device)
        hidden = forward_to_layer(model, layer, ids, mask, layer_template=layer_template).float()
        content = _content_mask(ids, mask, tokenizer)
        array = hidden[content].cpu().numpy().astype(np.float32)
        _check_finite(array, 0, None)
        rows.append(array)
    return np.concatenate(rows, axis=0)
