"""B7 for the resampled design: per-job cost, work and peak memory of a finished run.

Reads a finished run (like ``bench/b6_stress_test.py``): every job's Snakemake ``benchmark:``
file (wall ``s``, peak ``max_rss`` MB) and the work it did, read from its outputs and log:
rows generated (``generations/*.parquet``), rows scored for perplexity
(``perplexity/*.parquet``), readings judged (the judge cache's ``misses`` in the job's log:
distinct (text, rubric) pairs sent to the judge; the texts are the judgments' rows) and
examples x resamples fitted (``vectors/*.json``: ``n_examples`` x ``n_resamples``, with each
resample's ``fit_seconds`` and ``calibration_seconds``). Per stage it fits the least-squares line
``wall = fixed + per_unit x units`` over its jobs (generation joins generate_steered and
generate_baseline), or says that its jobs have identical units so no slope is identifiable. Then
it turns the per-unit costs into what the run would cost at other resample counts (arithmetic,
not a measurement).

With ``--measure`` it also times ``fit_resamples`` at R = 1, 2, 3, 5 resamples and n = 16, 64 on
the run's activations (``results/activations/activations.npz``), with ``calibration.mode: fixed``
(sizes interleaved, medians) and with the search on resample 0 reused by the others (the
run's design; one pass at n = 16, R = 1 and 5, as the search takes ~50 s).

    python bench/b7_resampled.py --results /path/to/results                # read only
    python bench/b7_resampled.py --results /path/to/results --measure      # + fit vs R
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.b6_stress_test import log_jobs, log_wall  # noqa: E402
from bench.common import record  # noqa: E402

FAMILY = {"generate_steered": "generation", "generate_baseline": "generation"}
UNIT = {
    "generation": "row",
    "score_perplexity": "row",
    "judge_outputs": "reading",
    "judge_off_target": "reading",
    "fit_vectors": "example x resample",
}
FOLDER = {
    "generate_steered": "generations",
    "generate_baseline": "generations",
    "score_perplexity": "perplexity",
    "judge_outputs": "judgments",
}
MISSES = re.compile(r"misses=(\d+)")
SCORED = re.compile(r"(?:Judged|Scored) (\d+) outputs")


def _rows(path: Path) -> int | None:
    return pq.ParquetFile(path).metadata.num_rows if path.exists() else None


def _misses(log: Path) -> tuple[int | None, int | None]:
    """(readings sent to the judge, outputs judged) from a judge job's log."""
    if not log.exists():
        return None, None
    text = log.read_text(errors="replace")
    misses, scored = MISSES.findall(text), SCORED.findall(text)
    return (
        sum(map(int, misses)) if misses else None,
        sum(map(int, scored)) if scored else None,
    )


def work_units(results: Path, rule: str, key: str) -> dict[str, float | None]:
    """The work of job ``key`` (its benchmark path below the rule, no suffix) of ``rule``.

    Returns ``units`` (the stage's unit, see ``UNIT``; None where it has none), ``texts`` (judge
    jobs), ``resamples``, ``fit_s`` and ``calibration_s`` (fit jobs; summed over resamples).
    """
    out: dict[str, float | None] = dict.fromkeys(
        ("units", "texts", "resamples", "fit_s", "calibration_s")
    )
    name = key or "baseline"
    if rule in ("generate_steered", "generate_baseline", "score_perplexity"):
        out["units"] = _rows(results / FOLDER[rule] / f"{name}.parquet")
    elif rule in ("judge_outputs", "judge_off_target"):
        log = f"{rule}/{name}.log" if rule == "judge_outputs" else f"{rule}.log"
        out["units"], out["texts"] = _misses(results / "logs" / log)
    elif rule == "fit_vectors":
        meta = json.loads((results / "vectors" / f"{name}.json").read_text())
        fits = meta.get("fits") or ([meta["fit"]] if "fit" in meta else [])
        out["resamples"] = meta.get("n_resamples", 1)
        if fits and meta.get("control") != "random":  # a control copies the primary's fits
            out["units"] = meta["n_examples"] * out["resamples"]
            out["fit_s"] = sum(f.get("fit_seconds", 0.0) for f in fits)
            out["calibration_s"] = sum(f.get("calibration_seconds", 0.0) for f in fits)
    return out


