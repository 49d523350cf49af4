"""Stage 7: per-output scores table, SE per (method, scale, concept), mean SE per scale."""

from pathlib import Path

from steering.evaluation.metrics import mean_se_by_scale, se_table
from steering.evaluation.scoring import join_outputs, scores_table
from steering.experiment.config import load_ratings
from steering.experiment.stage import output_metadata, setup_logging
from steering.io import read_parquet, write_parquet


def joined(generations: str, perplexity: str, judgments: str):
    """Read and join one generations file with its perplexity and judgments."""
    return join_outputs(
        read_parquet(generations), read_parquet(perplexity), read_parquet(judgments)
    )


def main(smk) -> None:
    log = setup_logging(smk.log[0])
    p = smk.params
    inp = smk.input
    steered = [
        joined(g, q, j)
        for g, q, j in zip(inp.generations, inp.perplexity, inp.judgments, strict=True)
    ]
    baseline = joined(inp.baseline, inp.baseline_perplexity, inp.baseline_judgments)
    ratings = load_ratings(inp.ratings) if inp.ratings else None
    scores = scores_table(
        steered,
        baseline,
        ratings,
        ratings_name=Path(inp.ratings).name if inp.ratings else "ratings",
    )
    c = p.coherence
    options = {
        "n_boot": p.n_boot,
        "seed": p.seed,
        "coherence_rule": c["rule"],
        "ratio": c["ratio"],
        "distinct_ratio": c["distinct_ratio"],
    }
    table = se_table(scores, **options)
    mean = mean_se_by_scale(scores, **options)
    log.info("SE per scale:\n%s", mean.to_string(index=False))
    meta = output_metadata(dict(p))
    write_parquet(smk.output.scores, scores, meta)
    write_parquet(smk.output.se, table, meta)
    write_parquet(smk.output.mean_se, mean, meta)


main(snakemake)  # noqa: F821
