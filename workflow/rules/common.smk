# Config validation, paths and helpers shared by the rules.
from pathlib import Path

from snakemake.utils import min_version

from steering.evaluation.lexicon import load_lexicon
from steering.experiment.code_inputs import imported_modules
from steering.experiment.config import validate_config
from steering.experiment.inputs import load_calibration_prompts, load_examples, load_prompts
from steering.experiment.judge_inputs import load_judge_checks, load_ratings, load_rubrics
from steering.experiment.yaml_strict import load_config_file

min_version("9.0")

# Re-read the config files Snakemake was given (`configfile:` and --configfile) strictly: a YAML
# alias (which can expand a small file into gigabytes) or a duplicated key is refused, naming
# the file and line, before any value is used. Their contents also tell which strings came from
# --config, so that `--config 'generation={"max_new_tokens": 4}'` gets its YAML types.
FILE_CONFIGS = [load_config_file(path) for path in workflow.configfiles]

# Fill the schema defaults into `config` (in place, so every rule sees them), validate it and
# run the cross-field checks: a misspelt key or a bad value fails here, naming the key path.
config.update(validate_config(config, Path(workflow.basedir) / "workflow/schemas/config.schema.yaml",
                              file_configs=FILE_CONFIGS))

ROOT = Path(workflow.basedir)
R = config["results_dir"]
N_EXAMPLES = list(config["n_examples"])
# Every n a fit uses (main and ablation); the largest plus the held-out examples must fit in
# every examples file.
ALL_N = sorted(set(N_EXAMPLES) | set(config["ablation"]["n_examples"]))
MAX_N = max(ALL_N)
HELD_OUT = config["data"]["held_out_examples"]
CONCEPTS = list(config["concepts"])
PRIMARY = config["fit"]["methods"][0]

# Read every input file once before any job starts (a dry run included): a missing, short or
# malformed examples, prompts, shots, checks or ratings file fails here, naming file and line;
# an examples file too short for the largest n_examples plus the held-out examples too.
load_examples(config["data"]["concepts_dir"], CONCEPTS, MAX_N, HELD_OUT)
load_calibration_prompts(config["data"]["calibration_prompts"],
                         load_prompts(config["data"]["prompts"]))
load_rubrics(config["judge"]["shots"], config["concepts"])
# Judge-free check: the concept-word lists that exist (a concept without one is reported).
LEXICON_FILES = [f"{config['data']['lexicons_dir']}/{c}.txt" for c in CONCEPTS
                 if Path(config["data"]["lexicons_dir"], f"{c}.txt").is_file()]
for _lexicon in LEXICON_FILES:
    load_lexicon(_lexicon)
load_judge_checks(config["judge"]["checks"])
if config["judge"]["ratings"]:
    load_ratings(config["judge"]["ratings"], CONCEPTS)


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


def coherence_rule():
    """``coherence`` without the perplexity model's dtype: what the stages that apply the rule
    read (changing the dtype reruns perplexity scoring, and through it what follows)."""
    return {k: v for k, v in config["coherence"].items() if k != "dtype"}


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
    f"{REPORT_DIR}/judge_free.png",
]

