"""B5 partial rerun: workflow wall time after a judge-code edit vs the full run.

On the tiny project of tests/helpers/workflow_project.py (a seeded 3-layer Llama with SmolLM2's
tokenizer, 2 concepts, 2 sizes) in a temporary folder, with a copy of the repository's
Snakefile, workflow/ and steering/ (so the edit touches the copy only): time the full run, append
a comment to the copy's steering/evaluation/judges/local.py (a library file is a rule input
by checksum),
time the rerun. Jobs per rule come from Snakemake's "Job stats" table; the judge logs
(``results/logs/judge_outputs/*.log``) say how many judge calls each rerun judge job made
(``cache CacheStats(... judge_calls=N ...)``). Targets: rerun <= 10% of the full run's wall
time; 0 steering GPU-stage jobs (prepare_model, collect_activations, fit_vectors,
generate_*, score_perplexity) rerun. The judge stages are GPU rules too and do rerun (their code
changed), but every judgment comes from the on-disk cache, so they make no model calls.

    python bench/b5_partial_rerun.py [--keep] [--workdir DIR]
    python bench/b5_partial_rerun.py --quick     # same project (it is already tiny)

With ``--project DIR`` it uses a finished run of the default experiment instead (a copy of the
repository where ``snakemake --profile workflow/profiles/local`` completed, e.g. B6's): the
full run's wall time comes from that run's Snakemake log (``--full-log``, default the newest),
the edit goes to DIR/steering/evaluation/judges/local.py and the rerun uses the same profile.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.b6_stress_test import log_jobs, log_wall  # noqa: E402
from bench.common import record  # noqa: E402
from tests.helpers.workflow_project import (  # noqa: E402
    build_tiny_model,
    job_stats,
    make_project,
    snakemake_cmd,
    snakemake_env,
    snapshot_workflow,
)

STEERING_GPU_RULES = (
    "prepare_model",
    "collect_activations",
    "fit_vectors",
    "generate_baseline",
    "generate_steered",
    "score_perplexity",
)
TARGET = 0.10


def run(project: Path, snakefile: Path, args: list[str], env: dict[str, str], log: Path):
    start = time.monotonic()
    proc = subprocess.run(
        snakemake_cmd(snakefile, *args),
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    seconds = time.monotonic() - start
    log.write_text(proc.stdout)
    if proc.returncode != 0:
        sys.exit(
            f"snakemake failed (exit {proc.returncode}); output in {log}:\n{proc.stdout[-3000:]}"
        )
    return seconds, job_stats(proc.stdout)


def judge_calls(project: Path) -> dict[str, str]:
    """Per judge_outputs log: its last 'cache CacheStats(...)' line's counters."""
    out = {}
    for log in sorted((project / "results" / "logs" / "judge_outputs").rglob("*.log")):
        found = re.findall(r"cache (CacheStats\([^)]*\))", log.read_text())
        name = str(log.relative_to(project / "results" / "logs" / "judge_outputs"))
        out[name] = found[-1] if found else "(no cache line)"
    return out


def fmt(stats: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(stats.items())) or "nothing"


def edit_judge_code(path: Path) -> None:
    """Append a comment: the file's checksum changes, its behaviour does not."""
    with path.open("a", encoding="utf-8") as handle:
        handle.write("\n# b5_partial_rerun: an edit that changes the file's checksum\n")


def verdict(project: Path, rerun_jobs: dict[str, int], ratio: float) -> list[str]:
    """The targets' lines: rerun share, steering jobs rerun, judge calls of the rerun."""
    calls = judge_calls(project)
    steering_rerun = {r: n for r, n in rerun_jobs.items() if r in STEERING_GPU_RULES}
    n_steering = sum(steering_rerun.values())
    zero_calls = all("judge_calls=0" in c for c in calls.values())
    return [
        f"- **rerun / full: {ratio:.1%}**; target <= {TARGET:.0%}: "
        f"{'met' if ratio <= TARGET else 'MISSED'}",
        f"- **steering GPU-stage jobs rerun ({', '.join(STEERING_GPU_RULES)}): {n_steering}** "
        f"({fmt(steering_rerun)}); target 0: {'met' if n_steering == 0 else 'MISSED'}",
        f"- judge GPU-stage jobs rerun: judge_outputs {rerun_jobs.get('judge_outputs', 0)}, "
        f"validate_judge {rerun_jobs.get('validate_judge', 0)}; every judge_outputs log says "
        f"judge_calls=0 (all judgments from the cache): {zero_calls}",
        *(f"  - judge_outputs/{name}: {c}" for name, c in calls.items()),
    ]


