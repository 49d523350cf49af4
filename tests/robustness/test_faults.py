"""Faults: killed writes, a failing judge endpoint, out-of-memory in generation, exceptions
during steered generation, and a truncated cached output in a workflow run.

Already covered elsewhere (not repeated here):

* tests/evaluation/test_judge_openai.py: 429 then 500 then success, Retry-After honoured and capped,
  timeout then success, persistent 500 / malformed answers failing after retries, client
  errors failing at once, connection refused retried.
* tests/evaluation/test_judge_cache.py: a crash mid-run keeps every judgment (plain judge, and an
  HTTP judge failing with a non-retried 400); a corrupt SQLite cache is moved aside and rebuilt.
* tests/core/test_generation.py: out-of-memory as ``RuntimeError`` halves the batch (compared per
  prompt), non-memory errors are not retried, an interrupt from a pre-hook or a failing
  stopping criterion leaves no hook.

Added here: kills mid-write for every atomic writer; each transient endpoint failure (timeout,
429, 500, garbage) retried with backoff and then failing through the cache, keeping every
judgment made before; ``torch.OutOfMemoryError`` from a forward pre-hook on the model, same
tokens as without the fault, logged; the halving giving up at batch size 1; an exception in
``ManifoldSteerer.generate``; a truncated cached output in a workflow run: reported by the
job that reads it and by ``python -m steering.doctor``, never deleted, rebuilt on request.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from steering.core.generation import generate
from steering.doctor import unreadable_outputs
from steering.evaluation.judges.base import JudgeError, Rubric
from steering.evaluation.judges.cache import JudgmentCache
from steering.evaluation.judges.cached import CachedJudge
from steering.evaluation.judges.openai import OpenAIJudge
from steering.fit.vector_files import load_vectors
from steering.io import is_readable, load_npz, read_json, read_parquet

torch.set_num_threads(1)

from tests.helpers.openai_stub_server import (  # noqa: E402
    error,
    hang,
    malformed_json,
    running_stub,
    success,
)
from tests.helpers.tiny_models import leftover_hooks  # noqa: E402

REPO = Path(__file__).resolve().parents[2]

# --------------------------------------------------------------------------- killed writes
# The child writes an old, complete version, then starts writing a new one with a writer that
# stops half-way (the temp file holds half the bytes), says where it is, and hangs until killed.
CHILD = textwrap.dedent(
    """
    import importlib.util, os, sys, time, types
    from pathlib import Path
    import numpy as np, pandas as pd

    # Import steering.io / steering.fit.vector_files without the package __init__ (which imports
    # torch and transformers, seconds per child on a busy machine): same source files, less
    # start-up.
    package = types.ModuleType("steering")
    package.__path__ = list(importlib.util.find_spec("steering").submodule_search_locations)
    sys.modules["steering"] = package
    import steering.io as sio
    kind = sys.argv[1]
    if kind == "vectors":
        import steering.fit.vector_files as sv  # its SteeringVector too

    kind, target, with_old = sys.argv[1], Path(sys.argv[2]), sys.argv[3] == "1"

    def halt_after(write, path_of):
        def slow(*args, **kwargs):
            write(*args, **kwargs)
            path = Path(path_of(*args, **kwargs))
            data = path.read_bytes()
            with open(path, "r+b") as handle:
                handle.truncate(len(data) // 2)
            print("HALTED", path, flush=True)
            time.sleep(600)
        return slow

    frame = lambda n: pd.DataFrame({"text": [f"row {i}" for i in range(n)], "x": np.arange(n)})
    vec = lambda sign: {"animal": sv.SteeringVector(
        "animal", sign * np.ones(8, np.float32) / 8**0.5, 1.0, 1.0, "dual")}
    write_new = {
        "parquet": lambda: sio.write_parquet(target, frame(5000), {"v": 2}),
        "npz": lambda: sio.save_npz(target, {"a": np.arange(5000)}),
        "json": lambda: sio.write_json(target, {"v": 2, "rows": list(range(5000))}),
        "vectors": lambda: sv.save_vectors(target, vec(-1), {"model_id": "m", "layer": 2}),
    }
    if with_old:
        {
            "parquet": lambda: sio.write_parquet(target, frame(10), {"v": 1}),
            "npz": lambda: sio.save_npz(target, {"a": np.arange(10)}),
            "json": lambda: sio.write_json(target, {"v": 1}),
            "vectors": lambda: sv.save_vectors(target, vec(1), {"model_id": "m", "layer": 1}),
        }[kind]()
        print("OLD", flush=True)
    if kind == "parquet":
        sio.pq.write_table = halt_after(sio.pq.write_table, lambda table, path, **kw: path)
    elif kind == "npz":
        real = np.savez
        def savez(handle, **arrays):
            real(handle, **arrays)
            handle.flush()
            handle.truncate(handle.tell() // 2)
            handle.flush()
            print("HALTED", handle.name, flush=True)
            time.sleep(600)
        sio.np.savez = savez
    elif kind == "json":
        Path.write_text = halt_after(Path.write_text, lambda self, *a, **k: self)
    elif kind == "vectors":
        sv.save_file = halt_after(sv.save_file, lambda tensors, path, **kw: path)
    write_new[kind]()
    print("FINISHED", flush=True)
    """
)
SUFFIX = {"parquet": ".parquet", "npz": ".npz", "json": ".json", "vectors": ".safetensors"}


def read_back(kind: str, target: Path):
    if kind == "parquet":
        return read_parquet(target)
    if kind == "npz":
        return load_npz(target)
    if kind == "json":
        return read_json(target)
    return load_vectors(target)


@pytest.mark.parametrize("with_old", [False, True], ids=["no-old-version", "old-version"])
@pytest.mark.parametrize("kind", list(SUFFIX))
def test_write_killed_midway_leaves_nothing_that_looks_complete(
    tmp_path: Path, kind: str, with_old: bool
) -> None:
    target = tmp_path / "out" / ("vectors" if kind == "vectors" else f"table{SUFFIX[kind]}")
    final = target.with_suffix(SUFFIX[kind]) if kind == "vectors" else target
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, kind, str(target), "1" if with_old else "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        old_bytes = None
        line = child.stdout.readline()
        if with_old:
            assert line.strip() == "OLD", child.stderr.read()
            old_bytes = final.read_bytes()
            line = child.stdout.readline()
        assert line.startswith("HALTED "), line + child.stderr.read()
        halted = Path(line.split(" ", 1)[1].strip())
        assert halted.exists() and halted != final
        assert halted.name.startswith(".") and halted.name.endswith(".tmp")
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
        child.stdout.close()
        child.stderr.close()

    # The half-written data is only in a hidden temp file; the final name is absent or the old,
    # complete version, which still reads back.
    if with_old:
        assert final.read_bytes() == old_bytes
        assert is_readable(final)
        read_back(kind, target)
        if kind == "vectors":
            assert load_vectors(target)[1]["layer"] == 1
    else:
        assert not final.exists()
        if kind == "vectors":
            assert not target.with_suffix(".json").exists()
    visible = sorted(p.name for p in final.parent.iterdir() if not p.name.startswith("."))
    assert visible == (
        sorted(
            {final.name, target.with_suffix(".json").name} if kind == "vectors" else {final.name}
        )
        if with_old
        else []
    )
    # The doctor never lists a good old version (nor the hidden temp file).
    assert unreadable_outputs(final.parent) == []


def test_vectors_killed_between_tensors_and_json_load_the_new_pair(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The new tensors file (which embeds the full metadata) is renamed, the JSON is still the
    old one: the pair loads as the new version, with a warning, never as a mix of the two."""
    script = CHILD.replace(
        "sv.save_file = halt_after(sv.save_file, lambda tensors, path, **kw: path)",
        "real_atomic_path = sv.atomic_path\n"
        "def halting_atomic_path(path, suffix=''):\n"
        "    if suffix == '.json':\n"
        "        print('HALTED', path, flush=True)\n"
        "        time.sleep(600)\n"
        "    return real_atomic_path(path, suffix)\n"
        "sv.atomic_path = halting_atomic_path",
    )
    target = tmp_path / "vectors"
    child = subprocess.Popen(
        [sys.executable, "-c", script, "vectors", str(target), "1"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout.readline().strip() == "OLD"
        assert child.stdout.readline().startswith("HALTED")
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
        child.stdout.close()
    with caplog.at_level(logging.WARNING):
        vectors, meta = load_vectors(target)
    assert meta["layer"] == 2  # the new pair, whole
    assert vectors["animal"].direction[0] < 0
    assert any("vectors" in r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING)


# ------------------------------------------------------------------ judge endpoint failures
RUBRIC = Rubric(kind="concept", concept="animal", description="animals", version=1)
TEXTS = [f"animal text {i}" for i in range(6)]

FAILURES = {
    "timeout": (lambda: hang(5.0), r"timed out: no complete answer within judge timeout=0\.3s"),
    "http-429": (lambda: error(429, body="slow down"), r"HTTP 429: 'slow down'"),
    "http-500": (lambda: error(500, body="internal error"), r"HTTP 500: 'internal error'"),
    "garbage": (malformed_json, r"malformed JSON"),
}


@pytest.mark.parametrize("failure", list(FAILURES))
def test_failing_endpoint_is_retried_with_backoff_then_fails_keeping_judgments(
    tmp_path: Path, failure: str, caplog: pytest.LogCaptureFixture
) -> None:
    make_failure, reason = FAILURES[failure]
    path = tmp_path / "judgments.sqlite"
    with running_stub() as stub:
        stub.script(success(), success(), success())  # the first three texts are judged
        stub.set_default(make_failure())  # then the endpoint fails for good
        judge = OpenAIJudge(
            stub.base_url,
            "stub-model",
            max_concurrency=1,
            max_retries=2,
            timeout=0.3,
            backoff=0.2,
            max_backoff=1.0,
        )
        started = time.monotonic()
        with (
            caplog.at_level(logging.INFO, logger="steering.evaluation.judges.openai"),
            JudgmentCache(path) as cache,
            pytest.raises(JudgeError) as info,
        ):
            CachedJudge(judge, cache).score(TEXTS, RUBRIC)
        elapsed = time.monotonic() - started
        message = str(info.value)
        assert f"judge endpoint {stub.base_url}/chat/completions failed after 3 tries" in message
        assert re.search(reason, message), message
        # Two retries, each announced, waiting about 0.2 s then 0.4 s (jitter 50-100 %).
        retries = [r for r in caplog.records if "retrying in" in r.getMessage()]
        assert len(retries) == 2
        assert elapsed >= 0.2 * 0.5 + 0.4 * 0.5
        assert stub.request_count == 3 + 3  # three judged, then three tries of the fourth

        # Every judgment made before the failure is on disk; a rerun against a healthy
        # endpoint asks only for the rest.
        stub.set_default(success())
        with JudgmentCache(path) as cache:
            assert len(cache) == 3
            scores = CachedJudge(judge, cache).score(TEXTS, RUBRIC)
            assert cache.stats.hits == 3 and cache.stats.misses == 3
        assert len(scores) == len(TEXTS)
        assert stub.request_count == 6 + 3


# ----------------------------------------------------------------------- out of memory
PROMPTS = [
    f"The {w} sat on the mat and" for w in ("cat", "dog", "cow", "pig", "hen", "fox", "owl", "rat")
]
NEW_TOKENS = 5


def same_length_prompts(tokenizer) -> list[str]:
    lengths = {len(tokenizer(p)["input_ids"]) for p in PROMPTS}
    assert len(lengths) == 1, "the prompts must not need padding, so batching cannot matter"
    return PROMPTS


def oom_above(model: torch.nn.Module, limit: int, make_error, seen: list[int]):
    """A forward pre-hook on the whole model that fails like the allocator above ``limit``."""

    def hook(_module, args, kwargs):
        ids = kwargs.get("input_ids") if kwargs.get("input_ids") is not None else args[0]
        seen.append(int(ids.shape[0]))
        if ids.shape[0] > limit:
            raise make_error()

    return model.register_forward_pre_hook(hook, with_kwargs=True)


OOM_ERRORS = {
    "torch.OutOfMemoryError": lambda: torch.OutOfMemoryError(
        "CUDA out of memory. Tried to allocate 2.00 GiB"
    ),
    "RuntimeError": lambda: RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB"),
}


@pytest.mark.parametrize("steered", [False, True], ids=["plain", "steered"])
@pytest.mark.parametrize("kind", list(OOM_ERRORS))
def test_out_of_memory_retries_at_half_batch_with_same_tokens(
    llama, tokenizer, caplog: pytest.LogCaptureFixture, kind: str, steered: bool
) -> None:
    model = llama.model
    prompts = same_length_prompts(tokenizer)
    kwargs = {"max_new_tokens": NEW_TOKENS, "progress": False, "batch_size": 8}
    if steered:
        gen = torch.Generator().manual_seed(0)
        directions = torch.randn(len(prompts), 32, generator=gen) * 3
        kwargs.update(
            layer=1, direction=directions, strengths=[0.5, -1.0, 1.0, 0.0, 2.0, -0.5, 1.5, 1.0]
        )
    expected = [g.token_ids for g in generate(model, tokenizer, prompts, **kwargs)]
    seen: list[int] = []
    handle = oom_above(model, 2, OOM_ERRORS[kind], seen)
    try:
        with caplog.at_level(logging.WARNING, logger="steering.core.generation"):
            got = [g.token_ids for g in generate(model, tokenizer, prompts, **kwargs)]
    finally:
        handle.remove()
    assert got == expected
    assert seen[:2] == [8, 4] and max(seen[2:]) == 2
    assert "Out of memory at batch size 8; retrying with 4." in caplog.text
    assert "Out of memory at batch size 4; retrying with 2." in caplog.text
    assert leftover_hooks(model) == []


def test_out_of_memory_at_batch_size_one_gives_up(llama, tokenizer) -> None:
    seen: list[int] = []
    handle = oom_above(llama.model, 0, OOM_ERRORS["torch.OutOfMemoryError"], seen)
    try:
        with pytest.raises(torch.OutOfMemoryError, match="CUDA out of memory"):
            generate(
                llama.model,
                tokenizer,
                PROMPTS[:4],
                max_new_tokens=2,
                batch_size=4,
                layer=1,
                direction=torch.ones(32),
                strengths=[1.0] * 4,
                progress=False,
            )
    finally:
        handle.remove()
    assert seen == [4, 2, 1]
    assert leftover_hooks(llama.model) == []


# -------------------------------------------------------- exceptions in steered generation
class Interrupt(BaseException):
    """Like KeyboardInterrupt, but pytest does not treat it as a user abort."""


@pytest.mark.parametrize("error", [RuntimeError("boom"), Interrupt()], ids=["error", "interrupt"])
def test_exception_in_steerer_generate_leaves_no_hook(llama, tokenizer, error) -> None:
    from steering.fit.steerer import ManifoldSteerer
    from steering.fit.vectors import SteeringVector

    model = llama.model
    steerer = ManifoldSteerer(model, tokenizer, layer=1, method="diffmean")
    direction = np.ones(32, dtype=np.float32) / np.sqrt(32)
    steerer.vectors = {"animal": SteeringVector("animal", direction, 5.0, 5.0, "diffmean")}
    before = steerer.generate("The cat sat on", None, 0.0, max_new_tokens=4)
    calls = []

    def fail(_module, _args):
        calls.append(1)
        if len(calls) == 2:  # during decoding, with the steering hook registered
            raise error

    handle = model.model.layers[2].register_forward_pre_hook(fail)
    try:
        with pytest.raises(type(error)):
            steerer.generate("The cat sat on", "animal", 1.0, max_new_tokens=4)
    finally:
        handle.remove()
    assert len(calls) == 2
    assert leftover_hooks(model) == []
    assert steerer.generate("The cat sat on", None, 0.0, max_new_tokens=4) == before


# ------------------------------------------------------------------ workflow: corrupt cache
def run_workflow(
    project: Path, snakefile: Path, *extra: str, timeout: int = 900
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "-s",
            str(snakefile),
            "--cores",
            "2",
            "--resources",
            "gpu=2",
            *extra,
        ],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"},
    )


def snapshot(project: Path) -> dict[str, bytes]:
    """Every file of the project (not Snakemake's own .snakemake/ records), by content."""
    return {
        str(p.relative_to(project)): p.read_bytes()
        for p in project.rglob("*")
        if p.is_file() and ".snakemake" not in p.relative_to(project).parts
    }


@pytest.mark.workflow
def test_truncated_output_is_reported_never_deleted_and_rebuilt_on_request(
    tmp_path: Path, small_run
) -> None:
    """No run deletes or changes a file it did not write: a dry run leaves a truncated output,
    a user's invalid JSON in results/ and in data/ byte-identical; the job that reads the
    truncated file fails with the `snakemake -R` line; the doctor lists that file (not the
    user's); and that line rebuilds it and what depends on it. Starts from a copy of the
    session's finished small project (tests/conftest.py), which is up to date."""
    from steering.doctor import main as doctor
    from tests.helpers.workflow_project import copy_run

    project = copy_run(small_run, tmp_path / "proj")
    snakefile = small_run.snakefile
    results = project / "results"
    corrupt = results / "generations" / "dual" / "n4.parquet"
    untouched = results / "generations" / "baseline.parquet"
    original = read_parquet(corrupt)
    data = corrupt.read_bytes()
    corrupt.write_bytes(data[: len(data) // 2])
    for notes in (results / "notes.json", project / "data" / "notes.json"):
        notes.write_text("{ my notes, not JSON")
    before = snapshot(project)

    dry = run_workflow(project, snakefile, "-n")
    assert dry.returncode == 0, (dry.stdout + dry.stderr)[-3000:]
    assert snapshot(project) == before, "a dry run changed or deleted a file"

    failed = run_workflow(project, snakefile)
    log = failed.stdout + failed.stderr
    assert failed.returncode != 0, log[-3000:]
    rebuild = f"snakemake -R {corrupt.relative_to(project)}"
    assert rebuild in log, log[-3000:]
    assert (results / "notes.json").read_bytes() == before["results/notes.json"]
    assert (project / "data" / "notes.json").read_bytes() == before["data/notes.json"]
    assert corrupt.read_bytes() == before[str(corrupt.relative_to(project))]

    listed = subprocess.run(
        [sys.executable, "-m", "steering.doctor", "results"],
        cwd=project, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert listed.returncode == 1, listed.stdout + listed.stderr
    assert rebuild in listed.stdout and "notes.json" not in listed.stdout
    assert doctor([str(results)]) == 1

    untouched_mtime = untouched.stat().st_mtime_ns
    rebuilt = run_workflow(project, snakefile, "-R", str(corrupt.relative_to(project)))
    assert rebuilt.returncode == 0, (rebuilt.stdout + rebuilt.stderr)[-3000:]
    pd.testing.assert_frame_equal(read_parquet(corrupt), original)  # greedy: same rows
    assert untouched.stat().st_mtime_ns == untouched_mtime
    assert (results / "notes.json").read_bytes() == before["results/notes.json"]
    assert unreadable_outputs(results) == []
