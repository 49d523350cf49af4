rule prepare_model:
    """Embedded GGUF -> cached HF folder (once per machine); records the model's identity."""
    output:
        f"{R}/model/model.json",
    input:
        code=code_inputs("prepare_model.py"),
    params:
        model=model_params(),
        judge_model=config["judge"]["model"] if config["judge"]["backend"] == "local" else None,
    resources:
        gpu=1,
    log:
        f"{R}/logs/prepare_model.log",
    benchmark:
        f"{R}/benchmarks/prepare_model.tsv"
    script:
        "../scripts/prepare_model.py"
