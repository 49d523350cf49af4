# Config validation, paths and helpers shared by the rules.
from pathlib import Path

from snakemake.utils import min_version

from steering.experiment.code_inputs import imported_modules
from steering.experiment.config import load_examples, load_prompts, validate_config
from steering.io import remove_corrupt

min_version("9.0")

# Fill the schema defaults into `config` (in place, so every rule sees them), validate it and
# run the cross-field checks: a misspelt key or a bad value fails here, naming the key path.
config.update(validate_config(config, Path(workflow.basedir) / "workflow/schemas/config.schema.yaml"))

ROOT = Path(workflow.basedir)
R = config["results_dir"]
SCALES = list(config["scales"])
MAX_SCALE = max(SCALES)
CONCEPTS = list(config["concepts"])
PRIMARY = config["fit"]["methods"][0]

# A cached output that cannot be read (truncated Parquet/npz/JSON/safetensors) is deleted so it
# is rebuilt, never trusted. This runs while the Snakefile is parsed, before the DAG is built, so
# Snakemake sees the file missing and reruns its job and everything downstream; an `onstart`
# handler would run after the DAG is built, too late (the jobs downstream then fail on a missing
# input). Only the main process scans (not jobs on cluster nodes). Files being written by a
# running job are hidden `.*.tmp` files and are never touched. A dry run deletes them too: a
# corrupt file is worthless either way.
CORRUPT_REMOVED = []
if workflow.is_main_process and Path(R).is_dir():
    from snakemake.logging import logger as _logger

    for _path in remove_corrupt(p for p in Path(R).rglob("*") if p.is_file()):
        _logger.warning(f"Removed corrupt output {_path}; it will be rebuilt.")
        CORRUPT_REMOVED.append(str(_path))
if CORRUPT_REMOVED:
    # Snakemake rebuilds a missing intermediate file only when something downstream must run
    # anyway, so force the removed files' jobs (and thereby everything downstream), as
    # `snakemake -R <file>` would. The DAG settings exist only once parsing is over, so this
    # is applied when the workflow executes, for the files some rule produces.
    _execute = workflow.execute

    def _execute_rebuilding_corrupt(*args, **kwargs):
        settings = workflow.dag_settings
        producible = {f for f in CORRUPT_REMOVED if any(r.is_producer(f) for r in workflow.rules)}
        if settings is not None and producible:
            settings.forcerun = frozenset(settings.forcerun or ()) | producible
        return _execute(*args, **kwargs)

    workflow.execute = _execute_rebuilding_corrupt

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


def code_inputs(script):
    """The library files a stage's script imports (its import graph, derived, never listed):
    editing one reruns that stage and what follows, and nothing else."""
    return [str(path) for path in imported_modules(ROOT / "workflow" / "scripts" / script,
                                                   ROOT / "steering")]


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

