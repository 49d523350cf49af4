"""Strength calibration: fixed multiples and the coherence search on a tiny model."""

from __future__ import annotations

import pytest

from steering.fit.calibration import Calibration, CalibrationSettings, calibrate_norm
from tests.helpers.tiny_models import PROMPTS, STEER_LAYER, TinyModel, residual_norm, unit_direction


def _calibrate(llama: TinyModel, tokenizer, settings: CalibrationSettings) -> Calibration:
    return calibrate_norm(
        llama.model,
        tokenizer,
        layer=STEER_LAYER,
        direction=unit_direction(seed=5).numpy(),
        raw_norm=residual_norm(llama.model, tokenizer),
        prompts=PROMPTS,
        settings=settings,
    )


def test_fixed_mode_generates_nothing(llama: TinyModel) -> None:
    settings = CalibrationSettings(mode="fixed", fixed_multiple=1.5)
    result = calibrate_norm(
        None, None, layer=0, direction=None, raw_norm=4.0, prompts=[], settings=settings
    )
    assert result.multiple == 1.5 and result.full_strength_norm == pytest.approx(6.0)
    assert not result.degraded and result.coherent_share == {}
    assert result.as_dict()["full_strength_norm"] == pytest.approx(6.0)


def test_search_returns_one_of_the_multiples_and_records_shares(
    llama: TinyModel, tokenizer
) -> None:
    multiples = (0.25, 1.0, 8.0)
    settings = CalibrationSettings(multiples=multiples, n_prompts=2, max_new_tokens=6)
    result = _calibrate(llama, tokenizer, settings)
    assert result.multiple in multiples
    assert set(result.coherent_share) == set(multiples)
    assert all(0.0 <= share <= 1.0 for share in result.coherent_share.values())
    raw_norm = residual_norm(llama.model, tokenizer)
    assert result.full_strength_norm == pytest.approx(result.multiple * raw_norm)
    # The chosen multiple is the largest of an unbroken run of coherent ones (ascending).
    for m in multiples:
        if m <= result.multiple and not result.degraded:
            assert result.coherent_share[m] >= settings.min_coherent
    assert set(result.as_dict()["coherent_share"]) == {str(m) for m in multiples}


def test_search_degrades_loudly_when_nothing_is_coherent(llama: TinyModel, tokenizer) -> None:
    settings = CalibrationSettings(
        multiples=(2.0, 1.0), n_prompts=1, max_new_tokens=4, min_coherent=1.01
    )
    result = _calibrate(llama, tokenizer, settings)
    assert result.degraded and result.multiple == 1.0
    assert "no multiple kept" in result.note


def test_settings_are_validated() -> None:
    with pytest.raises(ValueError, match="mode"):
        CalibrationSettings(mode="guess")
    with pytest.raises(ValueError, match="positive"):
        CalibrationSettings(multiples=(1.0, -1.0))
    with pytest.raises(ValueError, match="fixed_multiple"):
        CalibrationSettings(mode="fixed", fixed_multiple=0)


def test_search_needs_a_prompt(llama: TinyModel, tokenizer) -> None:
    with pytest.raises(ValueError, match="at least one task prompt"):
        calibrate_norm(
            llama.model,
            tokenizer,
            layer=0,
            direction=unit_direction().numpy(),
            raw_norm=1.0,
            prompts=[],
            settings=CalibrationSettings(),
        )
