"""Continuation perplexity equals an independent computation from the full logits."""

from __future__ import annotations

import math

import pytest
import torch

from steering.evaluation.perplexity import continuation_perplexity
from tests.helpers.tiny_models import PAD_ID, tiny_model

PROMPTS = ["Once upon a time,", "Hi", "The most important thing in the whole world is"]
CONTINUATIONS = [
    " there was a small dog who lived by the sea.",
    " there",
    " to keep trying, even when it is hard and nobody is watching.",
]


def _reference(model, prompt_ids, continuation_ids, first_k):
    ids = torch.tensor([list(prompt_ids) + list(continuation_ids)])
    with torch.no_grad():
        logits = model(input_ids=ids).logits[0].double()
    logprobs = torch.log_softmax(logits, dim=-1)
    start = len(prompt_ids)
    nll = [-float(logprobs[t - 1, ids[0, t]]) for t in range(start, ids.shape[1])]
    return math.exp(sum(nll) / len(nll)), math.exp(sum(nll[:first_k]) / len(nll[:first_k]))


@pytest.mark.parametrize("arch", ["llama", "gpt2", "gemma3"])
def test_perplexity_matches_full_logits(tokenizer, arch) -> None:
    model = tiny_model(arch).model
    prompt_ids = [tokenizer(p)["input_ids"] for p in PROMPTS]
    continuation_ids = [tokenizer(c)["input_ids"] for c in CONTINUATIONS]
    got = continuation_perplexity(
        model, prompt_ids, continuation_ids, pad_token_id=PAD_ID, first_k=4, progress=False
    )
    for row, result in enumerate(got):
        full, first = _reference(model, prompt_ids[row], continuation_ids[row], 4)
        assert result.n_tokens == len(continuation_ids[row])
        assert result.perplexity == pytest.approx(full, rel=1e-4)
        assert result.ppl_first_k == pytest.approx(first, rel=1e-4)
    # batch size 1 (no padding) gives the same numbers
    alone = continuation_perplexity(
        model,
        prompt_ids,
        continuation_ids,
        pad_token_id=PAD_ID,
        first_k=4,
        batch_size=1,
        progress=False,
    )
    for a, b in zip(got, alone, strict=True):
        assert a.perplexity == pytest.approx(b.perplexity, rel=1e-4)


def test_empty_continuation_is_infinite(tokenizer) -> None:
    model = tiny_model("llama").model
    prompt_ids = [tokenizer(p)["input_ids"] for p in PROMPTS[:2]]
    got = continuation_perplexity(
        model,
        prompt_ids,
        [[], tokenizer(" there")["input_ids"]],
        pad_token_id=PAD_ID,
        progress=False,
    )
    assert got[0].perplexity == math.inf and got[0].ppl_first_k == math.inf
    assert got[0].n_tokens == 0
    assert math.isfinite(got[1].perplexity) and got[1].n_tokens == 1


def test_mismatched_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="2 prompts but 1 continuations"):
        continuation_perplexity(None, [[1], [2]], [[3]], pad_token_id=PAD_ID)
