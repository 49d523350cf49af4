"""Run a workflow on a real single-node SLURM through the shipped profile.

The workflow is submitted with

    snakemake --profile workflow/profiles/slurm \
              --workflow-profile tests/profiles/slurm-test

i.e. the shipped profile plus a small test overlay (squeue status command,
short waits), on the throw-away cluster of the ``slurm_cluster`` fixture.
Asserted:

* every job Snakemake ran (bar local rules) went through sbatch: the SLURM job
  ids in Snakemake's log are exactly the jobs slurmctld knows for this run,
  one per job in Snakemake's "Job stats";
* jobs of GPU rules carry a GPU request (TresPerJob/TresPerNode gres:gpu),
  jobs of CPU rules do not;
* the results equal those of a local run (``--cores 2``, no profile; the
  session's ``small_run`` of tests/conftest.py, made with the same workflow
  snapshot, model and config): the same result file names, the generations
  byte for byte, perplexity tables exactly, judgment and metrics tables to 1e-4.

The workflow under test is the real one (a snapshot of Snakefile, workflow/
and steering/) on the tiny project of ``tests/helpers/workflow_project.py``, cut to one
n_examples and no ablation; see the block marked "WORKFLOW UNDER TEST" below.
"""

from __future__ import annotations

import filecmp
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHIPPED_PROFILE = REPO / "workflow" / "profiles" / "slurm"
TEST_PROFILE = REPO / "tests" / "profiles" / "slurm-test"
# --profile SHIPPED --workflow-profile TEST: the overlay wins per key
SLURM_PROFILES = (SHIPPED_PROFILE, TEST_PROFILE)

# Snakemake of the interpreter running pytest (the project venv).
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
if not os.path.exists(SNAKEMAKE):
    SNAKEMAKE = shutil.which("snakemake") or "snakemake"

# Hard limit for one Snakemake run: without slurmdbd a wrong status command
# makes Snakemake loop forever and ignore SIGTERM, hence `timeout -k`.
RUN_TIMEOUT_S = int(os.environ.get("SLURM_TEST_TIMEOUT_S", "900"))
# `timeout` exits 124 after TERM; after KILL it dies itself (-9 / 137)
TIMED_OUT = (124, 137, -9)

# All rules of the real workflow (workflow/Snakefile), by kind. GPU rules
# declare `resources: gpu=1`. test_profiles.py checks the shipped profile
# against these lists.
WORKFLOW_GPU_RULES = [
    "prepare_model",
    "collect_activations",
    "fit_vectors",
    "generate_steered",
    "generate_baseline",
    "score_perplexity",
    "judge_outputs",
    "validate_judge",
    "judge_off_target",
]
WORKFLOW_CPU_RULES = ["judge_free_curves", "compute_metrics", "summarize"]

# ---------------------------------------------------------------------------
# WORKFLOW UNDER TEST. Switching to the real workflow = edit this block.
# ---------------------------------------------------------------------------
# The real workflow (the session's snapshot of Snakefile, workflow/ and steering/,
# so edits to the checkout during the test change nothing) on the tiny project of
# tests/helpers/workflow_project.py (random 3-layer Llama), cut to one n_examples and no
# ablation (SMALL_CHANGES): 14 jobs, every rule once or twice. The local reference run is
# the session's ``small_run`` of that same project.
from tests.helpers.workflow_project import SMALL_CHANGES, make_project  # noqa: E402

# The rules this run is expected to execute (exactly), split by kind.
GPU_RULES = list(WORKFLOW_GPU_RULES)
CPU_RULES = list(WORKFLOW_CPU_RULES)
LOCAL_RULES = ["all"]  # rules that run on the submit host, never sbatch'ed
# Compared between the local and the SLURM run (relative to the workdir): the
# same file names under RESULT_DIRS; equal bytes for RESULT_BYTES; equal
# tables for RESULT_TABLES; tables equal to 1e-4 for RESULT_CLOSE_TABLES (the
# judge's scores vary in the last bits with the batch a text is scored in,
# which depends on the job order through the run's judgment cache). Not
# compared: logs, benchmarks, vectors JSON (fit timings), judge cache, plots.
RESULT_DIRS = ["results"]
RESULT_BYTES = ["results/generations/**/*.parquet"]
RESULT_TABLES = ["results/perplexity/**/*.parquet"]
RESULT_CLOSE_TABLES = ["results/judgments/**/*.parquet", "results/metrics/*.parquet"]
# A file the GPU job writes $CUDA_VISIBLE_DEVICES into (None: not checked; the
# real workflow records no such file).
CUDA_LOG = None


