def _fit_inputs(wildcards):
    inputs = {"activations": rules.collect_activations.output.npz}
    if wildcards.method == "random":  # the control takes the primary vector's norms
        inputs["primary"] = f"{R}/vectors/{PRIMARY}/n{wildcards.n}.json"
    return inputs


rule fit_vectors:
    """Contamination subspace, concept vectors, task manifold and strength calibration at one
    n_examples, for each of the `resamples` seeded example subsets (nested within a resample,
    never a held-out example; calibration searched on resample 0 and its multiples reused);
    records the subsets' line indices, fit time and peak memory."""
    output:
        tensors=f"{R}/vectors/{{method}}/n{{n}}.safetensors",
        meta=f"{R}/vectors/{{method}}/n{{n}}.json",
    input:
        unpack(_fit_inputs),
        code=code_inputs("fit_vectors.py"),
        calibration_prompts=config["data"]["calibration_prompts"],
    params:
        model=model_params(),
        fit={k: v for k, v in config["fit"].items() if k != "methods"},
        calibration=config["calibration"],
        coherence=coherence_rule(),
        seed=config["seed"],
        resamples=config["resamples"],
        held_out=HELD_OUT,
    threads: 2
    resources:
        gpu=1,
    log:
        f"{R}/logs/fit_vectors/{{method}}/n{{n}}.log",
    benchmark:
        f"{R}/benchmarks/fit_vectors/{{method}}/n{{n}}.tsv"
    script:
        "../scripts/fit_vectors.py"
