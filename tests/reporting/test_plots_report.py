"""End-to-end test: scores -> se_table -> plots -> Markdown report."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from steering.evaluation.knee import Knee, find_knee, find_knee_noise_aware, knee_spread
from steering.evaluation.tables import control_margin, mean_se_table, se_table
from steering.evaluation.verdict import verdict_table
from steering.reporting.plots import (
    plot_cost_curve,
    plot_methods,
    plot_scatter,
    plot_training_curve,
)
from steering.reporting.report import write_report

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
N_EXAMPLES = (2, 4, 8, 16, 32)
CONCEPTS = ("person", "change", "animal")
STRENGTHS = (0.0, 2.0, 4.0, 8.0)
# Signal saturates after 8 examples per concept, so the mean-SE curve has a knee.
SLOPE = {2: 0.05, 4: 0.25, 8: 0.6, 16: 0.62, 32: 0.63}
SETTINGS = {"coherence_rule": "robust", "ratio": 1.5, "distinct_ratio": 0.5}


def _scores() -> pd.DataFrame:
    rng = np.random.default_rng(42)
    rows = []
    plan = [("dual", n, SLOPE[n]) for n in N_EXAMPLES]
    plan += [("random", n, 0.0) for n in N_EXAMPLES]
    plan += [("diffmean", 8, 0.4)]
    for method, n, slope in plan:
        for concept in CONCEPTS:
            for prompt in range(8):
                for strength in STRENGTHS:
                    concept_score = float(np.clip(2 + slope * strength + rng.normal(0, 1), 0, 10))
                    neg_score = float(np.clip(2 + rng.normal(0, 1), 0, 10))
                    delta = concept_score - neg_score
                    looping = strength == 8.0 and prompt == 0 and concept == "change"
                    rows.append(
                        {
                            "method": method,
                            "n_examples": n,
                            "concept": concept,
                            "prompt_id": prompt,
                            "strength": strength,
                            "text": "mole " * 20 if looping else "a plausible continuation",
                            "concept_score": concept_score,
                            "neg_concept_score": neg_score,
                            "delta": delta,
                            "reference": delta + rng.normal(0, 1.5),
                            "perplexity": 3.0 if looping else 12.0 + 0.4 * strength,
                            "baseline_perplexity": 12.0,
                            "ppl_first_k": 60.0 if looping else 11.0 + 0.3 * strength,
                            "baseline_ppl_first_k": 11.0,
                            "distinct2": 0.05 if looping else 0.92,
                            "baseline_distinct2": 0.93,
                        }
                    )
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    out = tmp_path_factory.mktemp("run")
    scores = _scores()
    table = se_table(scores, n_boot=40, seed=0, **SETTINGS)  # type: ignore[arg-type]
    mean = mean_se_table(scores, n_boot=40, seed=0, **SETTINGS)  # type: ignore[arg-type]
    dual = mean.loc[mean["method"] == "dual"]
    knee = find_knee(dual["n_examples"], dual["mean_se"], threshold=0.02)
    knee_noise = find_knee_noise_aware(
        dual["n_examples"], dual["mean_se"], dual["ci_low"], dual["ci_high"]
    )
    cost = pd.DataFrame(
        {
            "n_examples": list(N_EXAMPLES),
            "fit_seconds": [0.4, 0.7, 1.3, 2.6, 5.1],
            "peak_memory_mb": [900.0, 910.0, 935.0, 980.0, 1100.0],
            "memory_kind": ["cuda"] * 5,
        }
    )
    plots_dir = out / "plots"
    plots = {
        "Training curve": plot_training_curve(
            table, mean, knee, plots_dir / "training_curve.png", method="dual"
        ),
        "Cost curve": plot_cost_curve(cost, plots_dir / "cost_curve.png"),
        "Delta scatter": plot_scatter(
            scores, plots_dir / "scatter.png", method="dual", n_examples=8
        ),
        "Methods": plot_methods(table, plots_dir / "methods.png", n_examples=8),
    }
    return {
        "out": out,
        "scores": scores,
        "table": table,
        "mean": mean,
        "knee": knee,
        "knee_noise": knee_noise,
        "cost": cost,
        "plots": plots,
    }


def _report(run: dict[str, object], path: Path, aurocs: list[float], **overrides: object) -> str:
    table = run["table"]
    mean = run["mean"]
    assert isinstance(table, pd.DataFrame) and isinstance(mean, pd.DataFrame)
    validation = pd.DataFrame({"concept": list(CONCEPTS), "auroc": aurocs, "n": [40, 40, 40]})
    kwargs: dict[str, object] = {
        "config": {
            "model": "gpt2",
            "layer": 6,
            "n_examples": list(N_EXAMPLES),
            "strengths": list(STRENGTHS),
            "concepts": list(CONCEPTS),
            "judge": {"model": "judge-model-x", "api_key_env": "STEERING_TEST_JUDGE_KEY"},
            "coherence_rule": "robust",
        },
        "se_table": table,
        "mean_table": mean,
        "knee": run["knee"],
        "knee_noise": run["knee_noise"],
        "cost": run["cost"],
        "judge_validation": validation,
        "verdicts": verdict_table(mean, validation=validation, min_auroc=0.8),
        "reference_source": "second judge pass (bipolar rubric)",
        "reference_is_judge": True,
        "plots": run["plots"],
        "methods_table": mean.loc[mean["n_examples"] == 8],
        "control_table": control_margin(table, method="dual"),
        "primary_method": "dual",
    }
    kwargs.update(overrides)
    write_report(path, **kwargs)  # type: ignore[arg-type]
    return path.read_text(encoding="utf-8")


def test_synthetic_curve_has_a_knee(run: dict[str, object]) -> None:
    # the synthetic signal saturates after 8 examples per concept; the knee is there or just before
    knee = run["knee"]
    assert isinstance(knee, Knee)
    assert knee.n_examples in (4, 8, 16)


def test_plots_are_valid_pngs(run: dict[str, object]) -> None:
    plots = run["plots"]
    assert isinstance(plots, dict)
    for title, path in plots.items():
        data = Path(path).read_bytes()
        assert data[:8] == PNG_MAGIC, title
        assert len(data) > 15_000, f"{title}: suspiciously small PNG ({len(data)} bytes)"
        with Image.open(path) as image:
            image.verify()
        with Image.open(path) as image:
            width, height = image.size
        assert width >= 600 and height >= 400, f"{title}: {width}x{height}"
    # atomic writes leave no temporary files behind
    folder = Path(next(iter(plots.values()))).parent
    assert sorted(p.name for p in folder.iterdir()) == [
        "cost_curve.png",
        "methods.png",
        "scatter.png",
        "training_curve.png",
    ]


def test_report_contents_and_warning(
    run: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STEERING_TEST_JUDGE_KEY", "sk-test-secret-value-1234567890")
    out = run["out"]
    assert isinstance(out, Path)
    text = _report(run, out / "report.md", aurocs=[0.91, 0.74, 0.88])
    knee = run["knee"]
    assert isinstance(knee, Knee) and knee.n_examples is not None
    assert (
        f"The knee of the training curve is at **{knee.n_examples} examples per concept**" in text
    )
    assert "> **WARNING** judge AUROC for change is 0.74 < 0.8" in text
    assert "judge AUROC for person" not in text
    # sections generated from the numbers
    for heading in (
        "## Configuration",
        "## Judge validation",
        "## Reference ratings",
        "## Steering effectiveness",
        "## Cost",
        "## Figures",
        "## Ablation: methods",
        "## Random-direction control",
        "## Conclusion",
    ):
        assert heading in text
    assert "partly circular" in text
    assert "greedy decoding" in text
    assert "coherence (prototype rule)" in text
    # the conclusion quotes the knee's mean SE and its cost row
    mean = run["mean"]
    assert isinstance(mean, pd.DataFrame)
    at_knee = mean.loc[(mean["method"] == "dual") & (mean["n_examples"] == knee.n_examples)].iloc[0]
    assert f"mean SE over concepts is {at_knee['mean_se']:.3f}" in text
    peak = {2: 900, 4: 910, 8: 935, 16: 980, 32: 1100}[knee.n_examples]
    assert f"peak GPU (CUDA) memory of {peak} MB" in text
    # plots are linked relative to the report
    assert "![Training curve](plots/training_curve.png)" in text
    # the env var's NAME may appear, its value never
    assert "STEERING_TEST_JUDGE_KEY" in text
    assert "sk-test-secret-value" not in text
    assert sorted(p.name for p in out.iterdir()) == ["plots", "report.md"]


def test_report_without_warning_when_all_aurocs_pass(
    run: dict[str, object], tmp_path: Path
) -> None:
    text = _report(run, tmp_path / "report.md", aurocs=[0.91, 0.80, 0.88])
    assert "WARNING" not in text
    assert "judge AUROC is >= 0.8 for every concept" in text


def test_report_no_knee_and_secret_config(run: dict[str, object], tmp_path: Path) -> None:
    reason = "no knee: SE still improving by >= threshold at the most examples"
    text = _report(
        run,
        tmp_path / "sub" / "report.md",
        aurocs=[0.9, 0.9, 0.9],
        knee=Knee(None, reason),
        config={"model": "gpt2", "api_key": "plain-secret-in-config", "hf_token": "hf_abcdefgh12"},
        reference_source="human ratings from ratings.csv",
        reference_is_judge=False,
    )
    assert f"No knee was found ({reason})." in text
    assert "At the most examples (32 per concept)" in text
    assert "plain-secret-in-config" not in text
    assert "hf_abcdefgh12" not in text
    assert "independent human ratings" in text
    assert "partly circular" not in text


def test_report_rejects_unknown_method(run: dict[str, object], tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="method 'manifold' is not in mean_table"):
        _report(run, tmp_path / "report.md", aurocs=[0.9, 0.9, 0.9], primary_method="manifold")


def test_report_states_a_verdict_per_method(run: dict[str, object], tmp_path: Path) -> None:
    trusted = _report(run, tmp_path / "ok.md", aurocs=[0.91, 0.85, 0.88])
    section = trusted.split("## Verdicts", 1)[1].split("## Conclusion", 1)[0]
    mean = run["mean"]
    assert isinstance(mean, pd.DataFrame)
    for method in sorted(set(mean["method"]) - {"random"}):
        assert f"- **{method}**: " in section
    assert "**random**" not in section
    failed = _report(run, tmp_path / "failed.md", aurocs=[0.91, 0.74, 0.88])
    section = failed.split("## Verdicts", 1)[1].split("## Conclusion", 1)[0]
    assert "inconclusive: judge failed validation: AUROC below min_auroc 0.8 for" in section
    assert "saturates" not in section and "still improving" not in section


def test_report_states_the_knee_of_each_resample(run: dict[str, object], tmp_path: Path) -> None:
    grid = list(N_EXAMPLES)
    spreads = {
        "dual": knee_spread(grid, [grid[1], grid[1], grid[2]]),
        "manifold": knee_spread(grid, [grid[0], None, grid[-1]]),
        "random": knee_spread(grid, [None, None, None]),
    }
    text = _report(run, tmp_path / "r.md", aurocs=[0.91, 0.85, 0.88], knee_spreads=spreads)
    section = text.split("## Knee per resample", 1)[1].split("\n## ", 1)[0]
    assert f"- **dual**: knees per resample [{grid[1]}, {grid[1]}, {grid[2]}]: stable" in section
    assert "- **manifold**: knees per resample" in section and "none" in section
    assert ": unstable (resample(s) [1] have no knee" in section
    none = "- **random**: knees per resample [none, none, none]: no knee in any resample ("
    assert none in section
    conclusion = text.split("## Conclusion", 1)[1]
    assert "Across the resampled example subsets the knee is **stable**" in conclusion
    blocked = _report(run, tmp_path / "b.md", aurocs=[0.91, 0.74, 0.88], knee_spreads={},
                      knee_spread_blocked="judge failed validation")
    assert "No knee per resample is claimed: judge failed validation." in blocked
    assert "## Knee per resample" not in _report(run, tmp_path / "n.md", aurocs=[0.9] * 3)
