rule judge_outputs:
    """Concept, opposite and bipolar-reference scores of every output of one generations file
    (baseline texts are judged once per concept). Judgments are cached on disk."""
    output:
        f"{R}/judgments/{{name}}.parquet",
    input:
        code=code_inputs("judge_outputs.py"),
        generations=f"{R}/generations/{{name}}.parquet",
        shots=config["judge"]["shots"],
    params:
        judge=judge_params(),
        concepts=config["concepts"],
        cache=config["judge"]["cache"],
        contrast=config["judge"]["contrast"],
    wildcard_constraints:
        name=r"baseline|[a-z]+/n\d+",
    threads: 2
    resources:
        gpu=1,
    log:
        f"{R}/logs/judge_outputs/{{name}}.log",
    benchmark:
        f"{R}/benchmarks/judge_outputs/{{name}}.tsv"
    script:
        "../scripts/judge_outputs.py"


rule validate_judge:
    """The judge on hand-labelled texts: AUROC per concept against texts about the other
    concepts (gates the verdict) and against neutral texts, and the confusion table (every
    on-concept text scored under every concept's rubric)."""
    output:
        validation=f"{R}/judge_validation.parquet",
        confusion=f"{R}/judge_confusion.parquet",
    input:
        code=code_inputs("validate_judge.py"),
        checks=config["judge"]["checks"],
        shots=config["judge"]["shots"],
    params:
        judge=judge_params(),
        concepts=config["concepts"],
        cache=config["judge"]["cache"],
        contrast=config["judge"]["contrast"],
    threads: 2
    resources:
        gpu=1,
    log:
        f"{R}/logs/validate_judge.log",
    benchmark:
        f"{R}/benchmarks/validate_judge.tsv"
    script:
        "../scripts/validate_judge.py"


def off_target_job():
    """(method, n) whose outputs the off-target matrix examines: the primary method at the
    ablation's first n_examples, or at its own largest n when that is not a job."""
    ablation = config["ablation"]["n_examples"]
    if ablation and (PRIMARY, ablation[0]) in JOBS:
        return PRIMARY, ablation[0]
    return PRIMARY, max(n for m, n in JOBS if m == PRIMARY)


OFF_TARGET_METHOD, OFF_TARGET_N = off_target_job()


rule judge_off_target:
    """The off-target matrix of one generations file (the primary method at the ablation's
    first n): its positive-strength and the baseline outputs scored under every concept's
    rubric (cached, so scores other judge jobs made are reused); entry (A, B) is how steering
    toward A moves the score under B's rubric."""
    output:
        f"{R}/metrics/off_target.parquet",
    input:
        code=code_inputs("judge_off_target.py"),
        generations=f"{R}/generations/{OFF_TARGET_METHOD}/n{OFF_TARGET_N}.parquet",
        baseline=f"{R}/generations/baseline.parquet",
        shots=config["judge"]["shots"],
    params:
        judge=judge_params(),
        concepts=config["concepts"],
        cache=config["judge"]["cache"],
        contrast=config["judge"]["contrast"],
        method=OFF_TARGET_METHOD,
        n_examples=OFF_TARGET_N,
    threads: 2
    resources:
        gpu=1,
    log:
        f"{R}/logs/judge_off_target.log",
    benchmark:
        f"{R}/benchmarks/judge_off_target.tsv"
    script:
        "../scripts/judge_off_target.py"
