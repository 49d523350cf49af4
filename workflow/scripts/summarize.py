"""Stage 8: knee, plots and the Markdown report with its conclusion."""

from pathlib import Path

import pandas as pd

from steering.evaluation.knee import find_knee, find_knee_noise_aware
from steering.evaluation.tables import control_margin
from steering.experiment.stage import Stage, run_stage
from steering.io import read_json, read_parquet
from steering.reporting.plots import (
    plot_cost_curve,
    plot_methods,
    plot_scatter,
    plot_training_curve,
)
from steering.reporting.report import write_report


def main(stage: Stage) -> None:
    p, inp, out = stage.params, stage.input, stage.output
    primary_method = p.primary_method
    se, mean, scores = map(read_parquet, (inp.se, inp.mean_se, inp.scores))
    primary = mean[mean.method == primary_method].sort_values("n_examples")
    knee = find_knee(primary.n_examples, primary.mean_se, threshold=p.knee_threshold)
    knee_noise = find_knee_noise_aware(primary.n_examples, primary.mean_se, primary.ci_low,
                                       primary.ci_high)
    stage.log.info("Knee: %s; noise-aware: %s", knee, knee_noise)
    cost = pd.DataFrame([
        {"n_examples": meta["n_examples"], "fit_seconds": meta["fit"]["fit_seconds"],
         "peak_memory_mb": meta["fit"]["peak_memory_mb"],
         "memory_kind": meta["fit"]["memory_kind"]}
        for meta in map(read_json, inp.vectors)
    ])
    ablation = sorted(set(se[se.method != primary_method].n_examples))
    has_control = "random" in set(se.method)
    plot_training_curve(se, mean, knee, out.training, method=primary_method)
    plot_cost_curve(cost, out.cost)
    plot_scatter(scores, out.scatter, method=primary_method)
    plot_methods(se, out.methods, n_examples=ablation[0] if ablation else None)
    write_report(
        out.report, config=p.config, se_table=se, mean_table=mean, knee=knee,
        knee_noise=knee_noise, cost=cost, judge_validation=read_parquet(inp.validation),
        reference_source=p.reference, reference_is_judge=p.reference_is_judge,
        methods_table=mean[mean.n_examples.isin(ablation)],
        plots={name: Path(getattr(out, name)) for name in ("training", "cost", "scatter",
                                                            "methods")},
        control_table=control_margin(se, method=primary_method) if has_control
        else pd.DataFrame(), primary_method=primary_method, auroc_threshold=p.min_auroc)


if "snakemake" not in globals():  # run by hand, for debugging
    from _helpers import mock_snakemake

    snakemake = mock_snakemake("summarize")
run_stage(main, snakemake)  # noqa: F821
