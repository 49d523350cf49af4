"""Stage 6: concept, opposite and bipolar (reference) scores of every output.

With ``judge.contrast`` w > 0 the concept score is the concept rubric's score minus w x the
mean of the other concepts' rubric scores (every output is read under every concept's rubric).
"""

import pandas as pd

from steering.evaluation.judges.cache import JudgmentCache
from steering.evaluation.judges.cached import CachedJudge
from steering.evaluation.judges.contrastive import scoring_judge
from steering.evaluation.judges.factory import make_judge
from steering.experiment.judge_inputs import load_rubrics
from steering.experiment.stage import Stage, run_stage
from steering.io import read_parquet, write_parquet

COLUMNS = {"concept": "concept_score", "opposite": "neg_concept_score", "bipolar": "reference"}


def main(stage: Stage) -> None:
    p = stage.params
    generations = read_parquet(stage.input.generations)
    rubrics = load_rubrics(stage.input.shots, p.concepts)
    if (generations.concept == "").all():  # baseline texts: judged once per concept
        generations = pd.concat([generations.assign(concept=c) for c in p.concepts])
    with JudgmentCache(p.cache) as cache:
        raw = CachedJudge(make_judge(p.judge, device=stage.device), cache)
        concept_rubrics = {c: rubrics[("concept", c)] for c in p.concepts}
        judge = scoring_judge(raw, p.contrast, concept_rubrics)
        parts = []
        for concept, group in generations.groupby("concept", sort=True):
            scores = {"output_id": group.output_id.to_numpy(), "concept": concept}
            for kind, column in COLUMNS.items():
                scores[column] = judge.score(list(group.text), rubrics[(kind, concept)])
            parts.append(pd.DataFrame(scores))
        stage.log.info("Judged %d outputs; cache %s", len(generations), cache.stats)
    frame = pd.concat(parts, ignore_index=True)
    write_parquet(
        stage.output[0], frame, stage.metadata(judge_id=judge.judge_id, contrast=p.contrast)
    )


if "snakemake" not in globals():  # run by hand, for debugging
    from _helpers import mock_snakemake

    snakemake = mock_snakemake("judge_outputs", name="baseline")
run_stage(main, snakemake)  # noqa: F821
