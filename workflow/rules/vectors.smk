def _fit_inputs(wildcards):
    inputs = {"activations": rules.collect_activations.output.npz}
    if wildcards.method == "random":  # the control takes the primary vector's norms
        inputs["primary"] = f"{R}/vectors/{PRIMARY}/scale{wildcards.scale}.json"
    return inputs


rule fit_vectors:
    """Contamination subspace, concept vectors, task manifold and strength calibration at one
    scale (the first `scale` examples of each concept); records fit time and peak memory."""
    output:
        tensors=f"{R}/vectors/{{method}}/scale{{scale}}.safetensors",
        meta=f"{R}/vectors/{{method}}/scale{{scale}}.json",
    input:
        unpack(_fit_inputs),
        code=code_inputs("fit_vectors.py"),
        prompts=config["data"]["prompts"],
    params:
        model=model_params(),
        fit={k: v for k, v in config["fit"].items() if k != "methods"},
        calibration=config["calibration"],
        coherence=config["coherence"],
        seed=config["seed"],
    threads: 2
    resources:
        gpu=1,
    log:
        f"{R}/logs/fit_vectors/{{method}}/scale{{scale}}.log",
    benchmark:
        f"{R}/benchmarks/fit_vectors/{{method}}/scale{{scale}}.tsv"
    script:
        "../scripts/fit_vectors.py"
