"""Stage 8: knee, plots and the Markdown report with its conclusion."""

from pathlib import Path

import pandas as pd

from steering.evaluation.knee import Knee, find_knee, find_knee_noise_aware, why_no_knee
from steering.evaluation.tables import control_margin
from steering.evaluation.verdict import (
    VERDICT_COLUMNS,
    control_reference,
    judge_failures,
    resample_knee_spreads,
    verdict_table,
)
from steering.experiment.stage import Stage, run_stage
from steering.fit.vector_files import load_resampled_vectors
from steering.io import parquet_metadata, read_json, read_parquet
from steering.reporting.cost import fit_cost
from steering.reporting.judge_free import judge_free_section, plot_judge_free
from steering.reporting.judge_sections import judge_confusion_section
from steering.reporting.method_geometry import method_geometry_section
from steering.reporting.offtarget_section import off_target_section
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
    has_control = "random" in set(se.method)
    validation = read_parquet(inp.validation)
    control = (control_reference(mean[mean.method == "random"], primary.n_examples)[0]
               if has_control else None)
    # No knee when the judge failed its validation, the curve is flat, or it is at the control.
    blocked = judge_failures(validation, p.min_auroc) or why_no_knee(
        primary.ci_low, primary.ci_high,
        *((control.ci_low, control.ci_high) if control is not None else ()))
    knee = Knee(None, blocked) if blocked else find_knee(
        primary.n_examples, primary.mean_se, threshold=p.knee_threshold)
    knee_noise = Knee(None, blocked) if blocked else find_knee_noise_aware(
        primary.n_examples, primary.mean_se, primary.ci_low, primary.ci_high)
    # A knee per resample (no knee on a flat curve or one at the control) for every method
    # measured at several n, and whether they agree; none when the judge failed.
    by_resample = read_parquet(inp.mean_se_by_resample)
    curves = by_resample[(by_resample.method != "random") & by_resample.groupby(
        "method").n_examples.transform("nunique").gt(1)]
    judge_failed = judge_failures(validation, p.min_auroc)
    spreads = {} if judge_failed or curves.empty else resample_knee_spreads(
        curves, mean[mean.method == "random"] if has_control else None)
    verdicts = (verdict_table(mean, validation=validation, min_auroc=p.min_auroc,
                              spreads=spreads)
                if has_control else pd.DataFrame(columns=list(VERDICT_COLUMNS)))
    stage.log.info("Knee: %s; noise-aware: %s; knees per resample: %s; verdicts:\n%s", knee,
                   knee_noise, spreads, verdicts.to_string(index=False))
    cost = pd.DataFrame([fit_cost(meta) for meta in map(read_json, inp.vectors)])
    ablation = sorted(set(se[se.method != primary_method].n_examples))
    plot_training_curve(se, mean, knee, out.training, method=primary_method)
    plot_cost_curve(cost, out.cost)
    plot_scatter(scores, out.scatter, method=primary_method)
    plot_methods(se, out.methods, n_examples=ablation[0] if ablation else None)
    judge_free = read_parquet(inp.judge_free)
    plot_judge_free(judge_free, out.judge_free)
    geometry = {Path(path).parent.name: load_resampled_vectors(Path(path).with_suffix(""))[0]
                for path in inp.geometry if path.endswith(".json")}
    extra = [
        judge_free_section(judge_free),
        method_geometry_section(geometry, primary=primary_method, n_examples=p.geometry_n),
        off_target_section(read_parquet(inp.off_target)),
        judge_confusion_section(read_parquet(inp.confusion), validation,
                                contrast=p.judge_contrast),
    ]
    write_report(
        out.report, config=p.config, se_table=se, mean_table=mean, knee=knee,
        knee_noise=knee_noise, cost=cost, judge_validation=validation, verdicts=verdicts,
        reference_source=p.reference, reference_is_judge=p.reference_is_judge,
        methods_table=mean[mean.n_examples.isin(ablation)],
        plots={name: Path(getattr(out, name)) for name in ("training", "cost", "scatter",
                                                            "methods", "judge_free")},
        control_table=control_margin(se, method=primary_method) if has_control
        else pd.DataFrame(), primary_method=primary_method, auroc_threshold=p.min_auroc,
        lexical=read_parquet(inp.lexical), lexical_lift=read_parquet(inp.lexical_lift),
        unchecked_concepts=parquet_metadata(inp.lexical)["unchecked_concepts"],
        knee_spreads=spreads, knee_spread_blocked=judge_failed,
        extra_sections=extra)


if "snakemake" not in globals():  # run by hand, for debugging
    from _helpers import mock_snakemake

    snakemake = mock_snakemake("summarize")
run_stage(main, snakemake)  # noqa: F821
