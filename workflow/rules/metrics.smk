rule compute_metrics:
    """Per-output scores table (with each output's resample), SE per (method, n_examples,
    concept) pooled over resamples, the mean SE per n_examples with a hierarchical interval
    (resamples, then prompts), the mean SE per n_examples and resample, and the concept-word
    rates per concept and their lift per n_examples (same hierarchical interval)."""
    output:
        scores=f"{R}/metrics/scores.parquet",
        se=f"{R}/metrics/se.parquet",
        mean_se=f"{R}/metrics/mean_se.parquet",
        mean_se_by_resample=f"{R}/metrics/mean_se_by_resample.parquet",
        lexical=f"{R}/metrics/lexical.parquet",
        lexical_lift=f"{R}/metrics/lexical_lift.parquet",
    input:
        code=code_inputs("compute_metrics.py"),
        generations=per_job(f"{R}/generations/{{method}}/n{{n}}.parquet"),
        perplexity=per_job(f"{R}/perplexity/{{method}}/n{{n}}.parquet"),
        judgments=per_job(f"{R}/judgments/{{method}}/n{{n}}.parquet"),
        baseline=f"{R}/generations/baseline.parquet",
        baseline_perplexity=f"{R}/perplexity/baseline.parquet",
        baseline_judgments=f"{R}/judgments/baseline.parquet",
        ratings=config["judge"]["ratings"] or [],
        lexicons=LEXICON_FILES,
    params:
        concepts=CONCEPTS,
        coherence=coherence_rule(),
        n_boot=config["metrics"]["n_boot"],
        seed=config["seed"],
    log:
        f"{R}/logs/compute_metrics.log",
    benchmark:
        f"{R}/benchmarks/compute_metrics.tsv"
    script:
        "../scripts/compute_metrics.py"


rule judge_free_curves:
    """Split-half stability and held-out detection AUROC of every method at every n_examples
    and resample, from the activations alone (no model, no generation, no judge)."""
    output:
        table=f"{R}/metrics/judge_free.parquet",
        curves=f"{R}/metrics/judge_free_curves.parquet",
    input:
        code=code_inputs("judge_free_curves.py"),
        activations=rules.collect_activations.output.npz,
    params:
        methods=[PRIMARY] + [m for m in METHODS if m != PRIMARY],
        n_examples=sorted({n for _, n in JOBS}),
        resamples=config["resamples"],
        held_out=config["data"]["held_out_examples"],
        fit={k: v for k, v in config["fit"].items() if k != "methods"},
        n_boot=config["metrics"]["n_boot"],
        seed=config["seed"],
    threads: 1
    log:
        f"{R}/logs/judge_free_curves.log",
    benchmark:
        f"{R}/benchmarks/judge_free_curves.tsv"
    script:
        "../scripts/judge_free_curves.py"
