"""Forward hooks on a decoder block's residual-stream output, as context managers only.

Every hook is registered inside a ``try`` whose ``finally`` removes everything registered, so an
exception in generation (or in a later registration) never leaves a hook on the model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

from steering.core.layers import get_layer

MAX_STRENGTH = 100.0
"""Largest ``|strength|`` accepted where strength 1.0 adds a calibrated vector (``generate``,
``ManifoldSteerer``). Strength 1.0 is the largest still coherent norm, so anything near this
bound already destroys the text; values like 1e30 overflow the activations and generate
nothing, so they are refused instead of run. (:func:`steer` itself takes raw strengths in
residual units and only requires them finite.)"""


def check_strengths(strengths: Any) -> list[float]:
    """Return calibrated ``strengths`` as floats, refusing any not finite or beyond the bound.

    Raises:
        ValueError: Naming the first bad value and the accepted range.
    """
    values = [strengths] if isinstance(strengths, int | float) else list(strengths)
    checked = []
    for index, value in enumerate(values):
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = float("nan")
        if not abs(number) <= MAX_STRENGTH:  # also catches NaN
            raise ValueError(
                f"strength {value!r} is not a finite number in [-{MAX_STRENGTH:g}, "
                f"{MAX_STRENGTH:g}] (row {index}); strength 1.0 is the calibrated full "
                "strength, so use values of order 1."
            )
        checked.append(number)
    return checked


def _hidden(output: Any) -> torch.Tensor:
    """Return the hidden-state tensor of a block's output (a tensor or a tuple)."""
    return output[0] if isinstance(output, tuple) else output


def _replace_hidden(output: Any, hidden: torch.Tensor) -> Any:
    if isinstance(output, tuple):
        return (hidden, *output[1:])
    return hidden


@dataclass
class ResidualRecord:
    """Residual-stream outputs recorded at one block, one tensor per forward call."""

    outputs: list[torch.Tensor] = field(default_factory=list)


class StopForward(Exception):
    """Raised by a recording hook to skip the blocks after the one recorded."""


def _make_record_hook(record: ResidualRecord, stop: bool) -> Callable[..., None]:
    def hook(_module: nn.Module, _inputs: Any, output: Any) -> None:
        record.outputs.append(_hidden(output).detach())
        if stop:
            raise StopForward

    return hook


def _make_steer_hook(vectors: torch.Tensor) -> Callable[..., Any]:
    cache: dict[tuple[torch.dtype, torch.device], torch.Tensor] = {}

    def hook(_module: nn.Module, _inputs: Any, output: Any) -> Any:
        hidden = _hidden(output)
        if hidden.shape[0] != vectors.shape[0]:
            raise ValueError(
                f"Steering hook got a batch of {hidden.shape[0]} rows but {vectors.shape[0]} "
                "steering rows; give one strength per row (no beams or num_return_sequences > 1)."
            )
        key = (hidden.dtype, hidden.device)
        if key not in cache:  # the vector follows the activation's dtype and device
            cast = vectors.to(hidden.device, hidden.dtype)
            if not torch.isfinite(cast).all():
                raise ValueError(
                    f"The steering vector (largest entry {vectors.abs().max().item():.3g}) "
                    f"overflows the activations' dtype {hidden.dtype}; use a smaller strength."
                )
            cache[key] = cast[:, None, :]
        return _replace_hidden(output, hidden + cache[key])

    return hook


@contextmanager
def record_residual(
    model: nn.Module, layer: int, *, layer_template: str | None = None, stop: bool = False
) -> Iterator[ResidualRecord]:
    """Record block ``layer``'s output hidden states for every forward call in the block.

    Args:
        model: A Hugging Face causal LM.
        layer: Block index (negative counts from the end).
        layer_template: Override of the block path, e.g. ``"model.layers.{num}"``.
        stop: Raise :class:`StopForward` after recording, so the blocks after ``layer`` and the
            LM head are skipped. Catch it around the forward call (see ``forward_to_layer``).

    Yields:
        A :class:`ResidualRecord` whose ``outputs`` fill as the model runs.
    """
    record = ResidualRecord()
    handles: list[RemovableHandle] = []
    try:
        module = get_layer(model, layer, layer_template)
        handles.append(module.register_forward_hook(_make_record_hook(record, stop)))
        yield record
    finally:
        for handle in handles:
            handle.remove()


