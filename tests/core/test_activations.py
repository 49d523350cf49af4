"""Pooled activations: an independent masked mean, padding invariance, NaN detection."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from steering.core.activations import (
    collect_activations,
    collect_token_activations,
    example_key,
    example_names,
    tokenize,
)
from tests.helpers.tiny_models import ARCHS, HIDDEN, STEER_LAYER, TinyModel, tiny_model

TEXTS = [
    "A cat.",
    "The quick brown fox jumps over the lazy dog near the river bank today.",
    "<|im_start|>user The meeting is at noon.",  # contains a special token (excluded)
    "Hi",
    "Seven days make one week, and fifty-two weeks make one year.",
]


def _manual_pooled(model, tokenizer, text: str, layer: int, pooling: str) -> np.ndarray:
    """Pool one unpadded text from ``output_hidden_states`` (no hooks involved)."""
    ids = torch.tensor([tokenizer(text)["input_ids"]])
    with torch.no_grad():
        states = model(input_ids=ids, output_hidden_states=True).hidden_states
    hidden = states[layer + 1][0].float()  # states[0] is the embedding output
    if pooling == "last":
        return hidden[-1].numpy()
    keep = torch.tensor([i not in set(tokenizer.all_special_ids) for i in ids[0].tolist()])
    return hidden[keep].mean(dim=0).numpy()


@pytest.mark.parametrize("pooling", ["mean", "last"])
@pytest.mark.parametrize("arch", ["llama", "gpt2", "gemma3-mm"])
def test_pooling_equals_an_independent_masked_computation(tokenizer, arch, pooling) -> None:
    model = tiny_model(arch).model
    special = tokenizer.convert_tokens_to_ids("<|im_start|>")
    assert special in tokenizer(TEXTS[2])["input_ids"]  # the exclusion is exercised
    got = collect_activations(
        model, tokenizer, TEXTS, STEER_LAYER, pooling=pooling, batch_size=8, progress=False
    )
    assert got.shape == (len(TEXTS), HIDDEN) and got.dtype == np.float32
    for row, text in enumerate(TEXTS):
        expected = _manual_pooled(model, tokenizer, text, STEER_LAYER, pooling)
        np.testing.assert_allclose(got[row], expected, atol=1e-4, rtol=1e-4)


def test_mean_pooling_excludes_special_tokens(tokenizer, llama: TinyModel) -> None:
    with_special = collect_activations(
        llama.model, tokenizer, [TEXTS[2]], STEER_LAYER, progress=False
    )
    ids = tokenizer(TEXTS[2])["input_ids"]
    with torch.no_grad():
        states = llama.model(input_ids=torch.tensor([ids]), output_hidden_states=True)
    all_tokens_mean = states.hidden_states[STEER_LAYER + 1][0].mean(dim=0).numpy()
    assert not np.allclose(with_special[0], all_tokens_mean, atol=1e-3)


@pytest.mark.parametrize("arch", ARCHS)
def test_padding_does_not_change_a_row(tokenizer, arch) -> None:
    model = tiny_model(arch).model
    batched = collect_activations(model, tokenizer, TEXTS, 1, batch_size=len(TEXTS), progress=False)
    single = collect_activations(model, tokenizer, TEXTS, 1, batch_size=1, progress=False)
    np.testing.assert_allclose(batched, single, atol=1e-4, rtol=1e-4)


def test_non_finite_activations_name_the_example(tokenizer, llama: TinyModel) -> None:
    model = llama.model
    calls = []

    def poison_second_row_of_second_batch(_module, _inputs, output):
        calls.append(1)
        if len(calls) != 2:
            return output
        hidden = output[0] if isinstance(output, tuple) else output
        hidden = hidden.clone()
        hidden[1] = float("nan")
        return (hidden, *output[1:]) if isinstance(output, tuple) else hidden

    handle = model.model.layers[0].register_forward_hook(poison_second_row_of_second_batch)
    try:  # batches of 2: the second row of the second batch is example 3
        with pytest.raises(FloatingPointError) as info:
            collect_activations(model, tokenizer, TEXTS, 1, batch_size=2, progress=False)
    finally:
        handle.remove()
    message = str(info.value)
    assert "example 3" in message
    assert repr(TEXTS[3][:60]) in message


def test_token_activations_keep_real_tokens_only(tokenizer, llama: TinyModel) -> None:
    sequences = [tokenizer(t)["input_ids"] for t in TEXTS[:3]]
    got = collect_token_activations(llama.model, tokenizer, sequences, 1, progress=False)
    special = set(tokenizer.all_special_ids)
    assert got.shape == (sum(i not in special for s in sequences for i in s), HIDDEN)


def test_long_texts_are_truncated_or_refused(tokenizer) -> None:
    long = "word " * 50
    assert len(tokenize(tokenizer, [long], max_length=10)[0]) == 10
    with pytest.raises(ValueError, match="max_length=10"):
        tokenize(tokenizer, ["short", long], max_length=10, on_long="error")
    with pytest.raises(ValueError, match="no texts"):
        collect_activations(None, tokenizer, [], 0)


def test_example_keys_round_trip() -> None:
    keys = [example_key("animal"), "manifold", example_key("neutral"), example_key("a__b")]
    assert keys[0] == "examples__animal"
    assert example_names(keys) == ["animal", "neutral", "a__b"]
    assert example_names(["manifold"]) == []
