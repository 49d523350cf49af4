"""Hooks steer and record inside their context only, in every dtype, and never outlive it."""

from __future__ import annotations

import pytest
import torch

from steering.core.hooks import StopForward, forward_to_layer, record_residual, steer
from steering.core.layers import find_layers
from tests.helpers.tiny_models import (
    HIDDEN,
    STEER_LAYER,
    TinyModel,
    all_block_hooks_empty,
    encode,
    residual_norm,
    tiny_model,
    unit_direction,
)


def _logits(model, ids, mask) -> torch.Tensor:
    with torch.no_grad():
        return model(input_ids=ids, attention_mask=mask).logits


def test_steer_changes_logits_and_removal_restores_them_exactly(
    any_model: TinyModel, tokenizer
) -> None:
    model = any_model.model
    ids, mask = encode(tokenizer)
    before = _logits(model, ids, mask)
    norm = residual_norm(model, tokenizer)
    block = find_layers(model)[STEER_LAYER]
    n_hooks = len(block._forward_hooks)
    with steer(model, STEER_LAYER, unit_direction(), 2.0 * norm, batch_size=ids.shape[0]):
        steered = _logits(model, ids, mask)
        assert len(block._forward_hooks) == n_hooks + 1
    after = _logits(model, ids, mask)
    assert steered.dtype == any_model.dtype  # the fp32 vector was cast, no dtype error
    assert torch.isfinite(steered).all()
    assert not torch.allclose(steered.float(), before.float(), atol=1e-2)
    assert torch.equal(after, before)
    assert all_block_hooks_empty(model)


def test_record_residual_records_and_removal_restores_logits(
    any_model: TinyModel, tokenizer
) -> None:
    model = any_model.model
    ids, mask = encode(tokenizer)
    before = _logits(model, ids, mask)
    with record_residual(model, -1) as record:
        during = _logits(model, ids, mask)
    after = _logits(model, ids, mask)
    assert len(record.outputs) == 1
    assert record.outputs[0].shape == (*ids.shape, HIDDEN)
    assert record.outputs[0].dtype == any_model.dtype
    assert torch.equal(during, before)
    assert torch.equal(after, before)
    assert all_block_hooks_empty(model)


def test_record_residual_matches_output_hidden_states(llama: TinyModel, tokenizer) -> None:
    model = llama.model
    ids, mask = encode(tokenizer)
    with torch.no_grad():
        hidden_states = model(
            input_ids=ids, attention_mask=mask, output_hidden_states=True
        ).hidden_states
    got = forward_to_layer(model, STEER_LAYER, ids, mask)
    # hidden_states[0] is the embedding output, hidden_states[i + 1] block i's output.
    assert torch.allclose(got, hidden_states[STEER_LAYER + 1], atol=1e-6)
    assert all_block_hooks_empty(model)


def test_steer_adds_exactly_strength_times_direction_per_row(llama: TinyModel, tokenizer) -> None:
    model = llama.model
    ids, mask = encode(tokenizer)
    direction = unit_direction(seed=3)
    strengths = torch.tensor([0.0, 1.5, -2.0])
    with record_residual(model, STEER_LAYER) as plain, torch.no_grad():
        model(input_ids=ids, attention_mask=mask)
    # The recording hook is registered after the steering hook, so it sees the steered output.
    with (
        steer(model, STEER_LAYER, direction, strengths),
        record_residual(model, STEER_LAYER) as steered,
        torch.no_grad(),
    ):
        model(input_ids=ids, attention_mask=mask)
    added = steered.outputs[0] - plain.outputs[0]
    expected = (strengths[:, None] * direction[None, :])[:, None, :].expand_as(added)
    assert torch.allclose(added, expected, atol=1e-5)


def test_exception_inside_the_context_removes_every_hook(any_model: TinyModel, tokenizer) -> None:
    model = any_model.model
    ids, mask = encode(tokenizer)
    with (
        pytest.raises(RuntimeError, match="boom"),
        steer(model, 0, unit_direction(), 1.0, batch_size=ids.shape[0]),
        record_residual(model, -1),
    ):
        _logits(model, ids, mask)
        raise RuntimeError("boom")
    assert all_block_hooks_empty(model)


def test_stop_forward_skips_later_blocks_and_leaves_no_hook(llama: TinyModel, tokenizer) -> None:
    model = llama.model
    ids, mask = encode(tokenizer)
    calls: list[int] = []
    last = find_layers(model)[-1]
    handle = last.register_forward_pre_hook(lambda *_: calls.append(1))
    try:
        hidden = forward_to_layer(model, 0, ids, mask)
    finally:
        handle.remove()
    assert calls == []
    assert hidden.shape == (*ids.shape, HIDDEN)
    with pytest.raises(StopForward), record_residual(model, 0, stop=True), torch.no_grad():
        model(input_ids=ids, attention_mask=mask)
    assert all_block_hooks_empty(model)


def test_steer_refuses_bad_shapes_and_values(llama: TinyModel) -> None:
    model = llama.model
    with (
        pytest.raises(ValueError, match="hidden size"),
        steer(model, 0, torch.ones(HIDDEN + 1), 1.0, batch_size=1),
    ):
        pass
    with pytest.raises(ValueError, match="batch_size"), steer(model, 0, torch.ones(HIDDEN), 1.0):
        pass
    with (
        pytest.raises(ValueError, match="finite"),
        steer(model, 0, torch.ones(HIDDEN), torch.tensor([float("nan")])),
    ):
        pass
    with (
        pytest.raises(ValueError, match="2 direction rows but 3 strengths"),
        steer(model, 0, torch.ones(2, HIDDEN), torch.ones(3)),
    ):
        pass
    with (
        pytest.raises(ValueError, match="out of range"),
        steer(model, 99, torch.ones(HIDDEN), 1.0, batch_size=1),
    ):
        pass
    assert all_block_hooks_empty(model)


def test_batch_mismatch_inside_the_hook_is_an_error(llama: TinyModel, tokenizer) -> None:
    model = llama.model
    ids, mask = encode(tokenizer)
    with (
        pytest.raises(ValueError, match="one strength per row"),
        steer(model, 0, unit_direction(), torch.ones(ids.shape[0] + 1)),
    ):
        _logits(model, ids, mask)
    assert all_block_hooks_empty(model)


def test_steer_refuses_a_strength_overflowing_the_dtype(tokenizer) -> None:
    ids, mask = encode(tokenizer)
    model = tiny_model("llama", "fp16").model
    with (
        pytest.raises(ValueError, match=r"overflows the activations' dtype torch.float16"),
        steer(model, 0, torch.ones(HIDDEN), 1e30, batch_size=ids.shape[0]),
        torch.no_grad(),
    ):
        model(input_ids=ids, attention_mask=mask)
    assert all_block_hooks_empty(model)


def test_steer_refuses_a_non_finite_direction(llama: TinyModel) -> None:
    direction = torch.ones(HIDDEN)
    direction[3] = float("inf")
    with (
        pytest.raises(ValueError, match="non-finite entries.*full_strength_norm"),
        steer(llama.model, 0, direction, 1.0, batch_size=1),
    ):
        pass
    assert all_block_hooks_empty(llama.model)
