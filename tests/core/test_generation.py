"""Generation: no hook at strength 0, batched rows equal single rows, exceptions leave no hook."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import StoppingCriteria, StoppingCriteriaList

from steering.core.generation import generate, is_out_of_memory, row_vectors
from steering.core.hooks import steer
from steering.core.layers import find_layers
from steering.fit.steerer import ManifoldSteerer
from tests.helpers.tiny_models import (
    EOS_ID,
    PROMPTS,
    STEER_LAYER,
    TinyModel,
    encode,
    leftover_hooks,
    residual_norm,
    unit_direction,
)

NEW_TOKENS = 8
# Low-precision logits of a row differ slightly with and without left padding (other matmul
# shapes), so near-tied greedy tokens of a random model may flip there: fp32 rows are compared
# token for token, fp16/bf16 rows by their steered logits within this share of the logit spread.
LOGIT_TOLERANCE = {"fp16": 0.02, "bf16": 0.08}


def _plain_generate(model, tokenizer, prompts=PROMPTS, new_tokens=NEW_TOKENS) -> list[list[int]]:
    ids, mask = encode(tokenizer, prompts)
    with torch.no_grad():
        output = model.generate(
            input_ids=ids,
            attention_mask=mask,
            max_new_tokens=new_tokens,
            do_sample=False,
            pad_token_id=tokenizer.pad_token_id,
        )
    rows = []
    for row in output[:, ids.shape[1] :].tolist():
        rows.append(row[: row.index(EOS_ID)] if EOS_ID in row else row)
    return rows


def _tokens(generations) -> list[list[int]]:
    return [list(g.token_ids) for g in generations]


def _steered_last_logits(model, tokenizer, prompts, direction, strengths) -> torch.Tensor:
    ids, mask = encode(tokenizer, prompts)
    positions = (mask.cumsum(-1) - 1).clamp(min=0)  # as generate does, for absolute positions
    with steer(model, STEER_LAYER, direction, torch.tensor(strengths)), torch.no_grad():
        logits = model(input_ids=ids, attention_mask=mask, position_ids=positions).logits
    return logits[:, -1].float()


def _assert_rows_match(any_model, tokenizer, batched, singles, direction, strengths) -> None:
    if any_model.dtype_name == "fp32":
        assert _tokens(batched) == [tokens for single in singles for tokens in _tokens(single)]
        return
    together = _steered_last_logits(any_model.model, tokenizer, PROMPTS, direction, strengths)
    for row, prompt in enumerate(PROMPTS):
        row_direction = direction[row : row + 1] if direction.ndim == 2 else direction
        alone = _steered_last_logits(
            any_model.model, tokenizer, [prompt], row_direction, [strengths[row]]
        )
        spread = float(alone.std())
        tolerance = LOGIT_TOLERANCE[any_model.dtype_name] * spread
        assert torch.allclose(together[row], alone[0], atol=tolerance), (
            f"row {row}: max diff {float((together[row] - alone[0]).abs().max()):.4f} "
            f"> {tolerance:.4f}"
        )


def test_strength_zero_and_no_concept_equal_plain_generate(any_model: TinyModel, tokenizer) -> None:
    model = any_model.model
    plain = _plain_generate(model, tokenizer)
    assert any(len(row) > 0 for row in plain)
    direction = unit_direction() * residual_norm(model, tokenizer)
    zero = generate(
        model,
        tokenizer,
        PROMPTS,
        layer=STEER_LAYER,
        direction=direction,
        strengths=[0.0] * len(PROMPTS),
        max_new_tokens=NEW_TOKENS,
        progress=False,
    )
    assert _tokens(zero) == plain
    unsteered = generate(model, tokenizer, PROMPTS, max_new_tokens=NEW_TOKENS, progress=False)
    assert _tokens(unsteered) == plain
    steerer = ManifoldSteerer(model, tokenizer, layer=STEER_LAYER, method="diffmean")
    rows = steerer.generate_rows(PROMPTS, None, 0.0, max_new_tokens=NEW_TOKENS, progress=False)
    assert _tokens(rows) == plain
    text = steerer.generate(PROMPTS[0], None, 0.0, max_new_tokens=NEW_TOKENS)
    single = _plain_generate(model, tokenizer, PROMPTS[:1])[0]
    assert text == tokenizer.decode(single, skip_special_tokens=True)
    assert leftover_hooks(model) == []


def test_batched_strengths_equal_one_row_at_a_time(any_model: TinyModel, tokenizer) -> None:
    model = any_model.model
    direction = unit_direction(seed=1) * residual_norm(model, tokenizer)
    strengths = [0.0, 1.5, -1.5]
    kwargs = {"layer": STEER_LAYER, "max_new_tokens": NEW_TOKENS, "progress": False}
    batched = generate(
        model, tokenizer, PROMPTS, direction=direction, strengths=strengths, **kwargs
    )
    singles = [
        generate(model, tokenizer, [p], direction=direction, strengths=[s], **kwargs)
        for p, s in zip(PROMPTS, strengths, strict=True)
    ]
    _assert_rows_match(any_model, tokenizer, batched, singles, direction, strengths)
    # Steering must have changed something, or this comparison would prove nothing.
    plain = _plain_generate(model, tokenizer)
    assert _tokens(batched)[0] == plain[0]
    assert _tokens(batched)[1:] != plain[1:]


def test_per_row_directions_equal_separate_calls(any_model: TinyModel, tokenizer) -> None:
    model = any_model.model
    directions = unit_direction(seed=2, rows=len(PROMPTS)) * residual_norm(model, tokenizer)
    strengths = [1.5, -1.0, 2.0]
    kwargs = {"layer": STEER_LAYER, "max_new_tokens": NEW_TOKENS, "progress": False}
    batched = generate(
        model, tokenizer, PROMPTS, direction=directions, strengths=strengths, **kwargs
    )
    singles = [
        generate(model, tokenizer, [p], direction=directions[i], strengths=[s], **kwargs)
        for i, (p, s) in enumerate(zip(PROMPTS, strengths, strict=True))
    ]
    _assert_rows_match(any_model, tokenizer, batched, singles, directions, strengths)
    assert _tokens(batched) != _plain_generate(model, tokenizer)


class _Interrupt(KeyboardInterrupt):
    """A KeyboardInterrupt-like error raised from inside the forward pass."""


def test_interrupt_from_a_pre_hook_leaves_no_hook(any_model: TinyModel, tokenizer) -> None:
    model = any_model.model
    calls = []

    def interrupt(*_args):
        calls.append(1)
        if len(calls) == 3:  # mid-generation, after the prefill and one decoding step
            raise _Interrupt

    handle = find_layers(model)[-1].register_forward_pre_hook(interrupt)
    try:
        with pytest.raises(_Interrupt):
            generate(
                model,
                tokenizer,
                PROMPTS,
                layer=STEER_LAYER,
                direction=unit_direction(),
                strengths=[1.0, 2.0, 3.0],
                max_new_tokens=NEW_TOKENS,
                progress=False,
            )
    finally:
        handle.remove()
    assert len(calls) == 3
    assert leftover_hooks(model) == []


class _FailingCriteria(StoppingCriteria):
    def __call__(self, input_ids, scores, **kwargs):
        raise RuntimeError("stopping criteria failed")


def test_failing_stopping_criteria_leaves_no_hook(any_model: TinyModel, tokenizer) -> None:
    model = any_model.model
    ids, mask = encode(tokenizer)
    with (
        pytest.raises(RuntimeError, match="stopping criteria failed"),
        steer(model, STEER_LAYER, unit_direction(), 1.0, batch_size=ids.shape[0]),
        torch.no_grad(),
    ):
        model.generate(
            input_ids=ids,
            attention_mask=mask,
            max_new_tokens=NEW_TOKENS,
            do_sample=False,
            pad_token_id=tokenizer.pad_token_id,
            stopping_criteria=StoppingCriteriaList([_FailingCriteria()]),
        )
    assert leftover_hooks(model) == []


def test_out_of_memory_halves_the_batch_and_gives_the_same_rows(
    llama: TinyModel, tokenizer
) -> None:
    model = llama.model
    expected = _plain_generate(model, tokenizer)
    seen_batches = []

    def fake_allocator_limit(_module, args):
        hidden = args[0]
        seen_batches.append(hidden.shape[0])
        if hidden.shape[0] > 1:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")

    # Only single-prompt batches run without padding, so compare per prompt.
    handle = find_layers(model)[0].register_forward_pre_hook(fake_allocator_limit)
    try:
        got = generate(model, tokenizer, PROMPTS, max_new_tokens=NEW_TOKENS, batch_size=4)
    finally:
        handle.remove()
    # 3 rows in one batch, then halved (3 // 2 = 1) until single rows fit.
    assert seen_batches[0] == 3 and set(seen_batches) == {3, 1}
    singles = [_plain_generate(model, tokenizer, [p])[0] for p in PROMPTS]
    assert _tokens(got) == singles
    assert len(expected) == len(singles)
    assert leftover_hooks(model) == []


def test_non_memory_errors_are_not_retried(llama: TinyModel, tokenizer) -> None:
    assert is_out_of_memory(RuntimeError("DefaultCPUAllocator: can't allocate memory"))
    assert not is_out_of_memory(RuntimeError("shape mismatch"))
    calls = []

    def fail(*_args):
        calls.append(1)
        raise RuntimeError("shape mismatch")

    handle = find_layers(llama.model)[0].register_forward_pre_hook(fail)
    try:
        with pytest.raises(RuntimeError, match="shape mismatch"):
            generate(llama.model, tokenizer, PROMPTS, max_new_tokens=2, progress=False)
    finally:
        handle.remove()
    assert len(calls) == 1


def test_generate_validates_its_arguments(llama: TinyModel, tokenizer) -> None:
    model = llama.model
    with pytest.raises(ValueError, match="layer"):
        generate(model, tokenizer, PROMPTS, direction=unit_direction(), strengths=[1.0] * 3)
    with pytest.raises(ValueError, match="3 prompts but 2 strengths"):
        generate(model, tokenizer, PROMPTS, layer=0, direction=unit_direction(), strengths=[1, 2])
    with pytest.raises(ValueError, match="3 prompts but 2 direction rows"):
        generate(
            model, tokenizer, PROMPTS, layer=0, direction=unit_direction(rows=2), strengths=[1] * 3
        )
    with pytest.raises(ValueError, match="max_new_tokens"):
        generate(model, tokenizer, PROMPTS, max_new_tokens=0)


def test_sampling_is_reproducible_with_a_seed(llama: TinyModel, tokenizer) -> None:
    kwargs = {"max_new_tokens": NEW_TOKENS, "do_sample": True, "progress": False}
    first = generate(llama.model, tokenizer, PROMPTS, seed=7, **kwargs)
    again = generate(llama.model, tokenizer, PROMPTS, seed=7, **kwargs)
    other = generate(llama.model, tokenizer, PROMPTS, seed=8, **kwargs)
    assert _tokens(first) == _tokens(again)
    assert _tokens(first) != _tokens(other)


def test_rows_are_split_into_equal_batches(llama: TinyModel, tokenizer) -> None:
    sizes = []

    def record(_module, args):
        sizes.append(args[0].shape[0])

    prompts = [*PROMPTS, *PROMPTS, PROMPTS[0]]
    handle = find_layers(llama.model)[0].register_forward_pre_hook(record)
    try:
        generate(llama.model, tokenizer, prompts, max_new_tokens=2, batch_size=5, progress=False)
    finally:
        handle.remove()
    # 7 rows at batch_size 5: two batches of 4 and 3 rows, not 5 and 2.
    assert sorted(set(sizes)) == [3, 4]


def test_row_vectors_shares_stacks_or_skips() -> None:
    a, b = np.ones(4, dtype=np.float32), np.full(4, 2.0)
    assert row_vectors({"a": a}, [None, None]) is None
    shared = row_vectors({"a": a}, ["a", "a"])
    assert shared is not None and shared.shape == (4,) and shared.dtype == torch.float32
    stacked = row_vectors({"a": a, "b": b}, ["b", None, "a"])
    assert stacked is not None and stacked.dtype == torch.float32
    np.testing.assert_array_equal(stacked.numpy(), np.stack([b, np.zeros(4), a]))
    mixed = row_vectors({"a": a}, ["a", None])
    assert mixed is not None and mixed.shape == (2, 4)


@pytest.mark.parametrize("strength", [1e30, -1e30, 100.5, float("inf"), float("nan")])
def test_generate_refuses_absurd_strengths(llama: TinyModel, tokenizer, strength: float) -> None:
    with pytest.raises(ValueError, match=r"strength .* not a finite number in \[-100, 100\]"):
        generate(
            llama.model,
            tokenizer,
            PROMPTS[:1],
            layer=STEER_LAYER,
            direction=unit_direction(),
            strengths=[strength],
            max_new_tokens=2,
            progress=False,
        )
    assert not leftover_hooks(llama.model)
