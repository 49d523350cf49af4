"""The Snakemake workflow, run through its CLI on the tiny project of ``workflow_project``.

One full run (``done``: the session's ``tiny_run`` from tests/conftest.py) is shared by the
tests that only inspect it; the tests that edit code or config do dry runs (``-n``) against it
and restore what they edit, or edit a copy. Every run uses the session's snapshot of the
workflow (Snakefile, workflow/, steering/), so edits to the checkout while the tests run change
nothing, and the library-edit test edits the snapshot, never the repository.

On a busy 1-2 core machine a full tiny run (27 jobs) takes 3-5 minutes. Besides ``done`` this
module makes one run of its own: a fresh run of the small project (14 jobs), killed and resumed,
which it compares with the session's ``small_run`` of the same config.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import yaml

from steering.evaluation.lexical_intervals import LIFT_COLUMNS
from steering.evaluation.resampling import concept_seed, held_out_split
from steering.io import is_readable, parquet_metadata, read_json, read_parquet
from tests.helpers.workflow_project import (
    CONCEPTS,
    REPO,
    RULES,
    RUN_ARGS,
    RUN_TIMEOUT_S,
    SMALL_CHANGES,
    FinishedRun,
    finished_run,
    job_stats,
    make_project,
    run_snakemake,
    snakemake_cmd,
    snakemake_env,
    tiny_config,
)

pytestmark = pytest.mark.workflow

DRY_TIMEOUT_S = 120

# The tiny config: dual with n_examples 2 and 4, diffmean + random control at the ablation's 4.
JOBS = [("dual", 2), ("dual", 4), ("diffmean", 4), ("random", 4)]
STEERED = [f"{m}/n{n}" for m, n in JOBS]
FULL_RUN = {
    "prepare_model": 1,
    "collect_activations": 1,
    "fit_vectors": 4,
    "generate_baseline": 1,
    "generate_steered": 4,
    "score_perplexity": 5,
    "judge_outputs": 5,
    "validate_judge": 1,
    "judge_off_target": 1,
    "compute_metrics": 1,
    "judge_free_curves": 1,
    "summarize": 1,
    "all": 1,
}
# The small project (SMALL_CHANGES: dual at n_examples 4 only): the killed run's config.
SMALL_STEERED = ["dual/n4"]
SMALL_FULL_RUN = {
    **{rule: 1 for rule in FULL_RUN},
    "score_perplexity": 2,
    "judge_outputs": 2,
}
REPORT_FILES = ["report.md", "training_curve.png", "cost_curve.png", "scatter.png", "methods.png",
                "judge_free.png"]
PROVENANCE_KEYS = {"config_hash", "library_version", "code_hash"}
KNEE = re.compile(
    r"knee of the training curve is at \*\*\d+ examples per concept\*\*"
    r"|No knee was found"
)


def declared_outputs(steered: list[str] = STEERED) -> list[str]:
    """Every output the tiny config (with ``steered`` jobs) declares (relative to the project
    folder)."""
    outputs = [
        "results/model/model.json",
        "results/activations/activations.npz",
        "results/activations/activations.json",
        "results/judge_validation.parquet",
        "results/judge_confusion.parquet",
        "results/metrics/scores.parquet",
        "results/metrics/se.parquet",
        "results/metrics/mean_se.parquet",
        "results/metrics/mean_se_by_resample.parquet",
        "results/metrics/lexical.parquet",
        "results/metrics/lexical_lift.parquet",
        "results/metrics/off_target.parquet",
    ]
    outputs += [f"results/report/{name}" for name in REPORT_FILES]
    for name in ["baseline", *steered]:
        outputs += [
            f"results/{kind}/{name}.parquet" for kind in ("generations", "perplexity", "judgments")
        ]
    for name in steered:
        outputs += [f"results/vectors/{name}.safetensors", f"results/vectors/{name}.json"]
    return outputs


def snakemake(
    project: Path, snakefile: Path, *args: str, timeout: float = RUN_TIMEOUT_S, check: bool = True
) -> subprocess.CompletedProcess:
    """Run the workflow's CLI in ``project`` (stdout + stderr in ``.stdout``)."""
    proc = run_snakemake(project, snakefile, *args, timeout=timeout)
    if check:
        assert proc.returncode == 0, f"snakemake {' '.join(args)} failed:\n{proc.stdout}"
    return proc


def dry_run(project: Path, snakefile: Path, *args: str) -> dict[str, int]:
    """Jobs (rule -> count) a run would execute now, from the dry run's "Job stats"."""
    proc = snakemake(project, snakefile, "-n", "--quiet", "rules", *args, timeout=DRY_TIMEOUT_S)
    return job_stats(proc.stdout)


