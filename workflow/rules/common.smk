# Config validation, paths and helpers shared by the rules.
from pathlib import Path

from snakemake.utils import min_version

from steering.experiment.code_inputs import imported_modules
from steering.experiment.config import validate_config
from steering.experiment.inputs import load_examples, load_prompts

min_version("9.0")

# Fill the schema defaults into `config` (in place, so every rule sees them), validate it and
# run the cross-field checks: a misspelt key or a bad value fails here, naming the key path.
config.update(validate_config(config, Path(workflow.basedir) / "workflow/schemas/config.schema.yaml"))

ROOT = Path(workflow.basedir)
R = config["results_dir"]
N_EXAMPLES = list(config["n_examples"])
MAX_N = max(N_EXAMPLES)
CONCEPTS = list(config["concepts"])
PRIMARY = config["fit"]["methods"][0]

# Fail before any job starts when an examples file is missing or too short.
load_examples(config["data"]["concepts_dir"], CONCEPTS, MAX_N)
load_prompts(config["data"]["prompts"])


def _jobs():
    """(method, n_examples) of every fit: each method at every n, the ablation at its own."""
    jobs = [(m, n) for m in config["fit"]["methods"] for n in N_EXAMPLES]
    for n in config["ablation"]["n_examples"]:
        extra = list(config["ablation"]["methods"])
        if config["ablation"]["random_control"]:
            extra.append("random")
        jobs += [(m, n) for m in extra if (m, n) not in jobs]
    return jobs


JOBS = _jobs()
METHODS = sorted({m for m, _ in JOBS})

wildcard_constraints:
    method="|".join(METHODS),
    n=r"\d+",


def code_inputs(script):
    """The library files a stage's script imports (its import graph, derived, never listed):
    editing one reruns that stage and what follows, and nothing else."""
    return [str(path) for path in imported_modules(ROOT / "workflow" / "scripts" / script,
                                                   ROOT / "steering")]


def per_job(pattern):
    return [pattern.format(method=m, n=n) for m, n in JOBS]


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

