"""Tests for steering.evaluation.verdict on synthetic curves."""

from __future__ import annotations

import pandas as pd
import pytest

from steering.evaluation.knee import knee_spread
from steering.evaluation.verdict import (
    control_reference,
    judge_failures,
    method_verdict,
    resample_knee_spreads,
    verdict_table,
)

N = [2, 4, 8, 16, 32]


def _curve(se: list[float], half_width: float | list[float] = 0.03) -> pd.DataFrame:
    widths = half_width if isinstance(half_width, list) else [half_width] * len(se)
    return pd.DataFrame(
        {
            "n_examples": N[: len(se)],
            "mean_se": se,
            "ci_low": [s - w for s, w in zip(se, widths, strict=True)],
            "ci_high": [s + w for s, w in zip(se, widths, strict=True)],
        }
    )


CONTROL = _curve([0.0, 0.01, -0.01, 0.0, 0.01])
GOOD_JUDGE = pd.DataFrame({"concept": ["animal", "person"], "auroc": [0.95, 0.92]})


def test_saturating_curve_has_its_knee() -> None:
    v = method_verdict("dual", _curve([0.1, 0.3, 0.45, 0.47, 0.46]), CONTROL)
    assert (v.kind, v.knee, v.text) == ("saturates", 8, "steers, saturates at n = 8")


def test_still_rising_curve() -> None:
    v = method_verdict("dual", _curve([0.1, 0.2, 0.3, 0.4, 0.5]), CONTROL)
    assert (v.kind, v.knee) == ("still_improving", None)
    assert v.text == "steers, still improving at the largest n"


def test_flat_curve_above_control_steers_and_claims_no_knee() -> None:
    v = method_verdict("dual", _curve([0.30, 0.32, 0.31, 0.30, 0.31]), CONTROL)
    assert (v.kind, v.knee) == ("steers", None)
    assert v.text.startswith("steers; no measurable change from n = 2 to ")
    assert "flat within its intervals" in v.reason and "no knee is claimed" in v.reason


def test_curve_at_the_control_is_no_steering_and_claims_no_knee() -> None:
    # the measured report's curve: 0.12-0.14 with intervals ~[0.07, 0.18], control 0.0-0.1
    curve = _curve([0.138, 0.122, 0.132, 0.128, 0.127], 0.06)
    control = _curve([0.05, 0.04, 0.05, 0.04, 0.05], 0.04)
    v = method_verdict("dual", curve, control)
    assert (v.kind, v.knee) == ("no_steering", None)
    assert v.text == "no detectable steering (SE interval overlaps the random control at every n)"


def test_separated_only_at_small_n_is_too_weak() -> None:
    curve = _curve([0.3, 0.2, 0.04, 0.03, 0.02])
    v = method_verdict("dual", curve, CONTROL)
    assert v.kind == "inconclusive" and v.knee is None
    assert "signal too weak: separated from the control only at n = [2, 4]" in v.text


def test_failed_judge_makes_every_verdict_inconclusive() -> None:
    bad = pd.DataFrame({"concept": ["animal", "change"], "auroc": [0.95, 0.81]})
    v = method_verdict(
        "dual", _curve([0.1, 0.3, 0.45, 0.47, 0.46]), CONTROL, validation=bad, min_auroc=0.9
    )
    assert v.kind == "inconclusive" and v.knee is None
    assert v.text == (
        "inconclusive: judge failed validation: AUROC below min_auroc 0.9 for change 0.81"
    )
    ok = method_verdict(
        "dual", _curve([0.1, 0.3, 0.45, 0.47, 0.46]), CONTROL, validation=GOOD_JUDGE, min_auroc=0.9
    )
    assert ok.kind == "saturates"
    nan = pd.DataFrame({"concept": ["animal"], "auroc": [float("nan")]})
    assert judge_failures(nan, 0.5).startswith("judge failed validation")


def test_spread_is_quoted_in_the_reason() -> None:
    spread = knee_spread(N, [4, 16, 8])
    v = method_verdict("dual", _curve([0.1, 0.3, 0.45, 0.47, 0.46]), CONTROL, spread=spread)
    assert "knees across resamples: unstable: knees [4, 16, 8]" in v.reason


def test_verdict_table_covers_every_method_but_the_control() -> None:
    curves = pd.concat(
        [
            _curve([0.1, 0.3, 0.45, 0.47, 0.46]).assign(method="dual"),
            _curve([0.0, 0.0, 0.01, 0.0, 0.0]).assign(method="contamination"),
            CONTROL.assign(method="random"),
        ]
    )
    table = verdict_table(curves, validation=GOOD_JUDGE, min_auroc=0.9)
    assert table["method"].tolist() == ["contamination", "dual"]
    assert table["verdict"].tolist() == ["no_steering", "saturates"]
    assert table["knee"].tolist()[1] == 8
    with pytest.raises(ValueError, match="control 'random' is not in the curves"):
        verdict_table(curves[curves.method != "random"])


