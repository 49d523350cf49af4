"""Stage 6b: the judge on hand-labelled texts: AUROC per concept and its confusion matrix.

Every check text is scored under every concept's rubric (contrastive with weight
``judge.contrast``), so each concept is measured against texts about the other concepts
(``auroc_other``, which is ``auroc`` and gates the verdict) and against neutral texts
(``auroc_neutral``); the on-concept texts' scores under every rubric are the confusion table.
"""

from steering.evaluation.judge_confusion import confusion_from_scores
from steering.evaluation.judges.cache import JudgmentCache
from steering.evaluation.judges.cached import CachedJudge
from steering.evaluation.judges.contrastive import scoring_judge
from steering.evaluation.judges.factory import make_judge
from steering.evaluation.judges.validation import (
    GATING_AUROC,
    check_scores,
    load_checks,
    validation_table,
)
from steering.experiment.judge_inputs import load_rubrics
from steering.experiment.stage import Stage, run_stage
from steering.io import write_parquet


def main(stage: Stage) -> None:
    p = stage.params
    checks = load_checks(stage.input.checks)
    checks = checks[checks.concept.isin(list(p.concepts))]
    rubrics = load_rubrics(stage.input.shots, p.concepts)
    concept_rubrics = {c: rubrics[("concept", c)] for c in p.concepts}
    with JudgmentCache(p.cache) as cache:
        raw = CachedJudge(make_judge(p.judge, device=stage.device), cache)
        judge = scoring_judge(raw, p.contrast, concept_rubrics)
        scores = check_scores(judge, checks, concept_rubrics)
    table = validation_table(checks, scores)
    confusion = confusion_from_scores(checks, scores)
    stage.log.info(
        "Judge validation (contrast %s; auroc = %s gates the verdict):\n%s",
        p.contrast,
        GATING_AUROC,
        table.to_string(index=False),
    )
    meta = stage.metadata(judge_id=judge.judge_id, contrast=p.contrast, gating_auroc=GATING_AUROC)
    write_parquet(stage.output.validation, table, meta)
    write_parquet(stage.output.confusion, confusion, meta)


if "snakemake" not in globals():  # run by hand, for debugging
    from _helpers import mock_snakemake

    snakemake = mock_snakemake("validate_judge")
run_stage(main, snakemake)  # noqa: F821
