"""Prefix KV-cache mechanics of the local judge: a rubric's prefix is run once, each batch of
text suffixes runs against a copy of its cache.

Suffixes are right-padded, the attention mask is ones over the prefix followed by the suffix
mask, position ids continue after the prefix, and each row is read at its last real token.
Right padding keeps every real token at the same sequence index as in the full prompt, so
sliding-window layers (Gemma 3) see exactly the same keys as without the cache; the sliding
layers keep the last ``window - 1`` prefix tokens, which is all a suffix token can reach. Only
caches made of :class:`~transformers.DynamicLayer` /
:class:`~transformers.DynamicSlidingWindowLayer` layers are reused; for any other architecture
(recurrent or linear-attention states, static or quantized caches)
:func:`unsupported_cache_reason` says why, and the judge logs a warning and scores full prompts
instead.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch

_EXACT_LAYER_TYPES = ("DynamicLayer", "DynamicSlidingWindowLayer")


@contextmanager
def only_positions(head: torch.nn.Module, positions: torch.Tensor) -> Iterator[None]:
    """While open, ``head`` (the output layer) receives only ``hidden[row, positions[row]]``."""

    def gather(_module: torch.nn.Module, args: tuple[Any, ...]) -> tuple[Any, ...]:
        hidden = args[0]
        index = positions[:, None, None].expand(-1, 1, hidden.shape[-1])
        return (hidden.gather(1, index), *args[1:])

    handle = head.register_forward_pre_hook(gather)
    try:
        yield
    finally:
        handle.remove()


def unsupported_cache_reason(kv: Any, prefix_len: int) -> str | None:
    """Why the prefix cache ``kv`` cannot be reused exactly for a batch (``None``: it can)."""
    from transformers import DynamicCache

    if kv is None:
        return "the model returned no cache"
    if type(kv) is not DynamicCache:
        return f"its cache is a {type(kv).__name__}, not a DynamicCache"
    layers = getattr(kv, "layers", None)
    if not layers:
        return "its cache has no per-layer key/value states"
    for layer in layers:
        name = type(layer).__name__
        if name not in _EXACT_LAYER_TYPES:
            allowed = ", ".join(_EXACT_LAYER_TYPES)
            return f"its cache has {name} layers (only {allowed} are reused)"
        if getattr(layer, "record_past", False):
            return "a sliding-window layer records past states"
        if layer.get_seq_length() != prefix_len:
            return f"a cache layer holds {layer.get_seq_length()} tokens, not {prefix_len}"
    return None


def suffix_batch(
    suffixes: list[list[int]], prefix_len: int, pad_id: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The suffixes as one right-padded batch after a ``prefix_len``-token cached prefix.

    Returns:
        ``(input_ids (batch, width), attention mask (batch, prefix_len + width), position ids
        (batch, width), index of each row's last real token (batch,))``, on the CPU.
    """
    batch = len(suffixes)
    width = max(map(len, suffixes))
    input_ids = torch.full((batch, width), pad_id, dtype=torch.long)
    mask = torch.zeros((batch, prefix_len + width), dtype=torch.long)
    mask[:, :prefix_len] = 1
    for row, suffix in enumerate(suffixes):  # right padding: real tokens keep their index
        input_ids[row, : len(suffix)] = torch.tensor(suffix)
        mask[row, prefix_len : prefix_len + len(suffix)] = 1
    last = torch.tensor([len(s) - 1 for s in suffixes], dtype=torch.long)
    positions = (torch.arange(width) + prefix_len).expand(batch, width)
    return input_ids, mask, positions, last


def expanded_cache(kv: Any, batch: int) -> Any:
    """A copy of the one-row prefix cache ``kv``, repeated to ``batch`` rows (``kv`` is kept)."""
    cache = copy.deepcopy(kv)
    if batch > 1:
        cache.batch_repeat_interleave(batch)
    return cache
