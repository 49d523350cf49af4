"""Perplexity of generated continuations under the (unsteered) model, batched with masks."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm
from transformers import PreTrainedModel

from steering.core.activations import pad_left


@dataclass(frozen=True)
class Perplexity:
    """Perplexity of a whole continuation and of its first ``k`` tokens."""

    perplexity: float
    ppl_first_k: float
    n_tokens: int


def _row_budget(vocab: int, positions: int, budget_bytes: int = 512 * 2**20) -> int:
    return max(1, budget_bytes // max(1, vocab * positions * 4))


def continuation_perplexity(
    model: PreTrainedModel,
    prompt_ids: Sequence[Sequence[int]],
    continuation_ids: Sequence[Sequence[int]],
    *,
    pad_token_id: int,
    first_k: int = 10,
    batch_size: int = 16,
    progress: bool = True,
) -> list[Perplexity]:
    """Perplexity of each continuation given its prompt, scoring only continuation positions.

    Rows are left-padded so every continuation ends in the last column; the model keeps only
    the logits of the last ``max continuation + 1`` positions (``logits_to_keep``), and the batch
    shrinks so those logits stay under ~512 MB (a 262k vocabulary makes full logits huge).
    An empty continuation has infinite perplexity (it is never coherent).
    """
    if len(prompt_ids) != len(continuation_ids):
        raise ValueError(f"{len(prompt_ids)} prompts but {len(continuation_ids)} continuations.")
    device = next(model.parameters()).device
    vocab = model.get_output_embeddings().weight.shape[0]
    results: list[Perplexity] = [Perplexity(math.inf, math.inf, 0)] * len(prompt_ids)
    order = sorted(range(len(prompt_ids)), key=lambda i: len(continuation_ids[i]))
    order = [i for i in order if len(continuation_ids[i]) > 0]
    bar = tqdm(total=len(order), desc="perplexity", unit="row", disable=not progress)
    start = 0
    while start < len(order):
        keep = len(continuation_ids[order[min(start + batch_size, len(order)) - 1]]) + 1
        size = min(batch_size, _row_budget(vocab, keep))
        rows = order[start : start + size]
        keep = max(len(continuation_ids[i]) for i in rows) + 1
        sequences = [list(prompt_ids[i]) + list(continuation_ids[i]) for i in rows]
        ids, mask = pad_left(sequences, pad_token_id, device)
        # Positions of real tokens only, as in ``generate`` (absolute position embeddings).
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        with torch.no_grad():
            logits = model(
                input_ids=ids,
                attention_mask=mask,
                position_ids=positions,
                use_cache=False,
                logits_to_keep=keep,
            ).logits
        logprobs = torch.log_softmax(logits[:, :-1].float(), dim=-1)
        targets = ids[:, -(keep - 1) :]
        token_lp = logprobs.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
        for row, index in enumerate(rows):
            n = len(continuation_ids[index])
            nll = -token_lp[row, -n:].double()
            k = min(first_k, n)
            results[index] = Perplexity(
                math.exp(nll.mean().item()), math.exp(nll[:k].mean().item()), n
            )
        bar.update(len(rows))
        start += len(rows)
    bar.close()
    return results
