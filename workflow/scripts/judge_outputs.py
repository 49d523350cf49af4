"""Stage 6: concept, opposite and bipolar (reference) scores of every output."""

import pandas as pd

from steering.evaluation.judges.cache import JudgmentCache
from steering.evaluation.judges.factory import CachedJudge, make_judge
from steering.experiment.config import load_rubrics
from steering.experiment.stage import output_metadata, setup_logging, stage_device
from steering.io import read_parquet, write_parquet

COLUMNS = {"concept": "concept_score", "opposite": "neg_concept_score", "bipolar": "reference"}


def main(smk) -> None:
    log = setup_logging(smk.log[0])
    p = smk.params
    device = stage_device(smk.resources.get("gpu", 0), smk.threads)
    generations = read_parquet(smk.input.generations)
    rubrics = load_rubrics(smk.input.shots, p.concepts)
    if (generations.concept == "").all():  # baseline texts: judged once per concept
        generations = pd.concat([generations.assign(concept=c) for c in p.concepts])
    with JudgmentCache(p.cache) as cache:
        judge = CachedJudge(make_judge(p.judge, device=device), cache)
        parts = []
        for concept, group in generations.groupby("concept", sort=True):
            scores = {"output_id": group.output_id.to_numpy(), "concept": concept}
            for kind, column in COLUMNS.items():
                scores[column] = judge.score(list(group.text), rubrics[(kind, concept)])
            parts.append(pd.DataFrame(scores))
        log.info("Judged %d outputs; cache %s", len(generations), cache.stats)
    frame = pd.concat(parts, ignore_index=True)
    write_parquet(smk.output[0], frame, output_metadata(dict(p), judge_id=judge.judge_id))


main(snakemake)  # noqa: F821
