"""The judge's output layer cut to the ten digit tokens, computed in fp32.

A local judge reads only the digits' logits at each text's last position. While
:func:`digit_logits` is open, the model's output layer returns just those columns, computed in
fp32 from the final hidden state (whatever the model's dtype): a bf16 judge then rounds its
hidden states but not its digit logits (bf16 logits of ~20 carry steps of 0.125, enough to move
a digit's probability by ~10%; BENCHMARKS B11). The model's own post-processing of the logits
(e.g. Gemma's soft-capping) is element-wise and still applies.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import torch

DigitColumns = Callable[[torch.Tensor], torch.Tensor]


@contextmanager
def digit_logits(model: Any, digit_ids: Sequence[int]) -> Iterator[DigitColumns]:
    """While open, the output layer of ``model`` yields fp32 logits of ``digit_ids`` only.

    Yields a function that takes the model's ``logits`` (``(..., columns)``) to the digits'
    fp32 logits (``(..., len(digit_ids))``, in ``digit_ids`` order). A model whose output layer
    is not an ``nn.Linear`` is left as it is; the function then picks the digit columns.
    """
    head = model.get_output_embeddings()
    if not isinstance(head, torch.nn.Linear):
        yield lambda logits: logits[..., list(digit_ids)].float()
        return
    index = torch.tensor(list(digit_ids), device=head.weight.device)
    weight = head.weight.detach().index_select(0, index).float()
    bias = None if head.bias is None else head.bias.detach().index_select(0, index).float()

    def digits_only(_module: torch.nn.Module, args: tuple[Any, ...], _output: Any) -> Any:
        return torch.nn.functional.linear(args[0].float(), weight, bias)

    handle = head.register_forward_hook(digits_only)
    try:
        yield lambda logits: logits.float()
    finally:
        handle.remove()
