"""A tiny, fast project for workflow tests: a random-weight model saved to disk, two concepts
of 8 examples (2 held out), n_examples 2 and 4, two resamples, one non-zero strength, a few
tokens. Used by the workflow, robustness and cluster
tests, which share finished runs of it (the session fixtures ``tiny_run`` and ``small_run`` in
tests/conftest.py): a test that changes results works on a :func:`copy_run` of one."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import yaml
from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

from steering.core.models import embedded_model_dir

REPO = Path(__file__).resolve().parents[2]
CONCEPTS = ("animal", "object")


def build_tiny_model(folder: Path) -> Path:
    """A seeded 2-layer Llama with SmolLM2's real tokenizer, saved as an HF folder."""
    if (folder / "config.json").is_file():
        return folder
    tokenizer = AutoTokenizer.from_pretrained(embedded_model_dir("smollm2-135m-instruct"))
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=3,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    model = LlamaForCausalLM(config)
    tmp = folder.with_name(folder.name + ".tmp")
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    tmp.rename(folder)
    return folder


def tiny_config(model_dir: Path) -> dict:
    """The tiny experiment's config (relative paths inside the project folder)."""
    return {
        "model": {"name": str(model_dir), "layer": 1},
        "allow_external_paths": True,
        "concepts": {c: {"description": f"{c}s", "opposite": f"no {c}s"} for c in CONCEPTS},
        "data": {"held_out_examples": 2},
        "resamples": 2,
        "n_examples": [2, 4],
        "strengths": [0.0, 1.0],  # 2 resamples x 1 strength: as many rows as 1 x 2
        "generation": {"max_new_tokens": 4, "batch_size": 8},
        "fit": {"manifold_tokens": 4, "min_manifold_samples": 4, "batch_size": 8},
        "calibration": {
            "mode": "search",
            "multiples": [0.5, 1.0],
            "n_prompts": 2,
            "max_new_tokens": 3,
        },
        "ablation": {"n_examples": [4], "methods": ["diffmean"], "random_control": True},
        "judge": {
            "model": str(model_dir),
            "batch_size": 8,
            "max_text_tokens": 32,
            "cache": "results/cache/judgments.sqlite",
        },
        "metrics": {"n_boot": 20},
    }


# The tiny config cut to one n_examples and no ablation (14 jobs, every rule once or twice).
SMALL_CHANGES = {
    "n_examples": [4],
    "ablation": {"n_examples": [], "methods": [], "random_control": False},
}


def make_project(root: Path, model_dir: Path, **changes: object) -> Path:
    """Write data files and config.yaml for the tiny experiment into ``root``; ``changes``
    replace top-level keys of :func:`tiny_config`."""
    data = root / "data"
    (data / "concepts").mkdir(parents=True, exist_ok=True)
    for name in (*CONCEPTS, "neutral"):
        lines = (REPO / "data" / "concepts" / f"{name}.txt").read_text().splitlines()[:8]
        (data / "concepts" / f"{name}.txt").write_text("\n".join(lines) + "\n")
    prompts = (REPO / "data" / "prompts.txt").read_text().splitlines()[:3]
    (data / "prompts.txt").write_text("\n".join(prompts) + "\n")
    (data / "lexicons").mkdir(exist_ok=True)
    for name in CONCEPTS:
        lexicon = f"lexicons/{name}.txt"
        shutil.copyfile(REPO / "data" / lexicon, data / lexicon)
    held_out = (REPO / "data" / "calibration_prompts.txt").read_text().splitlines()[:2]
    (data / "calibration_prompts.txt").write_text("\n".join(held_out) + "\n")
    shots = yaml.safe_load((REPO / "data" / "judge_shots.yaml").read_text())
    small = {"rubric_version": shots["rubric_version"]}
    for kind in ("concept", "opposite", "bipolar"):
        small[kind] = {c: shots[kind][c][:3] for c in CONCEPTS}
    (data / "judge_shots.yaml").write_text(yaml.safe_dump(small))
    checks = [json.loads(line) for line in (REPO / "data" / "judge_checks.jsonl").open()]
    keep = [c for c in checks if c["concept"] in CONCEPTS]
    (data / "judge_checks.jsonl").write_text("".join(json.dumps(c) + "\n" for c in keep))
    (root / "config.yaml").write_text(yaml.safe_dump({**tiny_config(model_dir), **changes}))
    return root


