"""Stage 6c: the off-target matrix of one method and n_examples.

Its positive-strength outputs and the baseline outputs are scored under every concept's
``concept`` rubric (contrastive with weight ``judge.contrast``, like the scores table and the
judge's confusion table; cached, so what the judge jobs already scored is reused). Entry
(A, B) is the mean score under B's rubric of the outputs steered toward A minus that of the
baseline (:mod:`steering.evaluation.offtarget`); written tidy: ``method``, ``n_examples``,
``steered``, ``rubric``, ``change``.
"""

import pandas as pd

from steering.evaluation.judges.cache import JudgmentCache
from steering.evaluation.judges.cached import CachedJudge
from steering.evaluation.judges.contrastive import scoring_judge
from steering.evaluation.judges.factory import make_judge
from steering.evaluation.offtarget import off_target_matrix, selectivity
from steering.experiment.judge_inputs import load_rubrics
from steering.experiment.stage import Stage, run_stage
from steering.io import read_parquet, write_parquet


def main(stage: Stage) -> None:
    p = stage.params
    steered = read_parquet(stage.input.generations)
    steered = steered[steered.strength > 0]  # the matrix uses positive strengths only
    baseline = read_parquet(stage.input.baseline).assign(
        method=p.method, n_examples=p.n_examples, concept="", strength=0.0
    )
    outputs = pd.concat([steered, baseline], ignore_index=True)
    texts = outputs.drop_duplicates("output_id")
    rubrics = load_rubrics(stage.input.shots, p.concepts)
    concept_rubrics = {c: rubrics[("concept", c)] for c in p.concepts}
    with JudgmentCache(p.cache) as cache:
        raw = CachedJudge(make_judge(p.judge, device=stage.device), cache)
        judge = scoring_judge(raw, p.contrast, concept_rubrics)
        scores = pd.concat(
            pd.DataFrame(
                {
                    "output_id": texts.output_id.to_numpy(),
                    "rubric_concept": concept,
                    "score": judge.score(list(texts.text), rubric),
                }
            )
            for concept, rubric in concept_rubrics.items()
        )
        stage.log.info(
            "Scored %d outputs of %s/n%d (and the baseline) under %d rubrics; cache %s",
            len(texts),
            p.method,
            p.n_examples,
            len(concept_rubrics),
            cache.stats,
        )
    matrix = off_target_matrix(outputs, scores, method=p.method, n_examples=p.n_examples)
    stage.log.info(
        "Off-target matrix (rows: steered toward, columns: rubric):\n%s\nselectivity:\n%s",
        matrix.round(3),
        selectivity(matrix).round(3),
    )
    tidy = matrix.stack().rename("change").reset_index()
    tidy.insert(0, "n_examples", p.n_examples)
    tidy.insert(0, "method", p.method)
    write_parquet(
        stage.output[0], tidy, stage.metadata(judge_id=judge.judge_id, contrast=p.contrast)
    )


if "snakemake" not in globals():  # run by hand, for debugging
    from _helpers import mock_snakemake

    snakemake = mock_snakemake("judge_off_target")
run_stage(main, snakemake)  # noqa: F821