def test_bad_curves_name_the_problem() -> None:
    with pytest.raises(ValueError, match="several rows per n_examples"):
        method_verdict("dual", pd.concat([_curve([0.1]), _curve([0.2])]), CONTROL)
    with pytest.raises(ValueError, match="missing column"):
        method_verdict("dual", _curve([0.1]).drop(columns="ci_low"), CONTROL)


def test_resample_knee_spreads_from_per_resample_curves() -> None:
    agree = [[0.1, 0.3, 0.45, 0.47, 0.46], [0.1, 0.35, 0.5, 0.52, 0.5]]  # knees 8, 8
    disagree = [[0.1, 0.3, 0.45, 0.47, 0.46], [0.1, 0.2, 0.3, 0.4, 0.5]]  # knee 8, none
    per_resample = pd.concat(
        [_curve(se).assign(method="dual", resample=r) for r, se in enumerate(agree)]
        + [_curve(se).assign(method="manifold", resample=r) for r, se in enumerate(disagree)]
        + [_curve([0.01] * 5).assign(method="flat", resample=r) for r in range(2)]
    )
    spreads = resample_knee_spreads(per_resample, CONTROL)
    assert spreads["dual"].knees == (8, 8) and spreads["dual"].stable
    assert spreads["manifold"].knees == (8, None) and not spreads["manifold"].stable
    assert spreads["flat"].knees == (None, None)  # at the control: no knee is claimed
    # A control measured at one n (the ablation's) is pooled into the reference at every n.
    pooled = resample_knee_spreads(per_resample, CONTROL.iloc[[3]])
    assert pooled["flat"].knees == (None, None) and pooled["dual"].knees == (8, 8)
    drop = (per_resample["method"] == "dual") & (per_resample["resample"] == 1)
    ragged = per_resample[~(drop & (per_resample["n_examples"] == 2))]
    with pytest.raises(ValueError, match="resample 1 of 'dual' has n_examples"):
        resample_knee_spreads(ragged, CONTROL)


def test_one_measured_n_claims_no_saturation() -> None:
    one = pd.DataFrame({"n_examples": [16], "mean_se": [0.3], "ci_low": [0.25], "ci_high": [0.35]})
    v = method_verdict("diffmean", one, CONTROL.iloc[[3]])
    assert (v.kind, v.knee) == ("steers", None)
    assert v.text == "steers at n = 16 (the only n measured)"
    at_control = one.assign(mean_se=[0.0], ci_low=[-0.05], ci_high=[0.05])
    assert method_verdict("diffmean", at_control, CONTROL.iloc[[3]]).kind == "no_steering"


def test_control_measured_at_one_n_is_the_reference_at_every_n() -> None:
    control = pd.DataFrame({"n_examples": [16], "mean_se": [0.0], "ci_low": [-0.02],
                            "ci_high": [0.02]})
    v = method_verdict("dual", _curve([0.1, 0.3, 0.45, 0.47, 0.46]), control)
    assert (v.kind, v.knee) == ("saturates", 8)
    assert "control measured at n = [16] only, pooled as the reference at every n" in v.reason
    high_control = control.assign(mean_se=[0.4], ci_low=[0.3], ci_high=[0.5])
    assert method_verdict("dual", _curve([0.38, 0.4, 0.42, 0.41, 0.4]), high_control).kind == (
        "no_steering"
    )


def test_control_at_several_but_not_all_n_is_pooled_conservatively() -> None:
    control = _curve([0.0, 0.05], [0.02, 0.1]).assign(n_examples=[8, 16])
    reference, note = control_reference(control, pd.Series(N))
    assert reference["n_examples"].tolist() == N
    assert reference["ci_low"].tolist() == pytest.approx([-0.05] * 5)
    assert reference["ci_high"].tolist() == pytest.approx([0.15] * 5)
    assert "n = [8, 16] only, pooled" in note
    # a curve inside the widest control interval is no steering, even where that n was unmeasured
    assert method_verdict("dual", _curve([0.1] * 5, 0.02), control).kind == "no_steering"
    same, none = control_reference(CONTROL, pd.Series(N[:3]))
    assert same["mean_se"].tolist() == CONTROL["mean_se"].tolist()[:3] and none == ""