def job_table(results: Path) -> pd.DataFrame:
    """One row per job of a finished run: rule, family, method, n, wall_s, rss_mb and its work."""
    bench = results / "benchmarks"
    rows = []
    for tsv in sorted(bench.rglob("*.tsv")):
        rel = tsv.relative_to(bench).with_suffix("")
        rule, key = rel.parts[0], "/".join(rel.parts[1:])
        timing = pd.read_csv(tsv, sep="\t")
        if timing.empty:
            continue
        last = timing.iloc[-1]  # a repeated benchmark keeps one row per repeat
        method, n = (rel.parts[1], int(rel.parts[2].lstrip("n"))) if len(rel.parts) == 3 else (
            key or "", None)
        rss = pd.to_numeric(last.get("max_rss"), errors="coerce")
        rows.append({
            "rule": rule, "family": FAMILY.get(rule, rule), "method": method, "n": n,
            "wall_s": float(last["s"]), "rss_mb": float(rss),
            **work_units(results, rule, key),
        })
    return pd.DataFrame(rows)


def fixed_per_unit(units, seconds) -> tuple[float, float] | None:
    """Least-squares ``seconds = fixed + per_unit x units``; None when fewer than two distinct
    unit counts (no slope is identifiable)."""
    units, seconds = np.asarray(units, float), np.asarray(seconds, float)
    if len(np.unique(units)) < 2:
        return None
    per_unit, fixed = np.polyfit(units, seconds, 1)
    return float(fixed), float(per_unit)


def stage_lines(jobs: pd.DataFrame) -> tuple[dict[str, tuple[float, float] | None], list[str]]:
    """Per family with a unit: the fitted line (or None) and a markdown table."""
    lines_by = {}
    out = [
        "| stage | jobs | unit | units per job | mean s per unit | fixed s per job (line) | "
        "s per unit (line) | note |",
        "|---|---:|---|---|---:|---:|---:|---|",
    ]
    for family, unit in UNIT.items():
        group = jobs[(jobs.family == family) & jobs.units.notna()]
        if group.empty:
            continue
        line = fixed_per_unit(group.units, group.wall_s)
        lines_by[family] = line
        lo, hi = int(group.units.min()), int(group.units.max())
        mean = group.wall_s.sum() / group.units.sum()
        fixed, slope = (f"{line[0]:.1f}", f"{line[1]:.4f}") if line else ("-", "-")
        note = (
            f"all jobs have {lo} units: no slope identifiable" if line is None
            else f"{group.units.nunique()} distinct unit counts"
            + (" (slope from the baseline vs the steered jobs)" if group.units.nunique() == 2
               else "")
        )
        skipped = int(((jobs.family == family) & jobs.units.isna()).sum())
        if skipped:
            note += f"; {skipped} job(s) without this unit left out"
        out.append(
            f"| {family} | {len(group)} | {unit} | {lo}..{hi} | {mean:.4f} | {fixed} | "
            f"{slope} | {note} |"
        )
    return lines_by, out


