"""Regressions of the prototype's failures, one test each."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch

from steering.core.hooks import steer
from steering.fit.calibration import CalibrationSettings
from steering.fit.steerer import ManifoldSteerer
from steering.fit.subspaces import contamination_subspace, robust_svd, task_manifold
from steering.fit.vectors import SteeringVector
from tests.helpers.tiny_models import STEER_LAYER, encode, leftover_hooks, residual_norm, tiny_model

HIDDEN = 32


def test_fp16_model_steers_with_an_fp32_numpy_vector(tokenizer) -> None:
    """(1) The prototype crashed adding an fp32 vector to fp16 activations."""
    model = tiny_model("llama", "fp16").model
    ids, mask = encode(tokenizer)
    direction = np.random.default_rng(0).normal(size=HIDDEN)
    direction /= np.linalg.norm(direction)
    vector = SteeringVector(
        "x", direction.astype(np.float32), 2 * residual_norm(model, tokenizer), 2.0, "diffmean"
    )
    with torch.no_grad():
        before = model(input_ids=ids, attention_mask=mask).logits
        with steer(model, STEER_LAYER, vector.to_tensor(), 1.0, batch_size=ids.shape[0]):
            steered = model(input_ids=ids, attention_mask=mask).logits
    assert steered.dtype == torch.float16 and torch.isfinite(steered).all()
    assert (steered.float() - before.float()).abs().max() > 0.1
    assert leftover_hooks(model) == []


def test_none_concept_is_the_baseline_and_unknown_concepts_are_named(tokenizer) -> None:
    """(2) The prototype had no unsteered baseline and a KeyError for unknown concepts."""
    model = tiny_model("llama").model
    steerer = ManifoldSteerer(model, tokenizer, layer=STEER_LAYER, method="diffmean")
    steerer.vectors = {
        name: SteeringVector(name, np.eye(HIDDEN, dtype=np.float32)[i], 50.0, 50.0, "diffmean")
        for i, name in enumerate(["animal", "person"])
    }
    prompt = "Once upon a time,"
    ids = torch.tensor([tokenizer(prompt)["input_ids"]])
    with torch.no_grad():
        plain = model.generate(
            input_ids=ids, max_new_tokens=8, do_sample=False, pad_token_id=tokenizer.pad_token_id
        )
    expected = tokenizer.decode(plain[0, ids.shape[1] :], skip_special_tokens=True)
    assert steerer.generate(prompt, None, 1.0, max_new_tokens=8) == expected
    assert steerer.generate(prompt, "animal", 1.0, max_new_tokens=8) != expected
    with pytest.raises(ValueError) as info:
        steerer.generate(prompt, "vehicle", 1.0)
    message = str(info.value)
    assert "'vehicle'" in message and "['animal', 'person']" in message and "None" in message


@pytest.fixture
def degenerate_differences() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    row = rng.normal(size=HIDDEN)
    return {
        "duplicate": np.stack([row, row, row]),  # rank 1
        "zero": np.zeros((3, HIDDEN)),  # zero rows must not divide by zero
        "low_rank": rng.normal(size=(4, 2)) @ rng.normal(size=(2, HIDDEN)),
    }


def test_degenerate_matrices_and_the_svd_fallback_chain(
    degenerate_differences, monkeypatch, tokenizer
) -> None:
    """(3) The prototype's SVD failed on rank-deficient input and stopped the fit silently."""
    for matrix in degenerate_differences.values():
        result = robust_svd(matrix)
        assert np.isfinite(result.singular_values).all() and np.isfinite(result.vt).all()
    sub = contamination_subspace(degenerate_differences, rank=1)
    assert np.isfinite(sub.basis).all()
    assert np.linalg.norm(sub.basis[0]) == pytest.approx(1.0)

    def numpy_fails(*_args, **_kwargs):
        raise np.linalg.LinAlgError("SVD did not converge")

    monkeypatch.setattr(np.linalg, "svd", numpy_fails)
    result = robust_svd(degenerate_differences["low_rank"])
    assert result.method == "scipy.linalg.svd(gesvd)"
    assert "numpy.linalg.svd: SVD did not converge" in result.fallbacks[0]

    # Through a whole fit: the fallback is in FitReport.svd_fallbacks and warnings.
    model = tiny_model("llama").model
    steerer = ManifoldSteerer(
        model,
        tokenizer,
        layer=STEER_LAYER,
        method="dual",
        calibration=CalibrationSettings(mode="fixed"),
        min_manifold_samples=4,
    )
    rng = np.random.default_rng(2)
    report = steerer.fit_from_activations(
        {"a": rng.normal(size=(4, HIDDEN)) + 1, "b": rng.normal(size=(4, HIDDEN)) - 1},
        rng.normal(size=(4, HIDDEN)),
        rng.normal(size=(20, HIDDEN)),
        ["Hello"],
    )
    assert report.svd_methods == {
        "contamination": "scipy.linalg.svd(gesvd)",
        "manifold": "scipy.linalg.svd(gesvd)",
    }
    assert any("SVD did not converge" in f for f in report.svd_fallbacks["contamination"])
    assert any("contamination SVD fell back" in w for w in report.warnings)
    assert any("manifold SVD fell back" in w for w in report.warnings)

    def scipy_fails(*_args, **_kwargs):
        raise np.linalg.LinAlgError("gesvd did not converge")

    monkeypatch.setattr(scipy.linalg, "svd", scipy_fails)
    matrix = degenerate_differences["low_rank"]
    result = robust_svd(matrix)
    assert result.method == "eigh(covariance)" and len(result.fallbacks) == 2
    # The eigh basis spans the same (rank-2) row space.
    top = result.vt[:2]
    np.testing.assert_allclose(matrix @ top.T @ top, matrix, atol=1e-8)
    through_eigh = contamination_subspace(degenerate_differences, rank=1)
    assert through_eigh.svd_method == "eigh(covariance)" and len(through_eigh.fallbacks) == 2
    assert np.linalg.norm(through_eigh.basis[0]) == pytest.approx(1.0)
    monkeypatch.undo()
    expected = np.linalg.svd(matrix, compute_uv=False)[:2]
    np.testing.assert_allclose(result.singular_values[:2], expected, rtol=1e-6)
    sub = contamination_subspace(degenerate_differences, rank=1)
    assert sub.svd_method == "numpy.linalg.svd"


@pytest.mark.parametrize("collected", [0, 3])
def test_too_few_manifold_activations_is_an_error_not_a_silent_zero(collected) -> None:
    """(4) The prototype collected 0 task-manifold activations and fitted anyway."""
    acts = np.random.default_rng(0).normal(size=(collected, HIDDEN))
    with pytest.raises(ValueError) as info:
        task_manifold(acts, min_samples=8)
    message = str(info.value)
    assert f"collected {collected}" in message and "at least 8" in message
    with pytest.raises(ValueError, match="collected 0"):
        task_manifold(np.zeros(0), min_samples=8)
