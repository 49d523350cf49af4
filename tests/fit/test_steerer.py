"""ManifoldSteerer: every method fits sane, unit vectors; files round-trip; generation."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest

from steering.fit.calibration import CalibrationSettings
from steering.fit.directions import METHODS
from steering.fit.report import FitReport
from steering.fit.steerer import ManifoldSteerer
from steering.fit.vector_files import VectorFileError
from tests.helpers.tiny_models import HIDDEN, PROMPTS, STEER_LAYER, TinyModel, leftover_hooks

SUBJECTS = ["The old", "A small", "My neighbor's", "That quiet", "Every young", "One brave"]
CONCEPT_WORDS = {
    "animal": "dog chased a rabbit across the field while the cat watched from the barn.",
    "weather": "storm brought heavy rain, thunder and cold wind to the valley all night.",
    "food": "baker pulled warm bread and sweet apple pies from the oven for dinner.",
}
# Every concept example shares a storytelling frame the neutral ones lack: a direction common
# to all concepts, which the contamination step is there to remove.
FRAME = "Once upon a time, in a happy story told by the fire,"
EXAMPLES = {
    c: [f"{FRAME} {s.lower()} {tail}" for s in SUBJECTS] for c, tail in CONCEPT_WORDS.items()
}
NEUTRAL = [f"{s} report lists the dates, numbers and page references in order." for s in SUBJECTS]
FIXED = CalibrationSettings(mode="fixed", fixed_multiple=1.0)


def _mean_cosine(cosines: dict[str, float]) -> float:
    return float(np.mean(list(cosines.values())))


_FITS: dict[str, tuple[ManifoldSteerer, FitReport]] = {}


def _fitted(model: TinyModel, tokenizer, method: str) -> tuple[ManifoldSteerer, FitReport]:
    if method not in _FITS:
        steerer = ManifoldSteerer(
            model.model,
            tokenizer,
            layer=STEER_LAYER,
            method=method,
            calibration=FIXED,
            manifold_tokens=12,
        )
        _FITS[method] = (steerer, steerer.fit(EXAMPLES, NEUTRAL, PROMPTS))
    return _FITS[method]


@pytest.mark.parametrize("method", METHODS)
def test_fit_every_method(llama: TinyModel, tokenizer, method: str) -> None:
    steerer, report = _fitted(llama, tokenizer, method)
    assert report.method == method and report.layer == STEER_LAYER
    assert report.n_examples == {c: len(t) for c, t in EXAMPLES.items()}
    assert report.fit_seconds > 0 and report.peak_memory_mb > 0 and report.memory_kind == "rss"
    # the fit itself and the calibration are timed apart, both inside the whole fit's time
    assert report.direction_seconds > 0 and report.calibration_seconds > 0
    assert report.direction_seconds + report.calibration_seconds <= report.fit_seconds
    assert set(report.cosine_raw) == {"animal|food", "animal|weather", "food|weather"}
    assert sorted(steerer.vectors) == sorted(EXAMPLES)
    for concept, vector in steerer.vectors.items():
        assert vector.direction.shape == (HIDDEN,) and vector.direction.dtype == np.float32
        assert np.linalg.norm(vector.direction) == pytest.approx(1.0, abs=1e-5)
        assert vector.full_strength_norm == pytest.approx(vector.raw_norm) and vector.raw_norm > 0
        assert vector.method == method
        assert 0 < report.retained_norm[concept] <= 1.0 + 1e-9
        assert report.calibration[concept]["multiple"] == 1.0
    uses_contamination = method in ("contamination", "dual")
    uses_manifold = method in ("manifold", "dual")
    assert (report.contamination_rank == 1) == uses_contamination
    assert (report.manifold_rank is not None) == uses_manifold
    expected_svds = {"contamination"} if uses_contamination else set()
    assert set(report.svd_methods) == expected_svds | ({"manifold"} if uses_manifold else set())
    assert not any("SVD" in w for w in report.warnings)  # low kept norm warns (random model)
    assert all(not f for f in report.svd_fallbacks.values())
    if uses_manifold:
        assert report.manifold_samples >= 8 and 1 <= report.manifold_rank < HIDDEN
        assert 0 < report.manifold_explained <= 1
    if method == "diffmean":
        assert report.cosine_final == pytest.approx(report.cosine_raw)
        assert all(r == pytest.approx(1.0) for r in report.retained_norm.values())
    assert steerer.metadata["model_id"] == "tiny-llama"
    assert steerer.metadata["layer"] == STEER_LAYER and steerer.metadata["hidden_size"] == HIDDEN
    assert leftover_hooks(llama.model) == []


@pytest.mark.parametrize("method", ["contamination", "dual"])
def test_contamination_lowers_the_pairwise_cosine(llama: TinyModel, tokenizer, method) -> None:
    _, report = _fitted(llama, tokenizer, method)
    assert _mean_cosine(report.cosine_final) < _mean_cosine(report.cosine_raw) - 0.05
    diffmean = _fitted(llama, tokenizer, "diffmean")[0].vectors
    raw_cos = [
        float(diffmean[a].direction @ diffmean[b].direction)
        for a, b in itertools.combinations(sorted(diffmean), 2)
    ]
    assert np.mean(raw_cos) == pytest.approx(_mean_cosine(report.cosine_raw), abs=1e-5)


def test_steering_changes_generation_and_zero_does_not(llama: TinyModel, tokenizer) -> None:
    steerer, _ = _fitted(llama, tokenizer, "diffmean")
    base = steerer.generate_batch(PROMPTS, None, 0.0, max_new_tokens=8, progress=False)
    zero = steerer.generate_batch(PROMPTS, "animal", 0.0, max_new_tokens=8, progress=False)
    strong = steerer.generate_batch(PROMPTS, "animal", 3.0, max_new_tokens=8, progress=False)
    assert zero == base and strong != base
    with pytest.raises(ValueError, match="not a finite"):
        steerer.generate_batch(PROMPTS, "animal", float("nan"))
    for absurd in (1e30, -1e30, 101.0):
        expected = re.escape(f"strength {absurd!r} is not a finite number in [-100, 100]")
        with pytest.raises(ValueError, match=expected):
            steerer.generate_batch(PROMPTS, "animal", absurd, max_new_tokens=2, progress=False)


def test_save_load_round_trip_reproduces_generations(llama: TinyModel, tokenizer, tmp_path):
    steerer, _ = _fitted(llama, tokenizer, "dual")
    path = tmp_path / "dual"
    steerer.save(path)
    loaded = ManifoldSteerer.load(path, llama.model, tokenizer)
    assert loaded.layer == STEER_LAYER and loaded.method == "dual"
    for concept in EXAMPLES:
        np.testing.assert_array_equal(
            loaded.vectors[concept].direction, steerer.vectors[concept].direction
        )
        strengths = [1.0, -1.0, 2.0]
        assert loaded.generate_batch(
            PROMPTS, concept, strengths, max_new_tokens=8, progress=False
        ) == steerer.generate_batch(PROMPTS, concept, strengths, max_new_tokens=8, progress=False)


def test_load_refuses_another_model(llama: TinyModel, tokenizer, tmp_path) -> None:
    steerer, _ = _fitted(llama, tokenizer, "diffmean")
    steerer.save(tmp_path / "v")
    from tests.helpers.tiny_models import tiny_model

    other = tiny_model("qwen2").model
    with pytest.raises(VectorFileError, match="tiny-llama.*tiny-qwen2"):
        ManifoldSteerer.load(tmp_path / "v", other, tokenizer)


def test_fit_input_checks(llama: TinyModel, tokenizer) -> None:
    with pytest.raises(ValueError, match="Unknown method"):
        ManifoldSteerer(llama.model, tokenizer, layer=0, method="magic")
    steerer = ManifoldSteerer(llama.model, tokenizer, layer=0, method="dual", calibration=FIXED)
    with pytest.raises(ValueError, match="at least 2 concepts"):
        steerer.fit({"animal": EXAMPLES["animal"]}, NEUTRAL, PROMPTS)
    duplicated = {"animal": [EXAMPLES["animal"][0]] * 2}
    with pytest.raises(ValueError, match="duplicates"):
        steerer.fit(duplicated, NEUTRAL, PROMPTS)
    with pytest.raises(ValueError, match="empty"):
        steerer.fit({"animal": ["  "]}, NEUTRAL, PROMPTS)
    with pytest.raises(ValueError, match="Nothing to save"):
        ManifoldSteerer(llama.model, tokenizer, layer=0).save("/nonexistent/x")
    with pytest.raises(ValueError, match="out of range"):
        ManifoldSteerer(llama.model, tokenizer, layer=7)


def test_generate_rows_mixes_concepts_in_one_call(llama: TinyModel, tokenizer) -> None:
    steerer, _ = _fitted(llama, tokenizer, "diffmean")
    concepts = ["animal", None, "food"]
    strengths = [2.0, 0.0, -2.0]
    mixed = steerer.generate_rows(
        PROMPTS, concepts, strengths, max_new_tokens=6, batch_size=2, progress=False
    )
    alone = [
        steerer.generate_batch([p], c, [s], max_new_tokens=6, progress=False)[0]
        for p, c, s in zip(PROMPTS, concepts, strengths, strict=True)
    ]
    assert [g.text for g in mixed] == alone
    with pytest.raises(ValueError, match="3 prompts but 2 concepts"):
        steerer.generate_rows(PROMPTS, ["animal", "food"], 1.0)
    with pytest.raises(ValueError, match="'vehicle' not fitted"):
        steerer.generate_rows(PROMPTS, ["animal", "vehicle", None], 1.0)


def test_load_refuses_another_layer(llama: TinyModel, tokenizer, tmp_path) -> None:
    steerer, _ = _fitted(llama, tokenizer, "diffmean")
    steerer.save(tmp_path / "v")
    loaded = ManifoldSteerer.load(tmp_path / "v", llama.model, tokenizer, expect_layer=STEER_LAYER)
    assert loaded.layer == STEER_LAYER
    with pytest.raises(VectorFileError, match=f"not layer {STEER_LAYER - 1}"):
        ManifoldSteerer.load(tmp_path / "v", llama.model, tokenizer, expect_layer=STEER_LAYER - 1)


def test_save_with_dotted_names_keeps_both_sets(llama: TinyModel, tokenizer, tmp_path) -> None:
    steerer, _ = _fitted(llama, tokenizer, "diffmean")
    steerer.save(tmp_path / "animal.v2")
    changed = {c: v.with_full_strength_norm(7.0) for c, v in steerer.vectors.items()}
    steerer.vectors = changed
    steerer.save(tmp_path / "animal.v3")
    v2 = ManifoldSteerer.load(tmp_path / "animal.v2", llama.model, tokenizer)
    v3 = ManifoldSteerer.load(tmp_path / "animal.v3", llama.model, tokenizer)
    assert all(v.full_strength_norm == 7.0 for v in v3.vectors.values())
    assert all(v.full_strength_norm != 7.0 for v in v2.vectors.values())


def test_load_refuses_a_nan_norm(llama: TinyModel, tokenizer, tmp_path) -> None:
    import json

    steerer, _ = _fitted(llama, tokenizer, "diffmean")
    steerer.save(tmp_path / "v")
    meta_path = tmp_path / "v.json"
    meta = json.loads(meta_path.read_text())
    meta["resamples"][0]["animal"]["full_strength_norm"] = float("nan")
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(VectorFileError, match="v.json"):
        ManifoldSteerer.load(tmp_path / "v", llama.model, tokenizer)
