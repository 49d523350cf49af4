"""Vector files: round trip, refusal of other models/layers, corruption, GGUF export."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import torch

from steering.fit.vectors import (
    SteeringVector,
    VectorFileError,
    export_control_vector_gguf,
    load_vectors,
    save_vectors,
)

HIDDEN = 32


def _vector(name: str, seed: int) -> SteeringVector:
    direction = np.random.default_rng(seed).normal(size=HIDDEN).astype(np.float32)
    direction /= np.linalg.norm(direction)
    return SteeringVector(name, direction, 3.5 + seed, 2.0 + seed, "dual", {"multiple": 1.5})


@pytest.fixture
def saved(tmp_path):
    vectors = {"animal": _vector("animal", 0), "person": _vector("person", 1)}
    base = tmp_path / "vecs"
    save_vectors(base, vectors, {"model_id": "tiny-llama", "layer": 2, "method": "dual"})
    return base, vectors


def test_round_trip(saved) -> None:
    base, vectors = saved
    loaded, meta = load_vectors(base, expect_model="tiny-llama", expect_layer=2)
    assert sorted(loaded) == sorted(vectors)
    for name, vector in vectors.items():
        got = loaded[name]
        np.testing.assert_array_equal(got.direction, vector.direction)
        assert (got.full_strength_norm, got.raw_norm, got.method, got.concept) == (
            vector.full_strength_norm,
            vector.raw_norm,
            vector.method,
            vector.concept,
        )
        assert dict(got.calibration) == {"multiple": 1.5}
    assert meta["layer"] == 2 and meta["format_version"] == 2


def test_added_vector_and_tensor(saved) -> None:
    vector = saved[1]["animal"]
    np.testing.assert_allclose(
        vector.added_vector(2.0), 2.0 * vector.full_strength_norm * vector.direction
    )
    tensor = vector.to_tensor(dtype=torch.float16)
    assert tensor.dtype == torch.float16 and tensor.shape == (HIDDEN,)
    assert vector.with_full_strength_norm(1.0).full_strength_norm == 1.0


def test_refuses_another_model_or_layer(saved) -> None:
    base, _ = saved
    with pytest.raises(VectorFileError) as info:
        load_vectors(base, expect_model="gemma-3-270m")
    assert "'tiny-llama'" in str(info.value) and "'gemma-3-270m'" in str(info.value)
    with pytest.raises(VectorFileError) as info:
        load_vectors(base, expect_layer=5)
    assert "layer 2" in str(info.value) and "layer 5" in str(info.value)


def test_corrupt_safetensors_is_detected(saved) -> None:
    base, _ = saved
    tensors = base.with_suffix(".safetensors")
    data = bytearray(tensors.read_bytes())
    data[-3] ^= 0xFF  # flip a byte of the last float
    tensors.write_bytes(bytes(data))
    with pytest.raises(VectorFileError, match="checksum"):
        load_vectors(base)
    # A garbage file whose checksum was also rewritten fails to parse, still a VectorFileError.
    tensors.write_bytes(b"not a safetensors file at all")
    meta_path = base.with_suffix(".json")
    meta = json.loads(meta_path.read_text())
    meta["tensors_sha256"] = hashlib.sha256(tensors.read_bytes()).hexdigest()
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(VectorFileError, match="not a readable safetensors"):
        load_vectors(base)


def test_missing_or_invalid_json(saved) -> None:
    base, _ = saved
    base.with_suffix(".json").write_text("{not json")
    with pytest.raises(VectorFileError, match="not valid JSON"):
        load_vectors(base)
    base.with_suffix(".json").unlink()
    with pytest.raises(VectorFileError, match="missing"):
        load_vectors(base)


def test_older_format_is_refused(saved) -> None:
    base, _ = saved
    meta_path = base.with_suffix(".json")
    meta = json.loads(meta_path.read_text())
    assert meta["format_version"] == 2
    assert "full_strength_norm" in meta["vectors"]["animal"]
    meta["format_version"] = 1
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(VectorFileError, match="format version 1.*reads version 2; refit"):
        load_vectors(base)


def test_gguf_control_vector_export(tmp_path) -> None:
    gguf = pytest.importorskip("gguf")
    vector = _vector("animal", 3)
    path = tmp_path / "animal.gguf"
    export_control_vector_gguf(path, vector, layer=4, n_layers=6, strength=0.5)
    reader = gguf.GGUFReader(str(path))
    names = [t.name for t in reader.tensors]
    assert names == ["direction.5"]
    values = np.asarray(reader.tensors[0].data, dtype=np.float32).reshape(-1)
    np.testing.assert_allclose(values, vector.added_vector(0.5), rtol=1e-6)
    arch = reader.fields["general.architecture"]
    assert bytes(arch.parts[arch.data[0]]).decode() == "controlvector"
    count = reader.fields["controlvector.layer_count"]
    assert int(count.parts[count.data[0]][0]) == 1
    with pytest.raises(ValueError, match="out of range"):
        export_control_vector_gguf(tmp_path / "bad.gguf", vector, layer=6, n_layers=6)
