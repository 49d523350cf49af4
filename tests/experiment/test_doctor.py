"""``python -m steering.doctor``: lists the workflow's unreadable outputs, changes nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from steering.doctor import main, unreadable_outputs
from steering.experiment.stage import run_stage
from steering.io import read_parquet, write_json, write_parquet

REPO = Path(__file__).resolve().parents[2]


def results_folder(root: Path) -> dict[str, Path]:
    results = root / "results"
    good = results / "metrics" / "se.parquet"
    bad = results / "generations" / "dual" / "n2.parquet"
    for path in (good, bad):
        write_parquet(path, pd.DataFrame({"a": [1.0]}), {"config_hash": "x"})
    bad.write_bytes(bad.read_bytes()[:30])
    write_json(results / "model" / "model.json", {"metadata": {}})
    notes = results / "notes.json"
    notes.write_text("{ my notes, not JSON")
    elsewhere = results / "mine" / "table.parquet"
    elsewhere.parent.mkdir()
    elsewhere.write_bytes(b"not parquet")
    hidden = results / "generations" / "dual" / ".n4.parquet.abc.parquet.tmp"
    hidden.write_bytes(b"half")
    return {"bad": bad, "notes": notes, "elsewhere": elsewhere, "hidden": hidden}


def snapshot(root: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_doctor_lists_only_unreadable_workflow_outputs(tmp_path: Path, capsys) -> None:
    files = results_folder(tmp_path)
    before = snapshot(tmp_path)
    assert unreadable_outputs(tmp_path / "results") == [files["bad"]]
    assert main([str(tmp_path / "results")]) == 1
    out = capsys.readouterr().out
    assert f"snakemake -R {files['bad']}\n" in out
    assert "notes.json" not in out and "table.parquet" not in out and ".tmp" not in out
    assert snapshot(tmp_path) == before, "the doctor changed a file"


def test_doctor_on_healthy_results_and_as_a_module(tmp_path: Path) -> None:
    write_parquet(tmp_path / "results/metrics/se.parquet", pd.DataFrame({"a": [1]}), {})
    proc = subprocess.run(
        [sys.executable, "-m", "steering.doctor", "results"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO)},  # this checkout's steering
    )
    assert proc.returncode == 0 and "readable" in proc.stdout, proc.stdout + proc.stderr


class Job:
    """The parts of Snakemake's ``snakemake`` object a stage reads."""

    def __init__(self, log: Path, table: Path) -> None:
        self.log = [str(log)]
        self.params = {}
        self.input = [str(table)]
        self.output = []
        self.wildcards = {}
        self.threads = 1
        self.resources = {"gpu": 0}


def test_stage_turns_an_unreadable_input_into_the_rebuild_line(tmp_path: Path) -> None:
    files = results_folder(tmp_path)
    job = Job(tmp_path / "stage.log", files["bad"])
    with pytest.raises(SystemExit) as info:
        run_stage(lambda stage: read_parquet(stage.input[0]), job)
    message = str(info.value)
    assert f"snakemake -R {files['bad']}" in message
    assert "python -m steering.doctor" in message
    assert f"snakemake -R {files['bad']}" in (tmp_path / "stage.log").read_text()
