"""The methods' directions section: cosines over resamples and concepts, and its verdict."""

from __future__ import annotations

import numpy as np
import pytest

from steering.fit.vectors import SteeringVector
from steering.reporting.method_geometry import geometry_table, mean_cosine, method_geometry_section


def _vectors(directions: dict[str, np.ndarray], method: str, multiple: float = 1.5):
    return {
        c: SteeringVector(c, (d / np.linalg.norm(d)).astype(np.float32), multiple * 2.0, 2.0,
                          method)
        for c, d in directions.items()
    }


def _set(seed: int, resamples: int = 2) -> list[dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [{c: rng.normal(size=16) for c in ("animal", "person")} for _ in range(resamples)]


def test_cosines_and_multiples_by_hand():
    base = _set(0)
    same = [_vectors(r, "diffmean") for r in base]
    flipped = [_vectors({c: -d for c, d in r.items()}, "dual", multiple=2.0) for r in base]
    assert mean_cosine(same, flipped) == pytest.approx(-1.0, abs=1e-6)
    table = geometry_table({"dual": flipped, "diffmean": same}).set_index("method")
    assert table.loc["dual", "cos diffmean"] == pytest.approx(-1.0, abs=1e-6)
    assert table.loc["dual", "cos dual"] == pytest.approx(1.0, abs=1e-6)
    assert table.loc["dual", "multiple of |v|"] == pytest.approx(2.0)
    assert table.loc["diffmean", "multiple of |v|"] == pytest.approx(1.5)


def test_section_says_when_the_primary_is_another_methods_direction():
    base = _set(1)
    nearly = [{c: d + 1e-3 * np.ones_like(d) for c, d in r.items()} for r in base]
    vectors = {
        "dual": [_vectors(r, "dual") for r in nearly],
        "contamination": [_vectors(r, "contamination") for r in base],
        "diffmean": [_vectors(r, "diffmean") for r in _set(2)],
        "random": [_vectors(r, "random") for r in _set(3)],
    }
    text = "\n".join(method_geometry_section(vectors, primary="dual", n_examples=16))
    assert "## Directions of the methods at n = 16" in text
    assert "points the same way as contamination" in text
    assert "| random |" not in text


def test_section_names_the_closest_method_when_none_is_the_same():
    vectors = {"dual": [_vectors(r, "dual") for r in _set(4)],
               "diffmean": [_vectors(r, "diffmean") for r in _set(5)]}
    text = "\n".join(method_geometry_section(vectors, primary="dual", n_examples=8))
    assert "is closest to diffmean" in text and "points the same way" not in text


def test_section_with_one_method_and_no_shared_concepts():
    alone = {"dual": [_vectors(r, "dual") for r in _set(6)]}
    assert "nothing to compare" in "\n".join(
        method_geometry_section(alone, primary="dual", n_examples=2))
    other = [_vectors({"object": np.ones(16)}, "diffmean")]
    with pytest.raises(ValueError, match="share no"):
        mean_cosine(alone["dual"], other)
