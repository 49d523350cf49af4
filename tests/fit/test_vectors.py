"""Vector files: round trip, refusal of other models/layers, corruption, GGUF export."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from steering.fit.vector_files import (
    VectorFileError,
    load_resampled_vectors,
    load_vectors,
    save_vectors,
)
from steering.fit.vectors import SteeringVector, export_control_vector_gguf

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
    assert meta["layer"] == 2 and meta["format_version"] == 4 and meta["n_resamples"] == 1


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
    assert meta["format_version"] == 4
    assert "full_strength_norm" in meta["resamples"][0]["animal"]
    meta["format_version"] = 3  # one set of vectors, before resamples
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(VectorFileError, match="format version 3.*reads version 4.*rerun the fit"):
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


@pytest.mark.parametrize("names", [("animal.v2", "animal.v3"), ("a.b", "a.c"), ("x", "x.y")])
def test_dotted_names_never_collide(tmp_path, names) -> None:
    meta = {"model_id": "tiny-llama", "layer": 2, "method": "dual"}
    first, second = (tmp_path / "vectors" / name for name in names)
    save_vectors(first, {"animal": _vector("animal", 0)}, meta)
    save_vectors(second, {"animal": _vector("animal", 1)}, meta)
    assert (tmp_path / "vectors" / f"{names[0]}.json").is_file()
    assert (tmp_path / "vectors" / f"{names[1]}.safetensors").is_file()
    for base, seed in ((first, 0), (second, 1)):
        loaded, _ = load_vectors(base)
        np.testing.assert_array_equal(loaded["animal"].direction, _vector("animal", seed).direction)
    # A path naming one of the files names its set.
    loaded, _ = load_vectors(tmp_path / "vectors" / f"{names[0]}.json")
    assert loaded["animal"].full_strength_norm == _vector("animal", 0).full_strength_norm


def _failing_write(monkeypatch, target_suffix: str) -> None:
    """Make the write of the file ending in ``target_suffix`` fail like a full disk."""
    import contextlib
    import errno

    import steering.fit.vector_files as module

    real = module.atomic_path

    @contextlib.contextmanager
    def atomic_path(path, suffix=""):
        with real(path, suffix) as tmp:
            yield tmp
            if str(path).endswith(target_suffix):
                raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(module, "atomic_path", atomic_path)


def test_save_failing_at_the_second_file_leaves_a_readable_pair(saved, monkeypatch, caplog) -> None:
    base, _ = saved
    new = {"animal": _vector("animal", 7), "person": _vector("person", 8)}
    _failing_write(monkeypatch, ".json")
    with pytest.raises(OSError, match="No space left"):
        save_vectors(base, new, {"model_id": "tiny-llama", "layer": 2, "method": "dual"})
    monkeypatch.undo()
    with caplog.at_level("WARNING"):
        loaded, meta = load_vectors(base, expect_model="tiny-llama", expect_layer=2)
    for name, vector in new.items():  # the new pair, read whole from the tensors file
        np.testing.assert_array_equal(loaded[name].direction, vector.direction)
        assert loaded[name].full_strength_norm == vector.full_strength_norm
    assert "interrupted" in caplog.text
    assert sorted(p.name for p in base.parent.iterdir()) == ["vecs.json", "vecs.safetensors"]


def test_save_failing_at_the_first_file_keeps_the_old_pair(saved, monkeypatch) -> None:
    base, old = saved
    _failing_write(monkeypatch, ".safetensors")
    with pytest.raises(OSError, match="No space left"):
        save_vectors(base, {"animal": _vector("animal", 7)}, {"model_id": "m", "layer": 0})
    monkeypatch.undo()
    loaded, _ = load_vectors(base, expect_model="tiny-llama")
    np.testing.assert_array_equal(loaded["animal"].direction, old["animal"].direction)
    assert sorted(p.name for p in base.parent.iterdir()) == ["vecs.json", "vecs.safetensors"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("full_strength_norm", 35.0), ("raw_norm", 1.0), ("method", "diffmean")],
)
def test_edited_json_field_fails_the_metadata_checksum(saved, field, value) -> None:
    base, _ = saved
    meta_path = base.with_suffix(".json")
    meta = json.loads(meta_path.read_text())
    meta["resamples"][0]["animal"][field] = value
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(VectorFileError, match="vecs.json fails its metadata checksum"):
        load_vectors(base)


def test_edited_model_id_fails_the_metadata_checksum(saved) -> None:
    base, _ = saved
    meta_path = base.with_suffix(".json")
    meta = json.loads(meta_path.read_text())
    meta["model_id"] = "gemma-3-270m"
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(VectorFileError, match="metadata checksum"):
        load_vectors(base, expect_model="gemma-3-270m")


@pytest.mark.parametrize("norm", [float("nan"), float("inf"), -1.0, 0.0, "big"])
def test_bad_norm_is_refused_on_load_even_with_a_valid_checksum(saved, norm) -> None:
    from steering.fit.vector_files import _meta_digest

    base, _ = saved
    meta_path = base.with_suffix(".json")
    meta = json.loads(meta_path.read_text())
    meta["resamples"][0]["animal"]["full_strength_norm"] = norm
    meta["meta_sha256"] = _meta_digest(meta)  # a writer that checksummed a bad value
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(VectorFileError, match=r"full_strength_norm of vector 'animal'.*finite"):
        load_vectors(base)


@pytest.mark.parametrize("norm", [float("nan"), float("inf"), 0.0, -2.0])
def test_bad_norm_is_refused_on_save_and_override(tmp_path, norm) -> None:
    vector = _vector("animal", 0)
    with pytest.raises(ValueError, match=f"vector 'animal' is {norm!r}.*finite number > 0"):
        save_vectors(tmp_path / "v", {"animal": replace(vector, full_strength_norm=norm)}, {})
    assert not list(tmp_path.iterdir())
    with pytest.raises(ValueError, match="finite number > 0"):
        vector.with_full_strength_norm(norm)


def test_resamples_round_trip_with_checksums(tmp_path) -> None:
    sets = [
        {c: _vector(c, 10 * r + i) for i, c in enumerate(("animal", "person"))} for r in range(3)
    ]
    base = tmp_path / "resampled"
    save_vectors(base, sets, {"model_id": "m", "layer": 1, "subsets": {"animal": [[0, 2]] * 3}})
    loaded, meta = load_resampled_vectors(base, expect_model="m", expect_layer=1)
    assert meta["n_resamples"] == 3 and meta["subsets"]["animal"] == [[0, 2]] * 3
    for r, vectors in enumerate(sets):
        for name, vector in vectors.items():
            np.testing.assert_array_equal(loaded[r][name].direction, vector.direction)
            assert loaded[r][name].full_strength_norm == vector.full_strength_norm
    one, _ = load_vectors(base, resample=2)
    np.testing.assert_array_equal(one["person"].direction, sets[2]["person"].direction)
    with pytest.raises(VectorFileError, match="holds resamples 0..2, not 3"):
        load_vectors(base, resample=3)
    # An edited norm of a later resample fails the metadata checksum like any other field.
    meta_path = base.with_suffix(".json")
    edited = json.loads(meta_path.read_text())
    edited["resamples"][2]["animal"]["full_strength_norm"] = 99.0
    meta_path.write_text(json.dumps(edited))
    with pytest.raises(VectorFileError, match="metadata checksum"):
        load_resampled_vectors(base)


def test_bad_norm_of_a_later_resample_names_it(tmp_path) -> None:
    good = {"animal": _vector("animal", 0)}
    bad = {"animal": replace(_vector("animal", 1), full_strength_norm=float("nan"))}
    with pytest.raises(ValueError, match="vector 'animal' of resample 1 is nan"):
        save_vectors(tmp_path / "v", [good, bad], {})
