"""Stage 8: knee, plots and the Markdown report with its conclusion."""

from pathlib import Path

import pandas as pd

from steering.evaluation.metrics import control_margin, find_knee, find_knee_noise_aware
from steering.experiment.stage import setup_logging
from steering.io import read_json, read_parquet
from steering.reporting.plots import (
    plot_cost_curve,
    plot_methods,
    plot_scatter,
    plot_training_curve,
)
from steering.reporting.report import write_report


def main(smk) -> None:
    log = setup_logging(smk.log[0])
    p = smk.params
    se = read_parquet(smk.input.se)
    mean = read_parquet(smk.input.mean_se)
    scores = read_parquet(smk.input.scores)
    primary = mean[mean.method == p.primary].sort_values("scale")
    knee = find_knee(primary.scale, primary.mean_se, threshold=p.knee_threshold)
    knee_noise = find_knee_noise_aware(primary.scale, primary.mean_se, primary.ci_low,
                                       primary.ci_high)
    log.info("Knee: %s; noise-aware: %s", knee, knee_noise)
    cost = pd.DataFrame([
        {"scale": meta["scale"], "fit_seconds": meta["fit"]["fit_seconds"],
         "peak_memory_mb": meta["fit"]["peak_memory_mb"],
         "memory_kind": meta["fit"]["memory_kind"]}
        for meta in map(read_json, smk.input.vectors)
    ])
    validation = read_parquet(smk.input.validation)
    ablation_scales = sorted(set(se[se.method != p.primary].scale))
    methods_table = mean[mean.scale.isin(ablation_scales)]
    has_control = "random" in set(se.method)
    control = control_margin(se, method=p.primary) if has_control else pd.DataFrame()
    out = smk.output
    plot_training_curve(se, mean, knee, out.training, method=p.primary)
    plot_cost_curve(cost, out.cost)
    plot_scatter(scores, out.scatter, method=p.primary)
    plot_methods(se, out.methods, scale=ablation_scales[0] if ablation_scales else None)
    plots = {name: Path(getattr(out, name)) for name in ("training", "cost", "scatter", "methods")}
    write_report(out.report, config=p.config, se_table=se, mean_table=mean, knee=knee,
                 knee_noise=knee_noise, cost=cost, judge_validation=validation,
                 reference_source=p.reference, plots=plots, methods_table=methods_table,
                 control_table=control, method=p.primary, auroc_threshold=p.min_auroc)


main(snakemake)  # noqa: F821
