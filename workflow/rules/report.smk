# The n at which the methods' directions are compared: the ablation's (every method is fitted
# there), else the largest n.
GEOMETRY_N = (config["ablation"]["n_examples"] or [MAX_N])[0]


rule summarize:
    """Knee (of the hierarchical curve and of each resample's), plots and the Markdown report
    with its verdicts and conclusion."""
    output:
        report=report(f"{REPORT_DIR}/report.md", category="Report"),
        training=report(f"{REPORT_DIR}/training_curve.png", category="Plots"),
        cost=report(f"{REPORT_DIR}/cost_curve.png", category="Plots"),
        scatter=report(f"{REPORT_DIR}/scatter.png", category="Plots"),
        methods=report(f"{REPORT_DIR}/methods.png", category="Plots"),
        judge_free=report(f"{REPORT_DIR}/judge_free.png", category="Plots"),
    input:
        code=code_inputs("summarize.py"),
        scores=rules.compute_metrics.output.scores,
        se=rules.compute_metrics.output.se,
        mean_se=rules.compute_metrics.output.mean_se,
        mean_se_by_resample=rules.compute_metrics.output.mean_se_by_resample,
        lexical=rules.compute_metrics.output.lexical,
        lexical_lift=rules.compute_metrics.output.lexical_lift,
        vectors=[f"{R}/vectors/{PRIMARY}/n{n}.json" for n in N_EXAMPLES],
        validation=rules.validate_judge.output.validation,
        confusion=rules.validate_judge.output.confusion,
        judge_free=rules.judge_free_curves.output.curves,
        off_target=rules.judge_off_target.output[0],
        geometry=[f"{R}/vectors/{m}/n{n}.{ext}" for m, n in JOBS if n == GEOMETRY_N
                  for ext in ("safetensors", "json")],
    params:
        config={k: v for k, v in config.items()},
        primary_method=PRIMARY,
        knee_threshold=config["metrics"]["knee_threshold"],
        min_auroc=config["judge"]["min_auroc"],
        reference=(f"human ratings from {config['judge']['ratings']}" if config["judge"]["ratings"]
                   else "second judge pass (bipolar rubric), partly circular"),
        reference_is_judge=not config["judge"]["ratings"],
        n_boot=config["metrics"]["n_boot"],
        seed=config["seed"],
        coherence=coherence_rule(),
        geometry_n=GEOMETRY_N,
        judge_contrast=config["judge"]["contrast"],
    log:
        f"{R}/logs/summarize.log",
    benchmark:
        f"{R}/benchmarks/summarize.tsv"
    script:
        "../scripts/summarize.py"
