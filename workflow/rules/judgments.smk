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
