rule collect_activations:
    """Activations of every example of each concept and of neutral.txt (the whole pool: the
    fits index their resampled subsets into it, the held-out rows serve checks on unseen
    examples) and of the tokens the model visits while continuing the task prompts."""
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
