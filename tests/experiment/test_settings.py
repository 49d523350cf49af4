"""The schema is the one home of every default: library defaults that mirror config keys equal
the schema's, the typed settings have none of their own, and renamed keys name their new name."""

from __future__ import annotations

import inspect
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any

import pytest
import yaml

from steering.evaluation.judges.factory import DEFAULTS as JUDGE_DEFAULTS
from steering.experiment.config import ConfigError, validate_config
from steering.experiment.settings import (
    CoherenceSettings,
    FitSettings,
    GenerationSettings,
    ModelSettings,
    from_section,
)
from steering.fit.calibration import CalibrationSettings
from steering.fit.steerer import ManifoldSteerer

REPO = Path(__file__).resolve().parents[2]
SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"

# Library parameter -> (config section, key) it mirrors.
CALIBRATION_KEYS = {
    "mode": ("calibration", "mode"),
    "multiples": ("calibration", "multiples"),
    "fixed_multiple": ("calibration", "fixed_multiple"),
    "n_prompts": ("calibration", "n_prompts"),
    "max_new_tokens": ("calibration", "max_new_tokens"),
    "rule": ("coherence", "rule"),
    "ratio": ("calibration", "ratio"),
    "distinct_ratio": ("coherence", "distinct_ratio"),
    "first_k": ("coherence", "first_k"),
    "min_coherent": ("calibration", "min_coherent"),
}


@pytest.fixture(scope="module")
def defaults() -> dict[str, Any]:
    """The config with every schema default filled in (no user values)."""
    return validate_config({}, SCHEMA)


def same(a: Any, b: Any) -> bool:
    return list(a) == list(b) if isinstance(a, (list, tuple)) else a == b


def test_calibration_settings_defaults_equal_the_schemas(defaults) -> None:
    for f in fields(CalibrationSettings):
        section, key = CALIBRATION_KEYS[f.name]
        assert same(f.default, defaults[section][key]), (f.name, f.default)


def test_judge_factory_defaults_equal_the_schemas(defaults) -> None:
    for key, value in JUDGE_DEFAULTS.items():
        assert value == defaults["judge"][key], key


def test_steerer_fit_defaults_equal_the_schemas(defaults) -> None:
    parameters = inspect.signature(ManifoldSteerer).parameters
    for key, value in defaults["fit"].items():
        if key in parameters:
            assert parameters[key].default == value, key
    assert parameters["method"].default == defaults["fit"]["methods"][0]


@pytest.mark.parametrize(
    ("cls", "section"),
    [
        (ModelSettings, "model"),
        (FitSettings, "fit"),
        (CoherenceSettings, "coherence"),
    ],
)
def test_settings_have_no_defaults_and_cover_their_section(defaults, cls, section) -> None:
    assert all(f.default is MISSING and f.default_factory is MISSING for f in fields(cls))
    names = {f.name for f in fields(cls)}
    assert names == set(defaults[section]) - {"methods"}
    built = from_section(cls, defaults[section])
    assert all(getattr(built, n) == defaults[section][n] for n in names)


def test_generation_settings_join_generation_and_prompt_length(defaults) -> None:
    section = {**defaults["generation"], **{k: defaults["data"][k] for k in
                                            ("max_prompt_tokens", "on_long")}}
    settings = from_section(GenerationSettings, section)
    assert settings.generate_kwargs() == section
    with pytest.raises(TypeError):
        from_section(GenerationSettings, defaults["generation"])  # lacks the data keys


def test_shipped_config_sets_no_key_the_schema_lacks() -> None:
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    assert validate_config(config, SCHEMA)["n_examples"] == [2, 4, 8, 16, 32, 64]


@pytest.mark.parametrize(
    ("config", "old", "new"),
    [
        ({"scales": [2, 4]}, "scales", "n_examples"),
        ({"ablation": {"scales": [4]}}, "ablation.scales", "ablation.n_examples"),
    ],
)
def test_renamed_key_says_its_new_name(config, old, new) -> None:
    with pytest.raises(ConfigError, match=rf"'{old}' was renamed; rename it to '{new}'"):
        validate_config(config, SCHEMA)
