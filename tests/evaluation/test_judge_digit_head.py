"""The judge's digit-only output layer: the same logits in fp32, exact fp32 digits for bf16."""

from __future__ import annotations

import pytest
import torch

from steering.evaluation.judges.digit_head import digit_logits
from tests.helpers.tiny_models import tiny_model

DIGITS = [5, 17, 3, 40, 41, 42, 8, 9, 77, 12]


@pytest.mark.parametrize("arch", ["llama", "gemma3", "gpt2"])
def test_digit_columns_equal_the_full_output_layers(arch):
    model = tiny_model(arch, "fp32").model
    ids = torch.randint(100, 200, (3, 7), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        full = model(input_ids=ids).logits[..., DIGITS]
        with digit_logits(model, DIGITS) as digits:
            cut = digits(model(input_ids=ids).logits)
    assert cut.shape == full.shape and cut.dtype == torch.float32
    torch.testing.assert_close(cut, full, rtol=1e-5, atol=1e-5)
    assert not model.get_output_embeddings()._forward_hooks  # the hook is gone afterwards
    with torch.no_grad():  # and the model is whole again
        assert model(input_ids=ids).logits.shape[-1] == model.config.vocab_size


def test_bf16_model_gets_digit_logits_in_fp32_from_its_last_hidden_state():
    model = tiny_model("llama", "bf16").model
    ids = torch.randint(100, 200, (2, 6), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        hidden = model(input_ids=ids, output_hidden_states=True).hidden_states[-1]
        head = model.get_output_embeddings().weight[DIGITS].float()
        expected = hidden.float() @ head.T  # fp32 product of the bf16 model's hidden state
        rounded = model(input_ids=ids).logits[..., DIGITS]
        with digit_logits(model, DIGITS) as digits:
            cut = digits(model(input_ids=ids).logits)
    assert rounded.dtype == torch.bfloat16 and cut.dtype == torch.float32
    torch.testing.assert_close(cut, expected, rtol=1e-6, atol=1e-6)
    assert not torch.equal(cut, rounded.float())  # bf16 logits would have rounded them