def rerun_existing(project: Path, full_log: Path | None) -> None:
    full_s, log = log_wall(project, full_log.resolve() if full_log else None)
    if full_s is None or log is None:
        sys.exit(f"no Snakemake log with timestamps under {project / '.snakemake' / 'log'}")
    full_jobs = log_jobs(log)
    edit_judge_code(project / "steering" / "judges" / "local.py")
    command = [sys.executable, "-m", "snakemake", "--profile", "workflow/profiles/local"]
    start = time.monotonic()
    proc = subprocess.run(
        command, cwd=project, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    rerun_s = time.monotonic() - start
    (project / "b5_rerun.log").write_text(proc.stdout)
    if proc.returncode != 0:
        sys.exit(f"snakemake failed (exit {proc.returncode}):\n{proc.stdout[-3000:]}")
    rerun_jobs = job_stats(proc.stdout)
    ratio = rerun_s / full_s
    lines = [
        f"- setup: the finished default experiment in {project} (config.yaml; the full run's "
        f"log {log.name}: {full_jobs} jobs); `python -m snakemake --profile "
        "workflow/profiles/local` after appending a comment to its "
        "steering/evaluation/judges/local.py",
        f"- full run: {full_s:.1f} s wall ({full_s / 60:.1f} min)",
        f"- rerun: {rerun_s:.1f} s wall; jobs: {fmt(rerun_jobs)}",
        *verdict(project, rerun_jobs, ratio),
    ]
    record("B5 partial rerun on the default experiment (bench/b5_partial_rerun.py)", lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=None, help="default: a temp folder")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--gpu", type=int, default=1, help="--resources gpu=N")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="OMP/MKL threads of each job (default 1; jobs set torch threads "
        "from their rule's threads)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="no change: the tiny project is already the quick size"
    )
    parser.add_argument(
        "--project",
        type=Path,
        default=None,
        help="a finished default run to edit and rerun (see above)",
    )
    parser.add_argument(
        "--full-log",
        type=Path,
        default=None,
        help="with --project: the full run's Snakemake log (default: newest)",
    )
    args = parser.parse_args()
    if args.project is not None:
        rerun_existing(args.project.resolve(), args.full_log)
        return
    work = args.workdir or Path(tempfile.mkdtemp(prefix="b5_partial_rerun_"))
    work.mkdir(parents=True, exist_ok=True)
    model_dir = build_tiny_model(work / "model")
    snakefile = snapshot_workflow(work / "repo")
    project = work / "project"
    if project.exists():
        shutil.rmtree(project)
    make_project(project, model_dir)
    env = snakemake_env()
    env.update(OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    snake_args = ["--cores", str(args.cores), "--resources", f"gpu={args.gpu}"]

    full_s, full_jobs = run(project, snakefile, snake_args, env, work / "full.log")
    print(f"full run: {full_s:.1f} s, jobs: {fmt(full_jobs)}", flush=True)
    edit_judge_code(snakefile.parent / "steering" / "judges" / "local.py")
    rerun_s, rerun_jobs = run(project, snakefile, snake_args, env, work / "rerun.log")
    print(f"rerun after the judge edit: {rerun_s:.1f} s, jobs: {fmt(rerun_jobs)}", flush=True)
    ratio = rerun_s / full_s
    lines = [
        f"- setup: tiny project of tests/helpers/workflow_project.py (random 3-layer Llama, "
        f"hidden 32, SmolLM2 tokenizer; 2 concepts, 2 and 4 examples per concept, 3 strengths, "
        f"4 tokens) in {work}, "
        f"copy of Snakefile/workflow/steering; `python -m snakemake -s <copy>/Snakefile "
        f"{' '.join(snake_args)}`; OMP threads {args.threads}"
        f"{' (--quick: same size)' if args.quick else ''}",
        f"- full run: {full_s:.1f} s wall; jobs: {fmt(full_jobs)}",
        f"- rerun after appending a comment to the copy's steering/evaluation/judges/local.py: "
        f"{rerun_s:.1f} s wall; jobs: {fmt(rerun_jobs)}",
        *verdict(project, rerun_jobs, ratio),
    ]
    record("B5 partial rerun (bench/b5_partial_rerun.py)", lines)
    if args.keep or args.workdir:
        print(f"kept {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    main()
