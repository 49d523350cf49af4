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
    """AUROC of the judge on hand-labelled texts, per concept."""
    output:
        f"{R}/judge_validation.parquet",
    input:
        code=code_inputs("validate_judge.py"),
        checks=config["judge"]["checks"],
        shots=config["judge"]["shots"],
    params:
        judge=judge_params(),
        concepts=config["concepts"],
        cache=config["judge"]["cache"],
    threads: 2
    resources:
        gpu=1,
    log:
        f"{R}/logs/validate_judge.log",
    benchmark:
        f"{R}/benchmarks/validate_judge.tsv"
    script:
        "../scripts/validate_judge.py"