def copy_project(source: Path, target: Path) -> Path:
    """A fresh copy of a project folder (without results)."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("results", ".snakemake"))
    return target


# --- running the workflow through its CLI ---------------------------------------------------

# Every rule of the workflow's DAG (besides the target rule `all`).
RULES = (
    "prepare_model",
    "collect_activations",
    "fit_vectors",
    "generate_baseline",
    "generate_steered",
    "score_perplexity",
    "judge_outputs",
    "validate_judge",
    "judge_off_target",
    "compute_metrics",
    "judge_free_curves",
    "summarize",
)
WORKFLOW_FILES = ("Snakefile", "workflow", "steering")


def snapshot_workflow(target: Path) -> Path:
    """A copy of the workflow (Snakefile, workflow/, steering/) at ``target``; returns its
    Snakefile. Snakemake puts the Snakefile's folder first on ``sys.path``, so the copy's
    ``steering`` is the one the rules import: runs are isolated from edits to the checkout, and
    a test may edit the copy's library files (they are rule inputs by absolute path)."""
    target.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")
    for name in WORKFLOW_FILES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=ignore)
        else:
            shutil.copy2(source, target / name)
    return target / "Snakefile"


def snakemake_env() -> dict[str, str]:
    """Environment of a workflow subprocess: one thread per job, no SLURM or profile leaks."""
    import os

    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("SLURM_") and k != "SNAKEMAKE_PROFILE"
    }
    env.update(
        OMP_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        TOKENIZERS_PARALLELISM="false",
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        PYTHONHASHSEED="0",
    )
    return env


def snakemake_cmd(snakefile: Path, *args: str) -> list[str]:
    """``python -m snakemake -s SNAKEFILE ARGS`` with this interpreter (the project venv)."""
    import sys

    return [sys.executable, "-m", "snakemake", "-s", str(snakefile), *args]


# Two jobs at a time: each job is mostly Python/torch start-up, so this overlaps well.
RUN_ARGS = ("--cores", "2", "--resources", "gpu=2")
RUN_TIMEOUT_S = 1200


@dataclass(frozen=True)
class FinishedRun:
    """A project after one complete run."""

    project: Path
    snakefile: Path
    output: str  # stdout + stderr of the run
    seconds: float


def run_snakemake(
    project: Path, snakefile: Path, *args: str, timeout: float = RUN_TIMEOUT_S
) -> subprocess.CompletedProcess:
    """Run the workflow's CLI in ``project`` (stdout + stderr in ``.stdout``), unchecked."""
    return subprocess.run(
        snakemake_cmd(snakefile, *args),
        cwd=project,
        env=snakemake_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
    )


def finished_run(project: Path, snakefile: Path, *args: str) -> FinishedRun:
    """Run the whole workflow in ``project`` (``RUN_ARGS`` plus ``args``); it must succeed."""
    start = time.monotonic()
    proc = run_snakemake(project, snakefile, *RUN_ARGS, *args)
    assert proc.returncode == 0, f"snakemake {' '.join(args)} failed:\n{proc.stdout}"
    return FinishedRun(project, snakefile, proc.stdout, time.monotonic() - start)


def copy_run(run: FinishedRun, target: Path) -> Path:
    """A copy of a finished project that Snakemake finds up to date: results/ and .snakemake/
    included, mtimes kept (tests/workflow checks that such a copy has nothing to do). Run it
    with ``run.snakefile``: another workflow copy would be another set of code inputs."""
    shutil.copytree(run.project, target, symlinks=True)
    return target


def job_stats(output: str) -> dict[str, int]:
    """Snakemake's "Job stats" table (rule -> job count, without the total) from its log;
    {} when it says there is nothing to be done."""
    import re

    if "Nothing to be done" in output:
        return {}
    match = re.search(r"Job stats:\n\s*job\s+count\n[- ]+\n(.*?)\ntotal\s+(\d+)", output, re.S)
    if match is None:
        raise AssertionError(f"no 'Job stats' table in Snakemake's output:\n{output}")
    stats = {}
    for line in match.group(1).splitlines():
        rule, count = line.split()
        stats[rule] = int(count)
    assert sum(stats.values()) == int(match.group(2)), output
    return stats
