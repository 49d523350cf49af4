"""A prepared model folder stored once in the run's dtype, and embedded models loaded from it."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM

from steering.core.model_store import (
    COPY_MARKER,
    copy_dir,
    folder_dtype,
    store_in_dtype,
    stored_copy,
)
from steering.core.models import CACHE_MARKER, load_model, model_identity
from tests.helpers.tiny_models import tiny_model


def _save(folder: Path, tokenizer, scale: float = 1.0) -> Path:
    model = copy.deepcopy(tiny_model("gemma3").model)
    with torch.no_grad():
        for param in model.parameters():
            param.mul_(scale)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    (folder / CACHE_MARKER).write_text(json.dumps({"name": "tiny", "gguf_sha256": "x"}))
    return folder


def _weights(folder: Path, dtype: torch.dtype) -> dict[str, torch.Tensor]:
    return AutoModelForCausalLM.from_pretrained(str(folder), dtype=dtype).state_dict()


def _assert_same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    assert all(a[k].dtype == b[k].dtype and torch.equal(a[k], b[k]) for k in a)


def test_copy_holds_the_cast_weights_and_is_written_once(tmp_path, tokenizer) -> None:
    folder = _save(tmp_path / "models" / "tiny", tokenizer)
    assert folder_dtype(folder) == "float32"
    assert store_in_dtype(folder, torch.float32) == folder  # fp32 runs read the folder itself
    assert stored_copy(folder, torch.bfloat16) is None
    kept = store_in_dtype(folder, torch.bfloat16)
    assert kept == copy_dir(folder, torch.bfloat16) == tmp_path / "models" / "tiny.bfloat16"
    assert folder_dtype(kept) == "bfloat16"
    assert (kept / "tokenizer.json").is_file() and (kept / CACHE_MARKER).is_file()
    marker = json.loads((kept / COPY_MARKER).read_text())
    assert marker["dtype"] == "bfloat16" and marker["source"] == str(folder)
    # bit for bit what loading the fp32 folder with dtype bf16 gives, in half the bytes
    _assert_same(_weights(kept, torch.bfloat16), _weights(folder, torch.bfloat16))
    size = {p: (p / "model.safetensors").stat().st_size for p in (folder, kept)}
    assert size[kept] < 0.6 * size[folder]
    written = (kept / COPY_MARKER).stat().st_mtime_ns
    assert store_in_dtype(folder, torch.bfloat16) == kept
    assert (kept / COPY_MARKER).stat().st_mtime_ns == written  # not rewritten
    assert store_in_dtype(folder, torch.float16) == tmp_path / "models" / "tiny.float16"


def test_a_rebuilt_source_makes_the_copy_stale(tmp_path, tokenizer) -> None:
    folder = _save(tmp_path / "tiny", tokenizer)
    kept = store_in_dtype(folder, torch.bfloat16)
    _save(folder, tokenizer, scale=0.5)  # the fp32 folder converted again, other weights
    assert stored_copy(folder, torch.bfloat16) is None
    assert store_in_dtype(folder, torch.bfloat16) == kept
    _assert_same(_weights(kept, torch.bfloat16), _weights(folder, torch.bfloat16))


def test_an_incomplete_copy_is_rewritten(tmp_path, tokenizer) -> None:
    folder = _save(tmp_path / "tiny", tokenizer)
    target = copy_dir(folder, torch.bfloat16)
    target.mkdir()
    (target / "model.safetensors").write_bytes(b"killed mid-write")
    assert stored_copy(folder, torch.bfloat16) is None
    assert store_in_dtype(folder, torch.bfloat16) == target
    _assert_same(_weights(target, torch.bfloat16), _weights(folder, torch.bfloat16))


def test_embedded_model_in_bf16_loads_from_its_copy(tmp_path, monkeypatch, tokenizer) -> None:
    monkeypatch.setenv("STEERING_CACHE", str(tmp_path))
    folder = _save(tmp_path / "models" / "gemma-3-270m", tokenizer)  # a converted stand-in
    model, tok = load_model("gemma-3-270m", dtype="bfloat16", device="cpu")
    kept = tmp_path / "models" / "gemma-3-270m.bfloat16"
    assert model.name_or_path == str(kept) and (kept / COPY_MARKER).is_file()
    assert model.dtype == torch.bfloat16
    assert model_identity(model)["model_id"] == "gemma-3-270m"
    _assert_same(model.state_dict(), _weights(folder, torch.bfloat16))
    fp32, _ = load_model("gemma-3-270m", dtype="float32", device="cpu")
    assert fp32.name_or_path == str(folder)
    assert not (tmp_path / "models" / "gemma-3-270m.float32").exists()
    ids = torch.tensor([tok("Hello there")["input_ids"]])
    with torch.no_grad():
        expected = AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.bfloat16)(
            input_ids=ids
        ).logits
        assert torch.equal(model(input_ids=ids).logits, expected)
