"""Stage 7: per-output scores, SE per (method, n_examples, concept), mean SE per n and resample,
and the judge-free concept-word check (per concept, and the lift per n with its interval)."""

from pathlib import Path

import pandas as pd

from steering.evaluation.lexical_intervals import LIFT_COLUMNS, lexical_lift_table
from steering.evaluation.lexicon import lexical_summary, load_lexicon, word_rates
from steering.evaluation.resampled_tables import (
    per_resample_mean_se_table,
    pooled_se_table,
    resampled_mean_se_table,
)
from steering.evaluation.scoring import join_outputs, scores_table
from steering.experiment.judge_inputs import load_ratings
from steering.experiment.stage import Stage, run_stage
from steering.io import read_parquet, write_parquet


def joined(generations: str, perplexity: str, judgments: str):
    """Read and join one generations file with its perplexity and judgments."""
    return join_outputs(*map(read_parquet, (generations, perplexity, judgments)))


def main(stage: Stage) -> None:
    p, inp, out = stage.params, stage.input, stage.output
    steered = [joined(*files) for files in
               zip(inp.generations, inp.perplexity, inp.judgments, strict=True)]
    baseline = joined(inp.baseline, inp.baseline_perplexity, inp.baseline_judgments)
    ratings = load_ratings(inp.ratings) if inp.ratings else None
    # The baseline rows have no resample (NaN): they join every resample of their group.
    scores = scores_table(steered, baseline, ratings,
                          ratings_name=Path(inp.ratings).name if inp.ratings else "ratings")
    c = p.coherence
    options = {"n_boot": p.n_boot, "seed": p.seed, "coherence_rule": c["rule"],
               "ratio": c["ratio"], "distinct_ratio": c["distinct_ratio"]}
    mean = resampled_mean_se_table(scores, **options)  # interval: resamples, then prompts
    stage.log.info("SE per n_examples (hierarchical interval):\n%s", mean.to_string(index=False))
    by_resample = per_resample_mean_se_table(scores, **options)
    write_parquet(out.scores, scores, stage.metadata())
    write_parquet(out.se, pooled_se_table(scores, **options), stage.metadata(
        pooling="per concept over all resamples, baseline counted once per resample"))
    write_parquet(out.mean_se, mean, stage.metadata())
    write_parquet(out.mean_se_by_resample, by_resample, stage.metadata())
    lexicons = {Path(f).stem: load_lexicon(f) for f in inp.lexicons}
    covered = scores[scores.concept.isin(lexicons)]
    rated = word_rates(covered, lexicons) if len(covered) else None
    unchecked = [c for c in p.concepts if c not in lexicons]
    lexical = lexical_summary(rated) if rated is not None else pd.DataFrame()
    write_parquet(out.lexical, lexical, stage.metadata(unchecked_concepts=unchecked))
    # The lift per (method, n): resamples, then prompts, like the mean-SE interval.
    lift = (lexical_lift_table(rated, n_boot=p.n_boot, seed=p.seed) if rated is not None
            else pd.DataFrame(columns=list(LIFT_COLUMNS)))
    stage.log.info("Concept-word lift (hierarchical interval):\n%s", lift.to_string(index=False))
    write_parquet(out.lexical_lift, lift, stage.metadata(unchecked_concepts=unchecked))


if "snakemake" not in globals():  # run by hand, for debugging
    from _helpers import mock_snakemake

    snakemake = mock_snakemake("compute_metrics")
run_stage(main, snakemake)  # noqa: F821
