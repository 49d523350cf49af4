"""Tests for steering.evaluation.auroc against hand-computed values."""

from __future__ import annotations

import pytest

from steering.evaluation.auroc import auroc


def test_auroc_hand_values() -> None:
    # pairs (pos, neg): (0.35,0.1) win, (0.35,0.4) loss, (0.8,0.1) win, (0.8,0.4) win -> 3/4
    assert auroc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.75)
    # a tie counts half: (0.5 vs 0.5) -> 0.5
    assert auroc([0, 1], [0.5, 0.5]) == pytest.approx(0.5)
    # pos 0.5 vs neg {0.5, 0.1}: 0.5 + 1 = 1.5 / 2
    assert auroc([False, False, True], [0.5, 0.1, 0.5]) == pytest.approx(0.75)
    assert auroc([1, 1, 0, 0], [3, 4, 1, 2]) == 1.0
    assert auroc([1, 1, 0, 0], [1, 2, 3, 4]) == 0.0


def test_auroc_bad_inputs() -> None:
    with pytest.raises(ValueError, match="both classes, got 2 positives and 0 negatives"):
        auroc([1, 1], [0.1, 0.2])
    with pytest.raises(ValueError, match="labels must hold booleans or 0/1, found 2"):
        auroc([0, 2], [0.1, 0.2])
    with pytest.raises(ValueError, match="differ in length"):
        auroc([0, 1], [0.1])
