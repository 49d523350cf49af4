GENERATION_PARAMS = {
    **config["generation"],
    "max_prompt_tokens": config["data"]["max_prompt_tokens"],
    "on_long": config["data"]["on_long"],
}


rule generate_baseline:
    """The unsteered continuation of every prompt: strength 0, generated once for all."""
    output:
        f"{R}/generations/baseline.parquet",
    input:
        code=code_inputs("generate_baseline.py"),
        model=rules.prepare_model.output,
        prompts=config["data"]["prompts"],
    params:
        model=model_params(),
        generation=GENERATION_PARAMS,
        seed=config["seed"],
    threads: 2
    resources:
        gpu=1,
    log:
        f"{R}/logs/generate_baseline.log",
    benchmark:
        f"{R}/benchmarks/generate_baseline.tsv"
    script:
        "../scripts/generate_baseline.py"


rule generate_steered:
    """Every resample x concept x prompt x non-zero strength of one method and n_examples, in
    one batched generation (each row tagged with its resample)."""
    output:
        f"{R}/generations/{{method}}/n{{n}}.parquet",
    input:
        code=code_inputs("generate_steered.py"),
        vectors=rules.fit_vectors.output.tensors,
        meta=rules.fit_vectors.output.meta,
        prompts=config["data"]["prompts"],
    params:
        model=model_params(),
        generation=GENERATION_PARAMS,
        strengths=[s for s in config["strengths"] if s != 0],
        seed=config["seed"],
    threads: 2
    resources:
        gpu=1,
    log:
        f"{R}/logs/generate_steered/{{method}}/n{{n}}.log",
    benchmark:
        f"{R}/benchmarks/generate_steered/{{method}}/n{{n}}.tsv"
    script:
        "../scripts/generate_steered.py"