def job_lines(jobs: pd.DataFrame) -> list[str]:
    """The per-job markdown table, slowest stage first."""
    out = [
        "| rule | method | n | wall s | peak RSS MB | units | texts | resamples | "
        "fit s (in job) | calibration s |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]

    def cell(value, fmt="{:.0f}"):
        return "" if value is None or pd.isna(value) else fmt.format(value)

    for row in jobs.sort_values(["rule", "method", "n"], na_position="first").itertuples():
        out.append(
            f"| {row.rule} | {row.method} | {cell(row.n)} | {row.wall_s:.1f} | "
            f"{cell(row.rss_mb)} | {cell(row.units)} | {cell(row.texts)} | "
            f"{cell(row.resamples)} | {cell(row.fit_s, '{:.1f}')} | "
            f"{cell(row.calibration_s, '{:.1f}')} |"
        )
    return out


def at_resamples(jobs: pd.DataFrame, lines_by, run_r: int, target_r: int) -> float:
    """Stage seconds summed over jobs if the run had ``target_r`` resamples: each steered
    job's per-unit part (line slope x units) scales by target/run (judge_off_target's with
    judge_outputs' slope); a fit's direction part (fit_s - calibration_s) too; fixed parts,
    the calibration search and baseline/other jobs stay."""
    total = 0.0
    scale = target_r / run_r
    for row in jobs.itertuples():
        wall = row.wall_s
        steered = row.method not in ("", "baseline")
        line = lines_by.get(row.family)
        if row.family == "fit_vectors" and not pd.isna(row.fit_s):
            direction = row.fit_s - row.calibration_s
            wall += direction * (scale - 1)
        elif line is not None and steered and not pd.isna(row.units):
            wall += line[1] * row.units * (scale - 1)
        elif row.rule == "judge_off_target" and lines_by.get("judge_outputs"):
            # its readings are the steered outputs of one (method, n): they scale with R too
            wall += lines_by["judge_outputs"][1] * row.units * (scale - 1)
        total += wall
    return total


def run_wall(project: Path, n_jobs: int) -> tuple[float | None, Path | None]:
    """Wall seconds of the Snakemake log that ran all ``n_jobs`` jobs (the newest such log),
    so a later partial rerun's log is not taken for the run."""
    logs = sorted((project / ".snakemake" / "log").glob("*.snakemake.log"),
                  key=lambda p: p.stat().st_mtime)
    for log in reversed(logs):
        if log_jobs(log) == n_jobs:
            return log_wall(project, log)
    return None, None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, required=True, help="a finished run's results")
    parser.add_argument("--project", type=Path, default=None,
                        help="the run's project folder (default: results/..) for its log")
    parser.add_argument("--measure", action="store_true", help="also time fits vs resamples")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    results = args.results.resolve()
    jobs = job_table(results)
    if jobs.empty:
        sys.exit(f"no benchmark files under {results / 'benchmarks'}; is the run finished?")
    lines_by, stages = stage_lines(jobs)
    run_r = int(jobs.resamples.dropna().max())
    wall, log = run_wall((args.project or results.parent).resolve(), len(jobs))
    stage_sum = jobs.wall_s.sum()
    fits = jobs[jobs.fit_s.notna()]
    lines = [
        f"- run: {results} ({len(jobs)} jobs, {run_r} resamples); stage time summed over jobs "
        f"{stage_sum / 60:.1f} min; "
        + (f"wall {wall / 60:.1f} min ({log.name})" if wall else "no log ran all its jobs"),
        "- units: generation / perplexity = rows of the job's parquet; judge = readings sent to "
        "the judge (cache misses in its log; the 'texts' column is outputs judged); fit = "
        "examples per concept x resamples (fit s and calibration s: the JSON's per-resample "
        "fit_seconds / calibration_seconds, summed)",
        "",
        *job_lines(jobs),
        "",
        "**Per stage: wall = fixed + per_unit x units, least squares over its jobs**",
        "",
        *stages,
        "",
        f"- fit jobs: calibration search {fits.calibration_s.sum():.0f} s of "
        f"{fits.fit_s.sum():.0f} s fitting (paid once per job, on resample 0); the directions "
        f"{(fits.fit_s - fits.calibration_s).sum() / fits.resamples.sum():.3f} s per resample; "
        f"the rest of the fit jobs' wall ({(fits.wall_s - fits.fit_s).sum():.0f} s over "
        f"{len(fits)} jobs) is start-up and I/O",
        f"- peak RSS per rule (max over its jobs, MB; median job {jobs.rss_mb.median():.0f}): "
        + ", ".join(f"{k} {v:.0f}" for k, v in
                    jobs.groupby("rule").rss_mb.max().sort_values(ascending=False).items()),
    ]
    steered = jobs[~jobs.method.isin(["", "baseline", "random"]) & jobs.units.notna()]
    per_r = {f: lines_by[f][1] * steered[steered.family == f].units.mean() / run_r
             for f in ("generation", "score_perplexity", "judge_outputs") if lines_by.get(f)}
    per_r["fit directions"] = (fits.fit_s - fits.calibration_s).sum() / fits.resamples.sum()
    once = {f: lines_by[f][0] for f in per_r if lines_by.get(f)}
    once["calibration search"] = fits.calibration_s.mean()
    lines.append(
        "- one resample of one steered (method, n), per unit slope x its mean units / R: "
        + ", ".join(f"{k} {v:.3g} s" for k, v in per_r.items())
        + f" = {sum(per_r.values()):.0f} s; paid once per job whatever R (line intercepts, "
        "calibration mean): " + ", ".join(f"{k} {v:.1f} s" for k, v in once.items()))
    base = at_resamples(jobs, lines_by, run_r, run_r)
    arith = [
        f"R = {r}: {at_resamples(jobs, lines_by, run_r, r) / 60:.1f} min of stage time"
        f" (~{(wall or stage_sum) * at_resamples(jobs, lines_by, run_r, r) / base / 60:.1f} "
        f"min wall at the run's overlap)"
        for r in (1, 3, 5)
    ]
    lines.append("- arithmetic, not a measurement (per-unit slopes x units scaled by R / "
                 f"{run_r}; fixed parts, calibration, baseline and single jobs kept): "
                 + "; ".join(arith))
    if args.measure:
        from bench.b7_resampled_fits import measure_lines

        lines += ["", *measure_lines(results, args.rounds, args.threads)]
    record("B7 resampled design: per-job cost and memory (bench/b7_resampled.py)", lines)


if __name__ == "__main__":
    main()