def prepare_workdir(workdir: Path, model: Path) -> Path:
    """Create ``workdir`` with everything the workflow run needs: the local reference run's
    project and config (the same ``model`` folder, so the outputs' provenance matches)."""
    return make_project(workdir, model, **SMALL_CHANGES)


def workflow_args(snakefile: Path) -> list[str]:
    """Which Snakefile to run (cwd is the workdir): the local reference run's snapshot."""
    return ["--snakefile", str(snakefile)]


def results_equal(local_dir: Path, slurm_dir: Path) -> list[str]:
    """Names of the compared results that differ between the two runs."""
    import pandas as pd

    def close(a: pd.DataFrame, b: pd.DataFrame) -> bool:
        try:
            pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-4, atol=1e-4)
        except AssertionError:
            return False
        return True

    differ = []
    for pattern in RESULT_BYTES + RESULT_TABLES + RESULT_CLOSE_TABLES:
        names = sorted(str(f.relative_to(local_dir)) for f in local_dir.glob(pattern))
        assert names, f"the local run produced nothing matching {pattern}"
        for name in names:
            a, b = local_dir / name, slurm_dir / name
            if pattern in RESULT_BYTES:
                same = filecmp.cmp(a, b, shallow=False)
            elif pattern in RESULT_TABLES:
                same = pd.read_parquet(a).equals(pd.read_parquet(b))
            else:
                same = close(pd.read_parquet(a), pd.read_parquet(b))
            if not same:
                differ.append(name)
    return differ


# ---------------------------------------------------------------------------


