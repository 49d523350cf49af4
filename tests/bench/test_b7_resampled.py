"""bench/b7_resampled.py's readers and its fixed + per-unit line, on synthetic runs."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest

from bench.b7_resampled import at_resamples, fixed_per_unit, job_table, run_wall, stage_lines

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def _bench(results: Path, rel: str, seconds: float, rss: float) -> None:
    path = results / "benchmarks" / f"{rel}.tsv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + f"{seconds}\t0:00:01\t{rss}\t0\t0\t0\t0\t0\t0\t0\n")


def _parquet(results: Path, rel: str, rows: int) -> None:
    path = results / f"{rel}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"output_id": [str(i) for i in range(rows)]}).to_parquet(path)


def _log(results: Path, rel: str, text: str) -> None:
    path = results / "logs" / f"{rel}.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def run(tmp_path: Path) -> Path:
    """A finished run of two scales (2 resamples) plus a baseline, a random control and a
    single-job rule, with per-unit costs 0.2 s per generated row and 0.1 s per reading."""
    results = tmp_path / "results"
    _bench(results, "generate_baseline", 5 + 0.2 * 10, 900)
    _parquet(results, "generations/baseline", 10)
    for n in (2, 8):
        _bench(results, f"generate_steered/dual/n{n}", 5 + 0.2 * 40, 1000 + n)
        _parquet(results, f"generations/dual/n{n}", 40)
        readings = 30 * n
        _bench(results, f"judge_outputs/dual/n{n}", 3 + 0.1 * readings, 2000)
        _log(results, f"judge_outputs/dual/n{n}",
             f"x INFO steering.stage: Judged 40 outputs; cache CacheStats(hits=1, "
             f"misses={readings}, judge_calls=2, stored={readings})\n")
        _bench(results, f"fit_vectors/dual/n{n}", 60.0, 2500)
        fits = [{"fit_seconds": 50.5, "calibration_seconds": 50.0},
                {"fit_seconds": 0.5, "calibration_seconds": 0.0}]
        (results / "vectors/dual").mkdir(parents=True, exist_ok=True)
        (results / f"vectors/dual/n{n}.json").write_text(json.dumps(
            {"n_examples": n, "n_resamples": 2, "fit": fits[0], "fits": fits}))
    _bench(results, "fit_vectors/random/n2", 8.0, 950)
    (results / "vectors/random").mkdir(parents=True, exist_ok=True)
    (results / "vectors/random/n2.json").write_text(json.dumps(
        {"n_examples": 2, "n_resamples": 2, "control": "random", "fits": [{"fit_seconds": 9}]}))
    _bench(results, "summarize", 4.0, 500)
    return results


def test_fixed_per_unit_recovers_a_synthetic_line() -> None:
    units = [10, 100, 250, 600]
    line = fixed_per_unit(units, [12.0 + 0.25 * u for u in units])
    assert line == pytest.approx((12.0, 0.25))


def test_fixed_per_unit_needs_two_distinct_unit_counts() -> None:
    assert fixed_per_unit([600, 600, 600], [130.0, 135.0, 131.0]) is None


def test_job_table_reads_wildcards_rss_and_work(run: Path) -> None:
    jobs = job_table(run).set_index(["rule", "method", "n"], drop=False)
    assert len(jobs) == 9
    gen = jobs.loc[("generate_steered", "dual", 8)]
    assert (gen.units, gen.rss_mb, gen.family) == (40, 1008, "generation")
    assert jobs.loc[("generate_baseline", "", None)].units == 10
    judge = jobs.loc[("judge_outputs", "dual", 8)]
    assert (judge.units, judge.texts) == (240, 40)
    fit = jobs.loc[("fit_vectors", "dual", 2)]
    assert (fit.units, fit.resamples, fit.fit_s, fit.calibration_s) == (4, 2, 51.0, 50.0)
    assert pd.isna(jobs.loc[("fit_vectors", "random", 2)].units)  # a control fits nothing
    assert pd.isna(jobs.loc[("summarize", "", None)].units)


def test_stage_lines_fit_each_stage_or_say_no_slope(run: Path) -> None:
    jobs = job_table(run)
    lines, table = stage_lines(jobs)
    assert lines["generation"] == pytest.approx((5.0, 0.2))
    assert lines["judge_outputs"] == pytest.approx((3.0, 0.1))
    same = jobs[jobs.rule != "generate_baseline"]
    lines, table = stage_lines(same)
    assert lines["generation"] is None
    assert any("all jobs have 40 units: no slope identifiable" in row for row in table)


def test_at_resamples_scales_only_the_per_unit_parts(run: Path) -> None:
    jobs = job_table(run)
    lines, _ = stage_lines(jobs)
    assert at_resamples(jobs, lines, 2, 2) == pytest.approx(jobs.wall_s.sum())
    # R 2 -> 4: every steered row and reading twice, each fit's direction part twice
    extra = 2 * 0.2 * 40 + 0.1 * (60 + 240) + 2 * 1.0
    assert at_resamples(jobs, lines, 2, 4) == pytest.approx(jobs.wall_s.sum() + extra)


def _snakemake_log(path: Path, jobs: int, start: str, end: str, mtime: int) -> None:
    path.write_text(
        f"Job stats:\njob      count\n-----  -------\nall          1\nwork     {jobs}\n"
        f"total    {jobs + 1}\n\n[{start}]\nrule work:\n[{end}]\nFinished job 0.\n"
    )
    os.utime(path, (mtime, mtime))


def test_run_wall_takes_the_log_that_ran_every_job(tmp_path: Path) -> None:
    logs = tmp_path / ".snakemake" / "log"
    logs.mkdir(parents=True)
    _snakemake_log(logs / "a.snakemake.log", 50, "Tue Dec  1 20:17:00 2026",
                   "Tue Dec  1 20:57:30 2026", 1_000)
    _snakemake_log(logs / "b.snakemake.log", 2, "Tue Dec  1 21:00:00 2026",
                   "Tue Dec  1 21:00:10 2026", 2_000)  # a later partial rerun
    wall, log = run_wall(tmp_path, 50)
    assert (wall, log.name) == (40 * 60 + 30, "a.snakemake.log")
    assert run_wall(tmp_path, 7) == (None, None)
