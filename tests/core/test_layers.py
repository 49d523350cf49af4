"""Decoder blocks are found for every architecture; layer indices resolve and are range-checked."""

from __future__ import annotations

import pytest
from torch import nn

from steering.core.layers import (
    find_layers,
    get_layer,
    guess_layer_template,
    num_layers,
    resolve_layer,
)
from tests.helpers.tiny_models import BLOCK_PATHS, MODEL_CLASSES, N_LAYERS, TinyModel


def test_find_layers_returns_the_decoder_blocks_in_order(any_model: TinyModel) -> None:
    model = any_model.model
    assert type(model).__name__ == MODEL_CLASSES[any_model.arch]
    assert next(model.parameters()).dtype == any_model.dtype
    path = BLOCK_PATHS[any_model.arch]
    assert guess_layer_template(model) == path + ".{num}"
    expected = list(model.get_submodule(path))
    blocks = find_layers(model)
    assert len(blocks) == N_LAYERS == num_layers(model)
    assert all(got is want for got, want in zip(blocks, expected, strict=True))


@pytest.mark.parametrize("index", [0, 1, -1, -N_LAYERS])
def test_resolve_layer_handles_negative_indices(any_model: TinyModel, index: int) -> None:
    model = any_model.model
    resolved = resolve_layer(model, index)
    assert resolved == index % N_LAYERS
    assert get_layer(model, index) is find_layers(model)[resolved]


@pytest.mark.parametrize("index", [N_LAYERS, -N_LAYERS - 1, 100])
def test_out_of_range_layer_names_the_valid_range(any_model: TinyModel, index: int) -> None:
    with pytest.raises(ValueError) as info:
        resolve_layer(any_model.model, index)
    message = str(info.value)
    assert f"layer={index}" in message
    assert f"0..{N_LAYERS - 1}" in message
    assert f"-{N_LAYERS}..-1" in message


def test_explicit_template_overrides_the_guess(llama: TinyModel) -> None:
    blocks = find_layers(llama.model, "model.layers.{num}.mlp")
    assert len(blocks) == N_LAYERS
    assert blocks[0] is llama.model.model.layers[0].mlp
    with pytest.raises(ValueError, match=r"\{num\}"):
        find_layers(llama.model, "model.layers")
    with pytest.raises(ValueError, match="matches no module"):
        find_layers(llama.model, "decoder.blocks.{num}")


def test_unknown_architecture_lists_candidate_module_lists() -> None:
    class Odd(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stack = nn.ModuleList([nn.Linear(2, 2) for _ in range(2)])

    with pytest.raises(ValueError, match=r"stack.*layer_template"):
        guess_layer_template(Odd())
