rule collect_activations:
    """Activations of the examples (the largest n_examples only: smaller n are prefixes) and of
    the tokens the model visits while continuing the task prompts (the task manifold)."""
    output:
        npz=f"{R}/activations/activations.npz",
        meta=f"{R}/activations/activations.json",
    input:
        code=code_inputs("collect_activations.py"),
        model=rules.prepare_model.output,
        examples=[f"{config['data']['concepts_dir']}/{c}.txt" for c in CONCEPTS + ["neutral"]],
        prompts=config["data"]["prompts"],
    params:
        model=model_params(),
        concepts=CONCEPTS,
        n_examples=MAX_N,
        pooling=config["fit"]["pooling"],
        batch_size=config["fit"]["batch_size"],
        manifold_tokens=config["fit"]["manifold_tokens"],
        max_prompt_tokens=config["data"]["max_prompt_tokens"],
        on_long=config["data"]["on_long"],
    threads: 2
    resources:
        gpu=1,
    log:
        f"{R}/logs/collect_activations.log",
    benchmark:
        f"{R}/benchmarks/collect_activations.tsv"
    script:
        "../scripts/collect_activations.py"
