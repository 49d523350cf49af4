"""Stage 6b: AUROC of the judge on hand-labelled texts, per concept."""

from steering.evaluation.judges.cache import JudgmentCache
from steering.evaluation.judges.cached import CachedJudge
from steering.evaluation.judges.factory import make_judge
from steering.evaluation.judges.validation import load_checks, validate_judge
from steering.experiment.judge_inputs import load_rubrics
from steering.experiment.stage import Stage, run_stage
from steering.io import write_parquet


def main(stage: Stage) -> None:
    p = stage.params
    checks = load_checks(stage.input.checks)
    checks = checks[checks.concept.isin(list(p.concepts))]
    rubrics = load_rubrics(stage.input.shots, p.concepts)
    with JudgmentCache(p.cache) as cache:
        judge = CachedJudge(make_judge(p.judge, device=stage.device), cache)
        table = validate_judge(judge, checks, {c: rubrics[("concept", c)] for c in p.concepts})
    stage.log.info("Judge validation:\n%s", table.to_string(index=False))
    write_parquet(stage.output[0], table, stage.metadata(judge_id=judge.judge_id))


if "snakemake" not in globals():  # run by hand, for debugging
    from _helpers import mock_snakemake

    snakemake = mock_snakemake("validate_judge")
run_stage(main, snakemake)  # noqa: F821
