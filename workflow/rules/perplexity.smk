rule score_perplexity:
    """Perplexity (whole continuation and first k tokens) under the unsteered model (in
    coherence.dtype), and distinct-2, for one generations file."""
    output:
        f"{R}/perplexity/{{name}}.parquet",
    input:
        code=code_inputs("score_perplexity.py"),
        generations=f"{R}/generations/{{name}}.parquet",
    params:
        model=model_params(),
        dtype=config["coherence"]["dtype"],
        first_k=config["coherence"]["first_k"],
        batch_size=config["generation"]["batch_size"],
    wildcard_constraints:
        name=r"baseline|[a-z]+/n\d+",
    threads: 2
    resources:
        gpu=1,
    log:
        f"{R}/logs/score_perplexity/{{name}}.log",
    benchmark:
        f"{R}/benchmarks/score_perplexity/{{name}}.tsv"
    script:
        "../scripts/score_perplexity.py"
