"""Stage 7: per-output scores table, SE per (method, scale, concept), mean SE per scale."""

import pandas as pd

from steering.experiment import load_ratings
from steering.io import read_parquet, write_parquet
from steering.metrics import mean_se_by_scale, se_table
from steering.runtime import output_metadata, setup_logging

BASE_COLUMNS = ["perplexity", "ppl_first_k", "distinct2"]


def joined(generations: str, perplexity: str, judgments: str) -> pd.DataFrame:
    """One generations file with its perplexity and judge scores (one row per concept)."""
    gens = read_parquet(generations).drop(columns=["prompt_ids", "token_ids"])
    gens = gens.merge(read_parquet(perplexity), on="output_id", validate="one_to_one")
    judged = read_parquet(judgments)
    return gens.drop(columns="concept").merge(judged, on="output_id", validate="one_to_many")


def main(smk) -> None:
    log = setup_logging(smk.log[0])
    p = smk.params
    inp = smk.input
    steered = pd.concat([joined(g, q, j) for g, q, j in
                         zip(inp.generations, inp.perplexity, inp.judgments, strict=True)])
    baseline = joined(inp.baseline, inp.baseline_perplexity, inp.baseline_judgments)
    per_prompt = baseline.drop_duplicates("prompt_id").set_index("prompt_id")[BASE_COLUMNS]
    groups = steered[["method", "scale"]].drop_duplicates().itertuples(index=False)
    rows = [steered] + [baseline.assign(method=m, scale=s) for m, s in groups]
    scores = pd.concat(rows, ignore_index=True)
    for column in BASE_COLUMNS:
        scores[f"baseline_{column}"] = scores.prompt_id.map(per_prompt[column])
    scores["delta"] = scores.concept_score - scores.neg_concept_score
    if inp.ratings:
        ratings = load_ratings(inp.ratings)
        key = "output_id" if "output_id" in ratings.columns else "text"
        human = ratings.set_index([key, "concept"])["score"]
        scores["reference"] = [human.get((k, c)) for k, c in zip(scores[key], scores.concept, strict=True)]
        missing = int(scores.reference.isna().sum())
        if missing:
            raise ValueError(f"{inp.ratings} has no rating for {missing} outputs; rate every "
                             "output or remove judge.ratings to use the second judge pass.")
    scores = scores.sort_values(["method", "scale", "concept", "prompt_id", "strength"])
    c = p.coherence
    options = {"n_boot": p.n_boot, "seed": p.seed, "coherence_rule": c["rule"],
               "ratio": c["ratio"], "distinct_ratio": c["distinct_ratio"]}
    table = se_table(scores, **options)
    mean = mean_se_by_scale(scores, **options)
    log.info("SE per scale:\n%s", mean.to_string(index=False))
    meta = output_metadata(dict(p))
    write_parquet(smk.output.scores, scores.reset_index(drop=True), meta)
    write_parquet(smk.output.se, table, meta)
    write_parquet(smk.output.mean_se, mean, meta)


main(snakemake)  # noqa: F821
