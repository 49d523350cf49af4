"""Stage 7b: judge-free curves (split-half stability, held-out detection AUROC), no model."""

from dataclasses import fields

from steering.core.activations import example_key, example_names
from steering.evaluation.judge_free import judge_free_table
from steering.evaluation.judge_free_curves import judge_free_curves
from steering.experiment.stage import Stage, run_stage
from steering.fit.directions import DirectionSettings
from steering.io import load_npz, write_parquet


def main(stage: Stage) -> None:
    p = stage.params
    arrays = load_npz(stage.input.activations)
    concepts = [c for c in example_names(arrays) if c != "neutral"]
    settings = DirectionSettings(**{f.name: p.fit[f.name] for f in fields(DirectionSettings)})
    table = judge_free_table(
        {c: arrays[example_key(c)] for c in concepts}, arrays[example_key("neutral")],
        arrays["manifold"], n_examples=p.n_examples, resamples=p.resamples,
        held_out=p.held_out, seed=p.seed, methods=p.methods, settings=settings)
    curves = judge_free_curves(table, n_boot=p.n_boot, seed=p.seed)
    stage.log.info("Judge-free curves:\n%s", curves.to_string(index=False))
    write_parquet(stage.output.table, table, stage.metadata())
    write_parquet(stage.output.curves, curves, stage.metadata())


if "snakemake" not in globals():  # run by hand, for debugging
    from _helpers import mock_snakemake

    snakemake = mock_snakemake("judge_free_curves")
run_stage(main, snakemake)  # noqa: F821