def result_files(project: Path) -> set[str]:
    """Non-hidden files under results/ (relative to the project)."""
    root = project / "results"
    return {
        str(p.relative_to(project))
        for p in root.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)
    }


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("workflow")


@pytest.fixture(scope="module")
def model_dir(tiny_model_dir) -> Path:
    return tiny_model_dir


@pytest.fixture(scope="module")
def snakefile(workflow_snakefile) -> Path:
    """The session's snapshot of the workflow."""
    return workflow_snakefile


@pytest.fixture(scope="module")
def done(tiny_run) -> FinishedRun:
    """The tiny project after one complete run (not to be modified by tests)."""
    return tiny_run


@pytest.fixture
def fresh_project(tmp_path, model_dir) -> Path:
    return make_project(tmp_path / "project", model_dir)


# --- 1. the DAG -----------------------------------------------------------------------------


def test_dry_run_lists_every_rule(fresh_project, snakefile):
    stats = dry_run(fresh_project, snakefile)
    assert set(stats) == {*RULES, "all"}
    assert stats == FULL_RUN
    assert not (fresh_project / "results").exists(), "a dry run wrote results"


MODEL_RULES = [
    "prepare_model",
    "collect_activations",
    "fit_vectors",
    "generate_baseline",
    "generate_steered",
    "score_perplexity",
    "judge_outputs",
    "validate_judge",
    "judge_off_target",
]


@pytest.mark.parametrize(("profile", "threads", "model_jobs"), [("cpu", 1, 2), ("local", 2, 1)])
def test_shipped_profiles_set_threads_and_model_jobs(
    fresh_project, snakefile, profile, threads, model_jobs
):
    """The cpu profile runs two 1-thread model jobs at a time, local one 2-thread job."""
    proc = snakemake(
        fresh_project,
        snakefile,
        "-n",
        "-p",
        "--profile",
        str(REPO / "workflow" / "profiles" / profile),
        timeout=DRY_TIMEOUT_S,
    )
    assert job_stats(proc.stdout) == FULL_RUN
    config = yaml.safe_load((REPO / "workflow" / "profiles" / profile / "config.yaml").read_text())
    assert config["resources"] == [f"gpu={model_jobs}"]
    jobs = re.split(r"\n(?=\S*rule \w+:)", proc.stdout)
    for rule in MODEL_RULES:
        blocks = [b for b in jobs if re.match(rf"\S*rule {rule}:", b)]
        assert blocks, f"no {rule} job in the dry run"
        for block in blocks:
            shown = re.search(r"\n\s+threads: (\d+)", block)
            expected = 1 if rule == "prepare_model" else threads  # it declares no threads
            assert (int(shown.group(1)) if shown else 1) == expected, (rule, block)


# --- 2. the full run ------------------------------------------------------------------------


def test_full_run_ran_every_job_once(done):
    assert job_stats(done.output) == FULL_RUN
    assert "27 of 27 steps (100%) done" in done.output
    print(f"full tiny run: {done.seconds:.0f} s")