@contextmanager
def steer(
    model: nn.Module,
    layer: int,
    direction: torch.Tensor,
    strengths: torch.Tensor | float,
    *,
    batch_size: int | None = None,
    layer_template: str | None = None,
) -> Iterator[None]:
    """Add ``strengths[i] * direction`` to block ``layer``'s output for every position of row i.

    The added vector is cast to the hidden state's dtype and device inside the hook, so an fp32
    vector steers an fp16 or bf16 model. Works with the KV cache: each generation step adds the
    vector to the new positions, and the cached ones were steered when first computed. Pad
    positions of left-padded rows get the vector too; attention never reads them.

    Args:
        model: A Hugging Face causal LM.
        layer: Block index (negative counts from the end).
        direction: One vector of the model's hidden size ``(hidden,)``, or one per row
            ``(rows, hidden)`` so a single batch can steer toward several concepts.
        strengths: One strength per batch row, or a single float for every row (then give
            ``batch_size`` unless ``direction`` has one row per batch row); finite, and
            such that the added vector fits the activations' dtype.
        batch_size: Number of rows when ``strengths`` is a float and ``direction`` is 1-D.
        layer_template: Override of the block path.

    Raises:
        ValueError: A bad shape, a non-finite strength or direction, an added vector that
            overflows the activations' dtype (raised in the forward pass), or a hidden-size
            mismatch.
    """
    if direction.ndim not in (1, 2):
        raise ValueError(
            f"direction must be (hidden,) or (rows, hidden), got shape {tuple(direction.shape)}."
        )
    rows = direction.shape[0] if direction.ndim == 2 else batch_size
    if not isinstance(strengths, torch.Tensor):
        if rows is None:
            raise ValueError("Give batch_size when strengths is a single number.")
        strengths = torch.full((rows,), float(strengths))
    strengths = strengths.detach().to(torch.float32).reshape(-1).cpu()
    if not torch.isfinite(strengths).all():
        raise ValueError(f"strengths must be finite, got {strengths.tolist()}.")
    base = direction.detach().to(torch.float32).cpu()
    if not torch.isfinite(base).all():
        raise ValueError(
            "the steering direction has non-finite entries (a NaN or infinite norm?); check "
            "the vectors' full_strength_norm and refit them."
        )
    if base.ndim == 2 and base.shape[0] != strengths.shape[0]:
        raise ValueError(f"{base.shape[0]} direction rows but {strengths.shape[0]} strengths.")
    vectors = strengths[:, None] * (base if base.ndim == 2 else base[None, :])
    handles: list[RemovableHandle] = []
    try:
        module = get_layer(model, layer, layer_template)
        hidden_size = getattr(module, "hidden_size", None)
        if hidden_size is not None and hidden_size != vectors.shape[1]:
            raise ValueError(
                f"direction has size {vectors.shape[1]} but layer {layer} has hidden size "
                f"{hidden_size}; was the vector fitted on another model?"
            )
        handles.append(module.register_forward_hook(_make_steer_hook(vectors)))
        yield
    finally:
        for handle in handles:
            handle.remove()


def forward_to_layer(
    model: nn.Module,
    layer: int,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    *,
    layer_template: str | None = None,
) -> torch.Tensor:
    """Run ``model`` only as far as block ``layer`` and return that block's hidden states."""
    # Positions count real tokens only (as in ``generate``), so a left-padded row gets the same
    # positions as alone; models with absolute position embeddings (GPT-2) depend on it.
    position_ids = (attention_mask.long().cumsum(-1) - 1).clamp(min=0)
    with record_residual(model, layer, layer_template=layer_template, stop=True) as record:
        try:
            with torch.no_grad():
                model(
                    input_ids=input_ids,
                    attention_mask=attention_mask,
                    position_ids=position_ids,
                    use_cache=False,
                )
        except StopForward:
            pass
    if len(record.outputs) != 1:
        raise RuntimeError(
            f"Expected one recorded output at layer {layer}, got {len(record.outputs)}."
        )
    return record.outputs[0]
