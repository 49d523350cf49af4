"""Model loading, tokenizer preparation, dtype/device resolution, memory tracking."""

from __future__ import annotations

import copy
import time

import pytest
import torch

from steering.core.memory import track_peak_memory
from steering.core.models import (
    EMBEDDED_MODELS,
    embedded_model_dir,
    has_fast_bf16,
    load_model,
    model_identity,
    prepare_tokenizer,
    resolve_device,
    resolve_dtype,
    resolve_reading_dtype,
)
from tests.helpers.tiny_models import TinyModel


def test_unknown_name_is_refused_without_the_network() -> None:
    with pytest.raises(ValueError) as info:
        load_model("not-a-model", device="cpu")
    message = str(info.value)
    assert "not-a-model" in message
    assert all(name in message for name in EMBEDDED_MODELS)
    with pytest.raises(ValueError, match="Unknown embedded model"):
        embedded_model_dir("gemma-9000")


@pytest.mark.parametrize("spec", ["./no/such/folder", "/definitely/missing/model"])
def test_missing_local_path_is_refused(spec: str) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_model(spec, device="cpu")


def test_load_model_from_a_local_folder(llama: TinyModel, tokenizer, tmp_path) -> None:
    folder = tmp_path / "tiny"
    llama.model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    model, tok = load_model(str(folder), dtype="float16", device="cpu")
    assert next(model.parameters()).dtype == torch.float16
    assert not model.training
    assert tok.padding_side == "left" and tok.pad_token is not None
    assert model_identity(model) == {"model_id": str(folder), "model_revision": None}
    ids = torch.tensor([tok("Hello there")["input_ids"]])
    with torch.no_grad():
        expected = llama.model(input_ids=ids).logits
        got = model.float()(input_ids=ids).logits
    assert torch.allclose(got, expected, atol=0.05 * float(expected.std()))


def test_tokenizer_without_pad_token_gets_one_and_pads_left(tokenizer) -> None:
    bare = copy.deepcopy(tokenizer)
    bare.pad_token = None
    bare.padding_side = "right"
    assert bare.pad_token is None
    prepared = prepare_tokenizer(bare)
    assert prepared.pad_token == tokenizer.eos_token
    assert prepared.padding_side == "left"
    batch = prepared(["Hi", "A much longer sentence here"], padding=True)
    assert batch["attention_mask"][0][0] == 0 and batch["attention_mask"][0][-1] == 1
    assert batch["input_ids"][0][0] == prepared.pad_token_id


def test_tokenizer_without_any_fallback_token_is_refused(tokenizer) -> None:
    bare = copy.deepcopy(tokenizer)
    bare.pad_token = None
    bare.eos_token = None
    bare.unk_token = None
    with pytest.raises(ValueError, match="no pad, eos or unk token"):
        prepare_tokenizer(bare)


@pytest.mark.parametrize("amx", [True, False])
def test_reading_dtype_auto_is_bf16_only_where_the_cpu_has_amx(monkeypatch, amx) -> None:
    # the hardware probe is replaced: this machine has one answer, the rule has two branches
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)
    assert has_fast_bf16(torch.device("cpu")) is amx
    assert resolve_reading_dtype("auto", "cpu") == (torch.bfloat16 if amx else torch.float32)
    assert resolve_dtype("auto", torch.device("cpu")) == torch.float32  # generation: fp32
    assert resolve_reading_dtype("float32", "cpu") == torch.float32


def test_dtype_and_device_resolution() -> None:
    cpu = torch.device("cpu")
    assert resolve_dtype("auto", cpu) == torch.float32
    assert resolve_dtype("bf16", cpu) == torch.bfloat16
    assert resolve_dtype(torch.float16, cpu) == torch.float16
    with pytest.raises(ValueError, match="Unknown dtype"):
        resolve_dtype("float8", cpu)
    assert resolve_device("cpu") == cpu
    assert resolve_reading_dtype("fp32", "cpu") == torch.float32  # explicit names as asked
    assert resolve_reading_dtype("float16", cpu) == torch.float16
    fast = torch.bfloat16 if has_fast_bf16(cpu) else torch.float32
    assert resolve_reading_dtype("auto", "cpu") == fast
    if not torch.cuda.is_available():
        assert resolve_device("auto") == cpu
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device("cuda")


def test_track_peak_memory_reports_rss_on_cpu() -> None:
    with track_peak_memory("cpu", interval=0.005) as peak:
        block = torch.ones(4_000_000)  # 16 MB
        time.sleep(0.03)
        del block
    assert peak.kind == "rss"
    assert peak.peak_mb > 16
    assert peak.seconds >= 0.03
