# Config validation, paths and helpers shared by the rules.
from pathlib import Path

from snakemake.utils import min_version, validate

from steering.experiment import check_config, load_examples, load_prompts
from steering.io import remove_corrupt

min_version("9.0")

validate(config, "../schemas/config.schema.yaml")
check_config(config)

ROOT = Path(workflow.basedir)
R = config["results_dir"]
SCALES = list(config["scales"])
MAX_SCALE = max(SCALES)
CONCEPTS = list(config["concepts"])
PRIMARY = config["fit"]["methods"][0]

# Fail before any job starts when an examples file is missing or too short.
load_examples(config["data"]["concepts_dir"], CONCEPTS, MAX_SCALE)
load_prompts(config["data"]["prompts"])


def _jobs():
    jobs = [(m, s) for m in config["fit"]["methods"] for s in SCALES]
    for s in config["ablation"]["scales"]:
        extra = list(config["ablation"]["methods"])
        if config["ablation"]["random_control"]:
            extra.append("random")
        jobs += [(m, s) for m in extra if (m, s) not in jobs]
    return jobs


JOBS = _jobs()
METHODS = sorted({m for m, _ in JOBS})

wildcard_constraints:
    method="|".join(METHODS),
    scale=r"\d+",


def lib(*modules):
    """Library modules a stage imports: editing one reruns that stage and what follows."""
    return [str(ROOT / "steering" / f"{m}.py") for m in modules]


LIB_MODEL = lib("models", "layers", "hooks", "activations", "generation", "io", "provenance")
LIB_FIT = LIB_MODEL + lib("subspaces", "calibration", "coherence", "perplexity", "steerer",
                          "vectors", "memory", "experiment")
LIB_JUDGE = lib("models", "io", "provenance", "experiment", "judges/base", "judges/local",
                "judges/openai", "judges/cache", "judges/validation")


def per_job(pattern):
    return [pattern.format(method=m, scale=s) for m, s in JOBS]


def model_params():
    return {k: config["model"][k] for k in
            ("name", "revision", "dtype", "layer", "layer_template", "trust_remote_code")}


def judge_params():
    keys = ("backend", "model", "dtype", "batch_size", "max_text_tokens", "base_url",
            "api_key_env", "timeout", "max_concurrency", "max_retries")
    return {k: config["judge"][k] for k in keys}


REPORT_DIR = f"{R}/report"
REPORT_OUTPUTS = [
    f"{REPORT_DIR}/report.md",
    f"{REPORT_DIR}/training_curve.png",
    f"{REPORT_DIR}/cost_curve.png",
    f"{REPORT_DIR}/scatter.png",
    f"{REPORT_DIR}/methods.png",
]


onstart:
    # A cached file that cannot be read is deleted so that it is rebuilt, never trusted.
    removed = remove_corrupt(p for p in Path(R).rglob("*") if p.is_file()) if Path(R).exists() else []
    for path in removed:
        logger.warning(f"Removed corrupt output {path}; it will be rebuilt.")