def test_full_run_writes_every_declared_output(done):
    missing = [f for f in declared_outputs() if not (done.project / f).is_file()]
    assert not missing
    unreadable = [f for f in declared_outputs() if not is_readable(done.project / f)]
    assert not unreadable
    for name in REPORT_FILES[1:]:
        assert (done.project / "results/report" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # no temp files left behind
    assert not [p for p in (done.project / "results").rglob(".*") if p.is_file()]


def test_generations_have_the_configured_rows(done):
    config = tiny_config(Path("unused"))
    prompts = (done.project / "data/prompts.txt").read_text().splitlines()
    nonzero = sorted(s for s in config["strengths"] if s != 0)
    baseline = read_parquet(done.project / "results/generations/baseline.parquet")
    assert (baseline.strength == 0).all()
    assert sorted(baseline.prompt_id) == list(range(len(prompts)))
    for method, n in JOBS:
        frame = read_parquet(done.project / f"results/generations/{method}/n{n}.parquet")
        assert len(frame) == config["resamples"] * len(CONCEPTS) * len(prompts) * len(nonzero)
        assert (frame.strength != 0).all()
        assert sorted(set(frame.strength)) == nonzero
        assert set(frame.concept) == set(CONCEPTS)
        assert set(frame.method) == {method} and set(frame.n_examples) == {n}
        assert frame.output_id.is_unique
        assert frame.text.map(lambda t: isinstance(t, str)).all()


def test_vectors_and_metrics_cover_every_job(done):
    for method, n in JOBS:
        meta = read_json(done.project / f"results/vectors/{method}/n{n}.json")
        assert meta["n_examples"] == n
        assert meta["fit"]["fit_seconds"] >= 0
    mean = read_parquet(done.project / "results/metrics/mean_se.parquet")
    assert sorted(zip(mean.method, mean.n_examples, strict=True)) == sorted(JOBS)
    se = read_parquet(done.project / "results/metrics/se.parquet")
    assert {(m, s, c) for m, s, c in zip(se.method, se.n_examples, se.concept, strict=True)} == {
        (m, s, c) for m, s in JOBS for c in CONCEPTS
    }
    validation = read_parquet(done.project / "results/judge_validation.parquet")
    assert len(validation) > 0
    assert (validation.auroc == validation.auroc_other).all()  # vs other concepts gates
    assert validation.auroc_neutral.between(0, 1).all()
    confusion = read_parquet(done.project / "results/judge_confusion.parquet")
    assert set(confusion.about) == set(confusion.rubric_concept) == set(validation.concept)
    assert len(confusion) == confusion.text.nunique() * validation.concept.nunique()
    activations = read_json(done.project / "results/activations/activations.json")
    assert activations


def test_parquet_outputs_carry_provenance(done):
    parquets = [f for f in declared_outputs() if f.endswith(".parquet")]
    hashes = set()
    for name in parquets:
        meta = parquet_metadata(done.project / name)
        assert set(meta) >= PROVENANCE_KEYS, (name, meta)
        assert re.fullmatch(r"[0-9a-f]{64}", meta["config_hash"]), (name, meta)
        assert meta["library_version"], name
        hashes.add(meta["code_hash"])
    assert len(hashes) == 1, "outputs of one run record different code hashes"


def test_reading_stages_record_the_dtype_they_read_in(done):
    """Perplexity and the judge only read, so "auto" is bf16 where the CPU has AMX; each output
    says which dtype it was read in (the judge's in its id, so its cache never mixes them)."""
    import torch

    from steering.core.model_store import dtype_name
    from steering.core.models import has_fast_bf16, resolve_reading_dtype

    config = yaml.safe_load((done.project / "config.yaml").read_text())
    expected = dtype_name(resolve_reading_dtype(config.get("coherence", {}).get("dtype", "auto")))
    assert expected == ("bfloat16" if has_fast_bf16(torch.device("cpu")) else "float32")
    for path in (done.project / "results/perplexity").rglob("*.parquet"):
        assert parquet_metadata(path)["dtype"] == expected, path
    judge_dtype = dtype_name(resolve_reading_dtype(config["judge"].get("dtype", "auto")))
    for path in (done.project / "results/judgments").rglob("*.parquet"):
        assert parquet_metadata(path)["judge_id"].endswith(":" + judge_dtype), path
    activations = read_json(done.project / "results/activations/activations.json")
    assert activations["dtype"] == "float32"  # the steered model keeps model.dtype's auto


def test_report_states_the_knee(done):
    report = (done.project / "results/report/report.md").read_text()
    assert KNEE.search(report), report[:3000]
    for name in REPORT_FILES[1:]:
        assert name in report, f"report does not show {name}"
    validation = read_parquet(done.project / "results/judge_validation.parquet")
    if (validation.auroc < 0.8).any():  # the random-weight judge fails its validation
        assert "No knee was found (judge failed validation" in report, report[-2500:]
    verdicts = report.split("## Verdicts", 1)[1].split("\n## ", 1)[0]
    for method in ("dual", "diffmean"):
        assert f"- **{method}**: " in verdicts, verdicts
    assert "## Judge-free check: concept words" in report
    lexical = read_parquet(done.project / "results/metrics/lexical.parquet")
    assert set(lexical.concept) == set(CONCEPTS)
    assert lexical.rate_base.between(0, 1).all() and lexical.rate_max.between(0, 1).all()
    lift = read_parquet(done.project / "results/metrics/lexical_lift.parquet")
    assert list(lift.columns) == list(LIFT_COLUMNS)
    mean = read_parquet(done.project / "results/metrics/mean_se.parquet")
    keys = ["method", "n_examples", "n_resamples"]
    pd.testing.assert_frame_equal(lift[keys], mean[keys].sort_values(keys[:2], ignore_index=True))
    assert lift[["lift", "ci_low", "ci_high"]].notna().all().all()
    assert (lift.ci_low <= lift.ci_high).all()
    section = report.split("## Judge-free check: concept words", 1)[1].split("\n## ", 1)[0]
    for method in set(lift.method):
        assert f"- **{method}**: " in section, section


def test_resamples_flow_from_vectors_to_the_report(done):
    """Every fit holds R resamples on distinct seeded subsets without held-out lines (the
    random control with its primary's norms per resample), every steered output carries its
    resample, the baseline none, and the mean SE pools R resamples."""
    config = tiny_config(Path("unused"))
    resamples, held_out, seed = config["resamples"], config["data"]["held_out_examples"], 0
    pools = read_json(done.project / "results/activations/activations.json")["pool_sizes"]
    assert pools == {name: 8 for name in (*CONCEPTS, "neutral")}
    for method, n in JOBS:
        meta = read_json(done.project / f"results/vectors/{method}/n{n}.json")
        assert meta["n_resamples"] == resamples and len(meta["resamples"]) == resamples
        assert meta["resampling"]["held_out_examples"] == held_out
        for name, lines in meta["subsets"].items():
            _, held = held_out_split(pools[name], held_out, concept_seed(seed, name))
            assert len(lines) == resamples and all(len(r) == n for r in lines), (name, lines)
            assert not {i for r in lines for i in r} & set(held.tolist()), (name, lines)
        # the resamples are different subsets (seeded per concept, so not all alike)
        assert any(len({tuple(r) for r in lines}) > 1 for lines in meta["subsets"].values())
        if method != "random":
            notes = [meta["resamples"][r][c]["calibration"]["note"] for r in range(1, resamples)
                     for c in CONCEPTS]
            assert all("calibrated on resample 0" in note for note in notes), notes
    nested = [read_json(done.project / f"results/vectors/dual/n{n}.json")["subsets"]
              for n in (2, 4)]
    for name in nested[0]:
        for small, large in zip(nested[0][name], nested[1][name], strict=True):
            assert set(small) <= set(large)  # nested within a resample, across jobs
    primary = read_json(done.project / "results/vectors/dual/n4.json")["resamples"]
    control = read_json(done.project / "results/vectors/random/n4.json")["resamples"]
    for r in range(resamples):
        for c in CONCEPTS:
            assert control[r][c]["method"] == "random"
            assert control[r][c]["full_strength_norm"] == primary[r][c]["full_strength_norm"]
    for method, n in JOBS:
        frame = read_parquet(done.project / f"results/generations/{method}/n{n}.parquet")
        assert frame["resample"].value_counts().sort_index().tolist() == [len(frame) // 2] * 2
    scores = read_parquet(done.project / "results/metrics/scores.parquet")
    assert scores.loc[scores.strength == 0, "resample"].isna().all()
    assert set(scores.loc[scores.strength != 0, "resample"]) == set(range(resamples))
    mean = read_parquet(done.project / "results/metrics/mean_se.parquet")
    assert (mean.n_resamples == resamples).all()
    by_resample = read_parquet(done.project / "results/metrics/mean_se_by_resample.parquet")
    assert sorted(set(zip(by_resample.method, by_resample.n_examples, by_resample["resample"],
                          strict=True))) == sorted((m, n, r) for m, n in JOBS
                                                   for r in range(resamples))
    report = (done.project / "results/report/report.md").read_text()
    assert "## Knee per resample" in report, report[-3000:]


# --- 3. nothing to redo ---------------------------------------------------------------------


def test_second_run_has_nothing_to_do(done):
    proc = snakemake(done.project, done.snakefile, "-n", timeout=DRY_TIMEOUT_S)
    assert "Nothing to be done" in proc.stdout, proc.stdout


def test_copied_project_stays_up_to_date(done, tmp_path):
    """A project folder copied with results/ and .snakemake/ (mtimes kept) is still done."""
    copy = tmp_path / "copy"
    shutil.copytree(done.project, copy, symlinks=True)
    assert dry_run(copy, done.snakefile) == {}


# --- 4. invalidation ------------------------------------------------------------------------

DOWNSTREAM = {"compute_metrics": 1, "summarize": 1, "all": 1}


# Job-level DAG of the tiny config: each job -> the jobs whose inputs it makes.
def _job_graph() -> dict[tuple[str, str], list[tuple[str, str]]]:
    steered = [f"{m}/n{n}" for m, n in JOBS]
    graph: dict[tuple[str, str], list[tuple[str, str]]] = {
        ("prepare_model", ""): [("collect_activations", ""), ("generate_baseline", "")],
        ("collect_activations", ""): [("fit_vectors", s) for s in steered]
        + [("judge_free_curves", "")],
        ("judge_free_curves", ""): [("summarize", "")],
        ("generate_baseline", ""): [
            ("score_perplexity", "baseline"),
            ("judge_outputs", "baseline"),
            ("compute_metrics", ""),
            ("judge_off_target", ""),
        ],
        ("validate_judge", ""): [("summarize", "")],
        ("compute_metrics", ""): [("summarize", "")],
        ("summarize", ""): [],
        ("judge_off_target", ""): [("summarize", "")],  # dual/n4's (the ablation's n)
    }
    for s in steered:
        graph[("fit_vectors", s)] = [("generate_steered", s)]
        graph[("generate_steered", s)] = [
            ("score_perplexity", s),
            ("judge_outputs", s),
            ("compute_metrics", ""),
        ]
    graph[("fit_vectors", "dual/n4")].append(("fit_vectors", "random/n4"))
    graph[("generate_steered", "dual/n4")].append(("judge_off_target", ""))
    for s in [*steered, "baseline"]:
        graph[("score_perplexity", s)] = [("compute_metrics", "")]
        graph[("judge_outputs", s)] = [("compute_metrics", "")]
    for s in steered:  # the primary's fits (cost table) and every fit at n 4 (directions)
        if s.startswith("dual/") or s.endswith("/n4"):
            graph[("fit_vectors", s)].append(("summarize", ""))
    return graph


def expected_reruns(rules: set[str]) -> dict[str, int]:
    """Job stats of a run after editing code used by ``rules``: their jobs and all downstream."""
    graph = _job_graph()
    todo = [job for job in graph if job[0] in rules]
    seen = set(todo)
    while todo:
        for nxt in graph[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    stats: dict[str, int] = {}
    for rule, _ in seen:
        stats[rule] = stats.get(rule, 0) + 1
    return {**stats, "all": 1} if stats else {}


def stage_modules(snakefile: Path) -> dict[Path, frozenset[str]]:
    """Every library module some stage uses -> the rules whose scripts import it."""
    from steering.experiment.code_inputs import imported_modules

    root = snakefile.parent
    users: dict[Path, set[str]] = {}
    for rule in RULES:
        for module in imported_modules(root / "workflow/scripts" / f"{rule}.py", root / "steering"):
            users.setdefault(module, set()).add(rule)
    return {module: frozenset(rules) for module, rules in users.items()}


def test_job_graph_matches_the_full_run():
    assert expected_reruns({"prepare_model", "validate_judge"}) == FULL_RUN


def test_library_edit_reruns_exactly_the_stages_that_import_it(done):
    """Library files are inputs (checksummed): a touch reruns nothing; a real edit of a module
    reruns exactly the stages whose scripts import it (transitively) and their downstream jobs,
    nothing else; restoring the text undoes it. Modules used by the same stages are edited
    together (one dry run per set of stages, to keep this fast)."""
    modules = stage_modules(done.snakefile)
    assert len(modules) > 10, modules
    groups: dict[frozenset[str], list[Path]] = {}
    for module, rules in modules.items():
        groups.setdefault(rules, []).append(module)
    originals = {module: module.read_bytes() for module in modules}
    try:
        for module in modules:
            module.touch()
        assert dry_run(done.project, done.snakefile) == {}, "touch alone reran something"
        for rules, group in sorted(groups.items(), key=lambda item: sorted(item[0])):
            for module in group:
                module.write_bytes(originals[module] + b"\n# an edit that changes the checksum\n")
            try:
                stats = dry_run(done.project, done.snakefile)
            finally:
                for module in group:
                    module.write_bytes(originals[module])
            names = [str(m.relative_to(done.snakefile.parent)) for m in group]
            assert stats == expected_reruns(set(rules)), (names, sorted(rules))
    finally:
        for module, data in originals.items():
            module.write_bytes(data)
    assert dry_run(done.project, done.snakefile) == {}, "restoring the files left reruns"


def override(tmp_path: Path, **changes) -> tuple[str, str]:
    """``--configfile`` arguments extending the project's config.yaml with ``changes``.
    (Not ``--config``: Snakemake reads its list values as lists of strings.)"""
    path = tmp_path / "override.yaml"
    path.write_text(yaml.safe_dump(changes))
    return "--configfile", str(path)


def test_new_strengths_rerun_steered_generation_and_after(done, tmp_path):
    stats = dry_run(
        done.project, done.snakefile, *override(tmp_path, strengths=[-1.0, 0.0, 0.5, 1.0])
    )
    assert stats == {
        "generate_steered": 4,
        "score_perplexity": 4,
        "judge_outputs": 4,
        "judge_off_target": 1,
        **DOWNSTREAM,
    }


def test_new_n_examples_adds_only_its_jobs(done, tmp_path):
    stats = dry_run(done.project, done.snakefile, *override(tmp_path, n_examples=[2, 3, 4]))
    assert stats == {
        "fit_vectors": 1,
        "generate_steered": 1,
        "score_perplexity": 1,
        "judge_outputs": 1,
        "judge_free_curves": 1,  # one model-free table over every n (seconds)
        **DOWNSTREAM,
    }


def test_edited_config_file_is_seen(done, tmp_path):
    """The same change made in config.yaml (of a copied project) instead of --config."""
    copy = tmp_path / "copy"
    shutil.copytree(done.project, copy, symlinks=True)
    config = yaml.safe_load((copy / "config.yaml").read_text())
    config["generation"]["max_new_tokens"] += 1  # generation params: baseline too
    (copy / "config.yaml").write_text(yaml.safe_dump(config))
    stats = dry_run(copy, done.snakefile)
    assert stats == {
        "generate_baseline": 1,
        "generate_steered": 4,
        "score_perplexity": 5,
        "judge_outputs": 5,
        "judge_off_target": 1,
        **DOWNSTREAM,
    }


# --- 6. bad configs fail before any job -----------------------------------------------------


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"n_examplez": [2]}, "n_examplez"),
        ({"n_examples": "two"}, "n_examples"),
        ({"n_examples": [4, 2]}, "n_examples"),
        ({"scales": [2, 4]}, "rename it to 'n_examples'"),
        ({"data": {"held_out_examples": 5}},
         "animal.txt has 8 examples but the largest n_examples (4) plus "
         "'data.held_out_examples' (5) need 9"),
        ({"resamples": 0}, "config key 'resamples' = 0: must be >= 1"),
    ],
    ids=["unknown-key", "wrong-type", "decreasing", "old-key", "pool-too-small", "no-resample"],
)
def test_bad_config_fails_before_any_job(fresh_project, snakefile, change, named):
    config = yaml.safe_load((fresh_project / "config.yaml").read_text())
    config.update(change)
    (fresh_project / "config.yaml").write_text(yaml.safe_dump(config))
    proc = snakemake(fresh_project, snakefile, *RUN_ARGS, timeout=DRY_TIMEOUT_S, check=False)
    assert proc.returncode != 0, proc.stdout
    assert named in proc.stdout, proc.stdout
    if named == "n_examples" and isinstance(change["n_examples"], list):
        assert "[4, 2]" in proc.stdout, proc.stdout
    assert "Job stats" not in proc.stdout and "rule prepare_model" not in proc.stdout
    assert not (fresh_project / "results").exists()


