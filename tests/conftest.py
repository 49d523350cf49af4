"""Shared fixtures: one torch thread, the real SmolLM2 tokenizer, tiny models per arch x dtype,
and finished workflow runs of the tiny project (built once per session, also under
pytest-xdist: see ``pytest_collection_modifyitems``)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.helpers.tiny_models import ARCHS, DTYPES, TinyModel, tiny_model  # noqa: E402

# The test machines have few cores shared with other jobs; more threads make torch much slower.
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tokenizer():
    """The SmolLM2 tokenizer (vocab 49152) from the embedded-model cache, ready for steering."""
    from transformers import AutoTokenizer

    from steering.core.models import embedded_model_dir, prepare_tokenizer

    try:
        folder = embedded_model_dir("smollm2-135m-instruct")
    except ModuleNotFoundError as error:  # the embedded-model package is not installed
        pytest.skip(f"SmolLM2 tokenizer unavailable: {error}")
    return prepare_tokenizer(AutoTokenizer.from_pretrained(str(folder)))


ARCH_DTYPE_CASES = [(arch, dtype) for arch in ARCHS for dtype in DTYPES]


@pytest.fixture(params=ARCH_DTYPE_CASES, ids=[f"{a}-{d}" for a, d in ARCH_DTYPE_CASES])
def any_model(request) -> TinyModel:
    """Every tiny architecture in fp32, fp16 and bf16 (built once per session)."""
    arch, dtype_name = request.param
    return tiny_model(arch, dtype_name)


@pytest.fixture
def llama() -> TinyModel:
    """The tiny fp32 Llama."""
    return tiny_model("llama", "fp32")


# --- finished workflow runs shared by the workflow, robustness and cluster tests ----------------
# Each is made once per session, on first use, with one snapshot of the workflow and one tiny
# model. Tests only read them; a test that changes results works on a copy (copy_run).

SHARED_RUNS = ("tiny_run", "small_run")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist (CI: ``-n 2 --dist loadgroup``) every test that uses a shared run
    goes to the worker that makes it (``xdist_group`` named after the run), so each run is
    still made once; a test that uses both puts all their users in one group. Without xdist
    the mark does nothing. Tests marked ``slow`` (minutes each) are moved to the front, so a
    worker does not start one when the other has nothing left."""
    users = {run: [item for item in items if run in item.fixturenames] for run in SHARED_RUNS}
    both = {id(item) for item in users["tiny_run"]} & {id(item) for item in users["small_run"]}
    for run, group in users.items():
        for item in group:
            item.add_marker(pytest.mark.xdist_group("shared_runs" if both else run))
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)  # stable


@pytest.fixture(scope="session")
def shared_workflow_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("shared-workflow")


@pytest.fixture(scope="session")
def tiny_model_dir(shared_workflow_dir) -> Path:
    """The tiny random-weight Llama of tests/helpers/workflow_project.py, saved once."""
    from tests.helpers.workflow_project import build_tiny_model

    return build_tiny_model(shared_workflow_dir / "model")


@pytest.fixture(scope="session")
def workflow_snakefile(shared_workflow_dir) -> Path:
    """The Snakefile of the session's snapshot of the workflow (Snakefile, workflow/,
    steering/): runs are isolated from edits to the checkout while the tests run."""
    from tests.helpers.workflow_project import snapshot_workflow

    return snapshot_workflow(shared_workflow_dir / "repo")


@pytest.fixture(scope="session")
def tiny_run(shared_workflow_dir, tiny_model_dir, workflow_snakefile):
    """The tiny project (27 jobs) after one complete run. Not to be modified."""
    from tests.helpers.workflow_project import finished_run, make_project

    project = make_project(shared_workflow_dir / "tiny", tiny_model_dir)
    return finished_run(project, workflow_snakefile)


@pytest.fixture(scope="session")
def small_run(shared_workflow_dir, tiny_model_dir, workflow_snakefile):
    """The tiny project cut to one n_examples and no ablation (14 jobs, every rule), after one
    complete run. Not to be modified."""
    from tests.helpers.workflow_project import SMALL_CHANGES, finished_run, make_project

    project = make_project(shared_workflow_dir / "small", tiny_model_dir, **SMALL_CHANGES)
    return finished_run(project, workflow_snakefile)