def run_workflow(
    workdir: Path,
    snakefile: Path,
    extra_args: list[str],
    profile: Path | tuple[Path, Path] | None = None,
    env: dict | None = None,
    timeout_s: int = RUN_TIMEOUT_S,
) -> subprocess.CompletedProcess:
    """Run Snakemake on the workflow under test in ``workdir``.

    ``profile``: None = plain local run (add ``--cores`` to ``extra_args``);
    a path = ``--profile PATH``; a pair = ``--profile A --workflow-profile B``.
    Returns the CompletedProcess (stdout+stderr in ``.stdout``) with
    ``.elapsed_s`` set; does not check the return code.
    """
    cmd = ["timeout", "-k", "10", str(timeout_s), SNAKEMAKE]
    cmd += workflow_args(snakefile)
    cmd += ["--directory", str(workdir)]
    if profile is None:
        cmd += ["--workflow-profile", "none"]
    elif isinstance(profile, tuple):
        cmd += ["--profile", str(profile[0]), "--workflow-profile", str(profile[1])]
    else:
        cmd += ["--profile", str(profile)]
    cmd += list(extra_args)
    env = dict(os.environ if env is None else env)
    env.pop("SNAKEMAKE_PROFILE", None)
    if profile is None:
        for var in [v for v in env if v.startswith("SLURM_")]:
            del env[var]
    t0 = time.monotonic()
    proc = subprocess.run(
        cmd,
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    proc.elapsed_s = time.monotonic() - t0
    return proc


def job_stats(log: str) -> dict[str, int]:
    """Snakemake's "Job stats" table (rule -> count), without the total."""
    m = re.search(r"Job stats:\n.*?\n-+\s+-+\n(.*?)\ntotal\s+(\d+)", log, re.S)
    assert m, f"no 'Job stats' table in Snakemake's log:\n{log}"
    stats = {}
    for line in m.group(1).splitlines():
        rule, count = line.split()
        stats[rule] = int(count)
    assert sum(stats.values()) == int(m.group(2))
    return stats


def submitted_jobs(log: str) -> dict[str, str]:
    """SLURM job id -> Snakemake job id, from the plugin's log lines."""
    pairs = re.findall(r"Job (\d+) has been submitted with SLURM jobid (\d+)", log)
    return {slurm_id: sm_id for sm_id, slurm_id in pairs}


def rule_of(slurm_job: dict[str, str]) -> str:
    """Rule name from the plugin's ``--comment rule_<name>[_wildcards_...]``."""
    comment = slurm_job.get("Comment", "")
    assert comment.startswith("rule_"), slurm_job
    return comment[len("rule_") :].split("_wildcards_")[0]


def gpu_request(slurm_job: dict[str, str]) -> str:
    """The job's GPU request as SLURM recorded it ('' if none): --gpus and
    --gres=gpu land in TresPerJob/TresPerNode as gres:gpu[:model]:N."""
    tres = [
        slurm_job.get(k, "") for k in ("TresPerJob", "TresPerNode", "TresPerTask", "TresPerSocket")
    ]
    return ",".join(t for t in tres if "gpu" in t and t != "(null)")


def tree_files(root: Path, subdirs: list[str]) -> dict[str, Path]:
    files = {}
    for sub in subdirs:
        for f in sorted((root / sub).rglob("*")):
            if f.is_file():
                files[str(f.relative_to(root))] = f
    return files


@pytest.mark.cluster
def test_workflow_on_slurm_matches_local_run(slurm_cluster, small_run, tiny_model_dir, tmp_path):
    all_rules = set(GPU_RULES) | set(CPU_RULES)
    assert set(GPU_RULES) <= set(WORKFLOW_GPU_RULES)
    assert set(CPU_RULES) <= set(WORKFLOW_CPU_RULES)

    # --- local reference run (shared: the session's small_run) -----------------
    local_dir = small_run.project

    # --- the same workflow through the shipped profile on SLURM ---------------
    slurm_dir = prepare_workdir(tmp_path / "slurm", tiny_model_dir)
    assert (slurm_dir / "config.yaml").read_text() == (local_dir / "config.yaml").read_text()
    run = run_workflow(
        slurm_dir,
        small_run.snakefile,
        [],
        profile=SLURM_PROFILES,
        env={**slurm_cluster.env(), "OMP_NUM_THREADS": "1"},
    )
    print(f"local run {small_run.seconds:.1f}s, SLURM run {run.elapsed_s:.1f}s")
    if run.returncode != 0:
        pytest.fail(
            f"SLURM run failed (rc={run.returncode}"
            f"{', killed by timeout' if run.returncode in TIMED_OUT else ''}):\n"
            f"{run.stdout}\n{slurm_cluster.logs_tail()}"
        )
    log = run.stdout

    # every non-local job went through sbatch, once
    stats = job_stats(log)
    expected_rules = {r: n for r, n in stats.items() if r not in LOCAL_RULES}
    assert set(expected_rules) == all_rules, (
        f"rules Snakemake ran {sorted(expected_rules)} != declared GPU+CPU rules "
        f"{sorted(all_rules)}: update GPU_RULES/CPU_RULES"
    )
    submitted = submitted_jobs(log)
    assert len(submitted) == sum(expected_rules.values()), log

    known = {j["JobId"]: j for j in slurm_cluster.jobs()}
    assert set(submitted) <= set(known), (submitted, sorted(known))
    ours = [known[i] for i in submitted]
    run_uuid = {j["JobName"] for j in ours}
    assert len(run_uuid) == 1, run_uuid  # the plugin names jobs by run uuid
    # ... and slurmctld knows no other job of this run
    assert {i for i, j in known.items() if j["JobName"] in run_uuid} == set(submitted)

    per_rule: dict[str, int] = {}
    for job in ours:
        rule = rule_of(job)
        per_rule[rule] = per_rule.get(rule, 0) + 1
        assert job["JobState"] == "COMPLETED", job
        if rule in GPU_RULES:
            assert "gpu" in gpu_request(job), f"GPU rule {rule} without GPU: {job}"
        else:
            assert gpu_request(job) == "", f"CPU rule {rule} asks a GPU: {job}"
    assert per_rule == expected_rules

    # same results as the local run
    local_files = tree_files(local_dir, RESULT_DIRS)
    slurm_files = tree_files(slurm_dir, RESULT_DIRS)
    assert local_files, "the local run produced no results"
    assert sorted(slurm_files) == sorted(local_files)
    differ = results_equal(local_dir, slurm_dir)
    assert not differ, f"results differ between local and SLURM run: {differ}"

    # the GPU job saw the GPU SLURM allocated to it
    if CUDA_LOG:
        assert (slurm_dir / CUDA_LOG).read_text().strip() == "0"
