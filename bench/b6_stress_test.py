"""B6 whole default stress test: per-stage wall time and peak memory of a finished run.

Reads a finished workflow run: Snakemake's ``benchmark:`` files
``<results>/benchmarks/**/*.tsv`` (column ``s`` = wall seconds, ``max_rss`` = peak resident MB)
summed per rule (the rule is the first folder under benchmarks/, or the file name for
single-job rules), and the total wall time from the newest ``.snakemake/log/*.snakemake.log``
(its first and last timestamps; falls back to the sum of the stages when there is no log).
With ``--run`` it first runs ``python -m snakemake --profile workflow/profiles/local`` in the
project folder and also reports that command's own wall time. Target: the default experiment
(config.yaml) in <= 15 minutes on the 2-core CPU.

    python bench/b6_stress_test.py                       # read ./results of a finished run
    python bench/b6_stress_test.py --project DIR --results DIR
    python bench/b6_stress_test.py --run                 # run the workflow first, then read
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import re
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import record  # noqa: E402

TARGET_S = 15 * 60
STAMP = re.compile(r"^\[(\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4})\]", re.M)
START = re.compile(r"^\s*Date: (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)", re.M)


def stage_table(benchmarks: Path) -> dict[str, dict[str, float]]:
    """rule -> {jobs, seconds (sum), max_s, max_rss (MB, max over jobs)}."""
    rules: dict[str, dict[str, float]] = defaultdict(
        lambda: {"jobs": 0, "seconds": 0.0, "max_s": 0.0, "max_rss": 0.0}
    )
    for tsv in sorted(benchmarks.rglob("*.tsv")):
        rel = tsv.relative_to(benchmarks)
        rule = rel.parts[0] if len(rel.parts) > 1 else tsv.stem
        with tsv.open(newline="") as handle:
            rows = list(csv.DictReader(handle, delimiter="\t"))
        if not rows:
            continue
        row = rows[-1]  # a repeated benchmark keeps one row per repeat; the last is newest
        seconds = float(row["s"])
        rss = row.get("max_rss", "NA")
        entry = rules[rule]
        entry["jobs"] += 1
        entry["seconds"] += seconds
        entry["max_s"] = max(entry["max_s"], seconds)
        if rss not in ("NA", "", None):
            entry["max_rss"] = max(entry["max_rss"], float(rss))
    return dict(rules)


def log_jobs(log: Path) -> int | None:
    """Jobs (besides the target rule ``all``) in a Snakemake log's first "Job stats" table."""
    text = log.read_text(errors="replace")
    block = re.search(r"Job stats:\n\s*job\s+count\n[- ]+\n(.*?)\ntotal\s+(\d+)", text, re.S)
    if block is None:
        return None
    counts = dict(line.split()[:2] for line in block.group(1).splitlines() if line.strip())
    return int(block.group(2)) - int(counts.get("all", 0))


def log_wall(project: Path, chosen: Path | None = None) -> tuple[float | None, Path | None]:
    """Seconds from the start of a Snakemake log (its ``Date:`` header, else its first job
    timestamp) to its last timestamp; the newest log unless ``chosen`` is given."""
    logs = (
        [chosen]
        if chosen is not None
        else sorted(
            (project / ".snakemake" / "log").glob("*.snakemake.log"),
            key=lambda p: p.stat().st_mtime,
        )
    )
    for log in reversed(logs):
        text = log.read_text(errors="replace")
        stamps = [
            dt.datetime.strptime(" ".join(s.split()), "%a %b %d %H:%M:%S %Y")
            for s in STAMP.findall(text)
        ]
        header = START.search(text)
        if header:
            stamps.insert(0, dt.datetime.strptime(header.group(1), "%Y-%m-%d %H:%M:%S"))
        if len(stamps) >= 2:
            return (stamps[-1] - stamps[0]).total_seconds(), log
    return None, None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, default=Path("."), help="project folder")
    parser.add_argument(
        "--results", type=Path, default=None, help="results folder (default <project>/results)"
    )
    parser.add_argument(
        "--run",
        action="store_true",
        help="run `python -m snakemake --profile workflow/profiles/local` first",
    )
    parser.add_argument("--profile", default="workflow/profiles/local")
    parser.add_argument(
        "--log", type=Path, default=None, help="Snakemake log of the run (default: the newest)"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="with --run: OMP/MKL threads of the jobs (default: unchanged)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="no effect on reading; kept for a uniform interface"
    )
    args = parser.parse_args()
    project = args.project.resolve()
    results = (args.results or project / "results").resolve()
    run_s = None
    if args.run:
        env = dict(os.environ)
        if args.threads is not None:
            env.update(OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
        start = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", "snakemake", "--profile", args.profile], cwd=project, env=env
        )
        run_s = time.monotonic() - start
        if proc.returncode != 0:
            sys.exit(f"snakemake failed (exit {proc.returncode})")
    table = stage_table(results / "benchmarks")
    if not table:
        sys.exit(f"no benchmark files under {results / 'benchmarks'}; is the run finished?")
    stage_sum = sum(e["seconds"] for e in table.values())
    wall, log = log_wall(project, args.log.resolve() if args.log else None)
    total = run_s if run_s is not None else wall if wall is not None else stage_sum
    source = (
        "the --run command's wall time"
        if run_s is not None
        else f"first/last timestamps of {log.relative_to(project)}"
        if wall is not None
        else "sum of the stages (no Snakemake log found)"
    )
    lines = [
        f"- run: {results} (project {project}); the machine line's torch threads are this "
        "reader's; each job sets its own from its rule's `threads`",
        "",
        "| rule | jobs | wall s (sum) | longest job s | peak RSS MB (max) |",
        "|---|---:|---:|---:|---:|",
    ]
    for rule, e in sorted(table.items(), key=lambda kv: -kv[1]["seconds"]):
        lines.append(
            f"| {rule} | {int(e['jobs'])} | {e['seconds']:.1f} | {e['max_s']:.1f} | "
            f"{e['max_rss']:.0f} |"
        )
    lines += [
        f"| **all stages** | {int(sum(e['jobs'] for e in table.values()))} | "
        f"{stage_sum:.1f} | | {max(e['max_rss'] for e in table.values()):.0f} |",
        "",
        f"- stage time summed over jobs: {stage_sum / 60:.1f} min (jobs may overlap on 2 cores)",
    ]
    if wall is not None:
        lines.append(f"- Snakemake log wall time ({log.name}): {wall / 60:.1f} min")
        n_log, n_tsv = log_jobs(log), int(sum(e["jobs"] for e in table.values()))
        if n_log is not None and n_log != n_tsv:
            lines.append(
                f"- WARNING: that log ran {n_log} jobs but there are {n_tsv} benchmark files: "
                "it is a partial (re)run, so its wall time is not the whole experiment's; "
                "pass the full run's log with --log, or use --run"
            )
    if run_s is not None:
        lines.append(f"- `snakemake --profile {args.profile}` wall time: {run_s / 60:.1f} min")
    lines.append(
        f"- **total wall time: {total / 60:.1f} min** (from {source}); target <= "
        f"{TARGET_S // 60} min: {'met' if total <= TARGET_S else 'MISSED'}"
    )
    record("B6 whole default stress test (bench/b6_stress_test.py)", lines)


if __name__ == "__main__":
    main()
