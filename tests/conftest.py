"""Shared fixtures: one torch thread, the real SmolLM2 tokenizer, tiny models per arch x dtype."""

from __future__ import annotations

import pytest
import torch

from tests.helpers.tiny_models import ARCHS, DTYPES, TinyModel, tiny_model  # noqa: E402

# The test machines have few cores shared with other jobs; more threads make torch much slower.
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tokenizer():
    """The SmolLM2 tokenizer (vocab 49152) from the embedded-model cache, ready for steering."""
    from transformers import AutoTokenizer

    from steering.core.models import embedded_model_dir, prepare_tokenizer

    try:
        folder = embedded_model_dir("smollm2-135m-instruct")
    except ModuleNotFoundError as error:  # the embedded-model package is not installed
        pytest.skip(f"SmolLM2 tokenizer unavailable: {error}")
    return prepare_tokenizer(AutoTokenizer.from_pretrained(str(folder)))


ARCH_DTYPE_CASES = [(arch, dtype) for arch in ARCHS for dtype in DTYPES]


@pytest.fixture(params=ARCH_DTYPE_CASES, ids=[f"{a}-{d}" for a, d in ARCH_DTYPE_CASES])
def any_model(request) -> TinyModel:
    """Every tiny architecture in fp32, fp16 and bf16 (built once per session)."""
    arch, dtype_name = request.param
    return tiny_model(arch, dtype_name)


@pytest.fixture
def llama() -> TinyModel:
    """The tiny fp32 Llama."""
    return tiny_model("llama", "fp32")
