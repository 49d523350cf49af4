"""Stage 6b: AUROC of the judge on hand-labelled texts, per concept."""

from steering.evaluation.judges.cache import JudgmentCache
from steering.evaluation.judges.factory import CachedJudge, make_judge
from steering.evaluation.judges.validation import load_checks, validate_judge
from steering.experiment.config import load_rubrics
from steering.experiment.stage import output_metadata, setup_logging, stage_device
from steering.io import write_parquet


def main(smk) -> None:
    log = setup_logging(smk.log[0])
    p = smk.params
    device = stage_device(smk.resources.get("gpu", 0), smk.threads)
    checks = load_checks(smk.input.checks)
    checks = checks[checks.concept.isin(list(p.concepts))]
    rubrics = load_rubrics(smk.input.shots, p.concepts)
    with JudgmentCache(p.cache) as cache:
        judge = CachedJudge(make_judge(p.judge, device=device), cache)
        table = validate_judge(judge, checks, {c: rubrics[("concept", c)] for c in p.concepts})
    log.info("Judge validation:\n%s", table.to_string(index=False))
    write_parquet(smk.output[0], table, output_metadata(dict(p), judge_id=judge.judge_id))


main(snakemake)  # noqa: F821