# --- 5 + 7. a killed run resumes to the same results ----------------------------------------


@dataclass
class Killed:
    project: Path
    killed_during: str  # the log file whose appearance triggered the kill
    files_after_kill: set[str]
    hidden_after_kill: list[str]
    resume: FinishedRun


def _running_job_log(project: Path) -> str | None:
    logs = project / "results" / "logs"
    for pattern in (
        "generate_steered/*/*.log",
        "generate_baseline.log",
        "judge_outputs/*.log",
        "judge_outputs/*/*.log",
    ):
        found = sorted(logs.glob(pattern))
        if found:
            return str(found[0].relative_to(project))
    return None


def _processes_in(folder: Path) -> list[int]:
    import psutil

    pids = []
    for proc in psutil.process_iter(["pid", "cwd"]):
        cwd = proc.info.get("cwd")
        if cwd and Path(cwd).is_relative_to(folder):
            pids.append(proc.info["pid"])
    return pids


@pytest.fixture(scope="module")
def killed(work, model_dir, snakefile, small_run) -> Killed:
    """A fresh run of the small project (as the session's ``small_run``) SIGKILLed (whole
    process group) while a generation or judge job runs, then resumed to completion. Runs after
    ``small_run`` so the two do not compete for the CPUs."""
    project = make_project(work / "killed", model_dir, **SMALL_CHANGES)
    with open(work / "killed.log", "w") as log:
        proc = subprocess.Popen(
            snakemake_cmd(snakefile, *RUN_ARGS),
            cwd=project,
            env=snakemake_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + RUN_TIMEOUT_S
            trigger = None
            while trigger is None:
                assert proc.poll() is None, "the run ended before a generation/judge job started"
                assert time.monotonic() < deadline, "no generation/judge job started"
                time.sleep(0.2)
                trigger = _running_job_log(project)
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    # Snakemake runs jobs in its own process group: nothing of the run survives
    for _ in range(50):
        if not _processes_in(project):
            break
        time.sleep(0.1)
    assert not _processes_in(project), "job processes survived the kill of the group"
    root = project / "results"
    hidden = sorted(str(p.relative_to(project)) for p in root.rglob(".*") if p.is_file())
    files = result_files(project)
    # SIGKILL leaves Snakemake's lock, and an incomplete-marker on the outputs of jobs that
    # were running (or had written their output but were not yet registered as finished)
    locked = snakemake(project, snakefile, *RUN_ARGS, timeout=DRY_TIMEOUT_S, check=False)
    assert locked.returncode != 0 and "--unlock" in locked.stdout, locked.stdout
    snakemake(project, snakefile, "--unlock", timeout=DRY_TIMEOUT_S)
    resume = finished_run(project, snakefile, "--rerun-incomplete")
    return Killed(project, trigger, files, hidden, resume)


def test_killed_run_leaves_no_corrupt_output(killed, small_run):
    print(
        f"killed while {killed.killed_during} was being written; hidden temp files left: "
        f"{killed.hidden_after_kill}"
    )
    # every non-hidden file is one a complete run has (no stray partial file) ...
    stray = killed.files_after_kill - result_files(small_run.project)
    assert not stray, f"partial files under final-looking names: {sorted(stray)}"
    # ... the run was really cut short ...
    outputs = set(declared_outputs(SMALL_STEERED))
    assert outputs - killed.files_after_kill, "the kill came after the run had finished"
    # ... and every output present is readable
    present = sorted(outputs & killed.files_after_kill)
    assert present, "nothing was written before the kill"
    for name in present:
        assert is_readable(killed.project / name), f"{name} is corrupt after the kill"
    # hidden leftovers are only the atomic writers' temp files
    assert all(Path(p).name.endswith(".tmp") for p in killed.hidden_after_kill)


def test_killed_run_resumes_to_completion(killed):
    """``--unlock`` then a rerun with ``--rerun-incomplete`` finishes the run: the jobs that
    had not finished are rerun, the finished ones are not."""
    project = killed.project
    total = sum(SMALL_FULL_RUN.values())
    assert f"{total} of {total}" not in killed.resume.output
    ran = job_stats(killed.resume.output)
    assert 0 < sum(ran.values()) < total, ran
    missing = [f for f in declared_outputs(SMALL_STEERED) if not is_readable(project / f)]
    assert not missing
    with sqlite3.connect(project / "results/cache/judgments.sqlite") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert (
        "Nothing to be done"
        in snakemake(project, killed.resume.snakefile, "-n", timeout=DRY_TIMEOUT_S).stdout
    )


def test_runs_are_reproducible(small_run, killed):
    """Two runs of one config in two folders (one of them killed and resumed) agree: the
    generations byte for byte, perplexity exactly, judgments to 1e-6 and metrics to 1e-4.

    Not exactly: the local judge's scores vary in the last bits (~1e-8) with the batch a text
    is scored in, and which texts reach the judge (rather than the run's shared judgment cache)
    depends on the order the judge jobs ran in, which differs between runs. The random tiny
    model's scores are nearly constant, so SE (a correlation) amplifies that to ~1e-5."""
    for name in ["baseline", *SMALL_STEERED]:
        path = f"results/generations/{name}.parquet"
        assert (small_run.project / path).read_bytes() == (killed.project / path).read_bytes(), path
        path = f"results/perplexity/{name}.parquet"
        assert read_parquet(small_run.project / path).equals(read_parquet(killed.project / path))
    tables = {f"results/judgments/{name}.parquet": 1e-6 for name in ["baseline", *SMALL_STEERED]}
    tables |= {f"results/metrics/{name}.parquet": 1e-4 for name in ("scores", "se", "mean_se")}
    for path, tolerance in tables.items():
        a, b = read_parquet(small_run.project / path), read_parquet(killed.project / path)
        pd.testing.assert_frame_equal(
            a, b, check_exact=False, rtol=tolerance, atol=tolerance, obj=path
        )


# --- 8. the real default config, cut down ---------------------------------------------------


@pytest.mark.slow
def test_real_default_config_cut_down(tmp_path, snakefile):
    """The repository's config.yaml (embedded gemma-3-270m, real data), cut to two concepts,
    n_examples 2 and 4, two prompts, 8 tokens, fixed calibration, no ablation and 3 + 3 judge
    validation texts per concept."""
    project = tmp_path / "real"
    shutil.copytree(REPO / "data", project / "data")
    checks = [json.loads(line) for line in (REPO / "data/judge_checks.jsonl").open()]
    keep = [
        c
        for concept in ("person", "animal")
        for label in (1, 0)
        for c in [c for c in checks if (c["concept"], c["label"]) == (concept, label)][:3]
    ]
    (project / "data/judge_checks.jsonl").write_text("".join(json.dumps(c) + "\n" for c in keep))
    prompts = (REPO / "data/prompts.txt").read_text().splitlines()[:2]
    (project / "prompts.txt").write_text("\n".join(prompts) + "\n")
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["concepts"] = {c: config["concepts"][c] for c in ("person", "animal")}
    config["n_examples"] = [2, 4]
    config["data"]["prompts"] = "prompts.txt"
    config["generation"]["max_new_tokens"] = 8
    config["calibration"]["mode"] = "fixed"
    config["resamples"] = 2
    config["strengths"] = [-1.0, 0.0, 1.0]
    config["ablation"] = {"n_examples": [], "methods": [], "random_control": False}
    config["metrics"]["n_boot"] = 50
    (project / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    start = time.monotonic()
    proc = snakemake(project, snakefile, *RUN_ARGS)
    print(f"real cut-down run: {time.monotonic() - start:.0f} s")
    assert job_stats(proc.stdout)["generate_steered"] == 2
    report = (project / "results/report/report.md").read_text()
    assert KNEE.search(report), report[:3000]
    assert "gemma-3-270m" in report


# --- 9. a script run by hand ----------------------------------------------------------------


def test_mock_snakemake_gives_a_script_its_job(fresh_project, snakefile):
    """`mock_snakemake(rule, **wildcards)` builds the job a script would get from Snakemake,
    so a stage can be run and debugged outside the workflow."""
    code = (
        "from _helpers import mock_snakemake\n"
        f"job = mock_snakemake('generate_steered', snakefile={str(snakefile)!r}, "
        "method='dual', n='2')\n"
        "print(job.output[0], job.log[0], job.params.model['layer'], job.wildcards.n)\n"
    )
    root = snakefile.parent
    proc = subprocess.run(
        [*snakemake_cmd(snakefile)[:1], "-c", code],
        cwd=fresh_project,
        env={**snakemake_env(), "PYTHONPATH": f"{root / 'workflow/scripts'}:{root}"},
        capture_output=True,
        text=True,
        timeout=DRY_TIMEOUT_S,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split()[-4:] == [
        "results/generations/dual/n2.parquet",
        "results/logs/generate_steered/dual/n2.log",
        "1",
        "2",
    ]


def test_report_has_judge_free_curves_directions_and_judge_confusion(done):
    """The model-free judge-free stage measures every method at every n (NaN with its reason
    where the pools are too small for a split half), and the report shows its curves, the
    methods' directions at the ablation n and the judge's confusion matrix."""
    table = read_parquet(done.project / "results/metrics/judge_free.parquet")
    config = tiny_config(Path("unused"))
    assert len(table) == 3 * 2 * config["resamples"] * len(CONCEPTS)  # methods x n x R x c
    assert set(table.method) == {"dual", "diffmean", "random"}
    fits = table[table.method != "random"]
    # 8 lines, 2 held out: a split half of n = 2 fits (4 <= 6), of n = 4 does not (8 > 6)
    assert fits[fits.n_examples == 2].stability.between(-1, 1).all()
    at_4 = fits[fits.n_examples == 4]
    assert at_4.stability.isna().all() and at_4.stability_note.str.contains("needs 8").all()
    assert fits.detection_auroc.between(0, 1).all()
    curves = read_parquet(done.project / "results/metrics/judge_free_curves.parquet")
    assert set(curves.measure) == {"stability", "detection_auroc"}
    report = (done.project / "results/report/report.md").read_text()
    for heading in ("## Judge-free curves", "## Directions of the methods at n = 4",
                    "## Off-target effects", "## Judge confusion matrix"):
        assert heading in report, heading
    directions = report.split("## Directions of the methods", 1)[1].split("\n## ", 1)[0]
    assert "| dual |" in directions and "| diffmean |" in directions
    assert "| random |" not in directions
    cost = report.split("## Cost", 1)[1].split("\n## ", 1)[0]
    assert "direction_seconds" in cost and "calibration_seconds" in cost
