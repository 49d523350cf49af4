"""Security: no pickle on any load path, remote code only when asked for, API keys never written
anywhere, and config paths that stay inside the working directory."""

from __future__ import annotations

import copy
import inspect
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from steering.experiment.config import ConfigError, check_config, validate_config

torch.set_num_threads(1)

REPO = Path(__file__).resolve().parents[2]
SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"
SOURCES = sorted(
    [
        *(REPO / "steering").rglob("*.py"),
        *(REPO / "workflow").rglob("*.py"),
        *(REPO / "workflow").rglob("*.smk"),
        REPO / "Snakefile",
    ]
)

# (what, pattern) pairs that must not occur in library or workflow code.
FORBIDDEN = [
    ("pickle import", re.compile(r"^\s*(import|from)\s+(c?pickle|cloudpickle|dill|joblib)\b")),
    ("pickle call", re.compile(r"\b(c?pickle|cloudpickle|dill|joblib)\.(load|loads|Unpickler)\b")),
    ("pandas read_pickle", re.compile(r"\bread_pickle\s*\(")),
    ("allow_pickle=True", re.compile(r"allow_pickle\s*=\s*True")),
    ("trust_remote_code=True", re.compile(r"trust_remote_code\s*=\s*True")),
    ("unsafe yaml.load", re.compile(r"\byaml\.(load|unsafe_load|full_load)\s*\(")),
    ("eval/exec", re.compile(r"(?<![\w.])(eval|exec)\s*\(")),
]


def code_lines(path: Path) -> list[tuple[int, str]]:
    """Source lines with comments dropped (docstrings may mention 'pickle' in prose)."""
    return [
        (n, line.split("#", 1)[0])
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
    ]


def test_sources_are_found() -> None:
    names = {p.name for p in SOURCES}
    assert {"io.py", "vectors.py", "models.py", "common.smk", "Snakefile"} <= names


def test_no_pickle_or_unsafe_loading_in_sources() -> None:
    hits = []
    for path in SOURCES:
        for number, line in code_lines(path):
            for what, pattern in FORBIDDEN:
                if pattern.search(line):
                    hits.append(f"{path.relative_to(REPO)}:{number}: {what}: {line.strip()}")
    assert hits == []


def test_every_array_and_tensor_load_refuses_pickle() -> None:
    """np.load must say allow_pickle=False and torch.load weights_only=True, explicitly."""
    hits = []
    for path in SOURCES:
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"\b(np|numpy)\.load\s*\(", text):
            call = text[match.start() : text.find(")", match.end()) + 1]
            if "allow_pickle=False" not in call.replace(" ", ""):
                hits.append(f"{path.relative_to(REPO)}: {call}")
        for match in re.finditer(r"\btorch\.load\s*\(", text):
            call = text[match.start() : text.find(")", match.end()) + 1]
            if "weights_only=True" not in call.replace(" ", ""):
                hits.append(f"{path.relative_to(REPO)}: {call}")
    assert hits == []


# --------------------------------------------------------------------- trust_remote_code
class _FakeModel:
    def __init__(self) -> None:
        self.config = type("Config", (), {"_commit_hash": None})()

    def to(self, _device):
        return self

    def eval(self):
        return self


class _FakeTokenizer:
    pad_token = "<pad>"
    padding_side = "right"


@pytest.mark.parametrize("flag", [None, False, True])
def test_trust_remote_code_is_passed_through_and_off_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flag: bool | None
) -> None:
    import steering.core.models as models

    calls: list[tuple[str, dict[str, Any]]] = []

    def tokenizer(source, **kwargs):
        calls.append(("tokenizer", kwargs))
        return _FakeTokenizer()

    def model(source, **kwargs):
        calls.append(("model", kwargs))
        return _FakeModel()

    monkeypatch.setattr(models.AutoTokenizer, "from_pretrained", tokenizer)
    monkeypatch.setattr(models.AutoModelForCausalLM, "from_pretrained", model)
    folder = tmp_path / "model"
    folder.mkdir()
    kwargs = {} if flag is None else {"trust_remote_code": flag}
    models.load_model(str(folder), device="cpu", **kwargs)
    assert [name for name, _ in calls] == ["tokenizer", "model"]
    assert all(kw["trust_remote_code"] is bool(flag) for _, kw in calls)


def test_trust_remote_code_defaults_are_false() -> None:
    from steering.core.models import load_model

    assert inspect.signature(load_model).parameters["trust_remote_code"].default is False
    filled = validate_config({}, SCHEMA)
    assert filled["model"]["trust_remote_code"] is False
    # Every workflow script and the stage's model loader pass the configured flag (model
    # params), never a literal.
    stage_model = REPO / "steering" / "experiment" / "stage_model.py"
    assert "trust_remote_code=spec.trust_remote_code" in stage_model.read_text()
    for script in [*(REPO / "workflow" / "scripts").glob("*.py"), stage_model]:
        for _, line in code_lines(script):
            if "trust_remote_code" in line and "=" in line:
                assert re.search(
                    r'trust_remote_code=([\w.]+\["trust_remote_code"\]|spec\.trust_remote_code)',
                    line,
                ), (
                    script,
                    line,
                )


# ------------------------------------------------------------------------------ config paths
BASE = {
    "model": {"name": "tiny-model", "layer": 1},
    "concepts": {c: {"description": f"{c}s", "opposite": f"no {c}s"} for c in ("animal", "object")},
    "n_examples": [2, 4],
    "strengths": [-1.0, 0.0, 1.0],
    "ablation": {"n_examples": [4]},
}
ESCAPES = [
    ("results_dir", "../elsewhere"),
    ("results_dir", "/tmp/results"),
    ("results_dir", "results/../../up"),
    ("data.concepts_dir", "/etc"),
    ("data.prompts", "../../prompts.txt"),
    ("judge.shots", "/home/someone/shots.yaml"),
    ("judge.checks", "data/../../checks.jsonl"),
    ("judge.cache", "../cache.sqlite"),
    ("judge.ratings", "/tmp/ratings.csv"),
]


def with_key(dotted: str, value: Any, **top: Any) -> dict[str, Any]:
    config = copy.deepcopy(BASE)
    node = config
    *parents, last = dotted.split(".")
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value
    config.update(top)
    return config


@pytest.mark.parametrize(("key", "value"), ESCAPES, ids=[f"{k}={v}" for k, v in ESCAPES])
def test_config_paths_cannot_escape_unless_allowed(key: str, value: str) -> None:
    pattern = (
        rf"{re.escape(key)}={re.escape(repr(value))} points outside the working "
        r"directory; use a relative path inside it, or set allow_external_paths: true"
    )
    with pytest.raises(ConfigError, match=pattern):
        validate_config(with_key(key, value), SCHEMA)
    # check_config alone (on a config with defaults filled) refuses it too ...
    filled = validate_config(with_key(key, value, allow_external_paths=True), SCHEMA)
    filled["allow_external_paths"] = False
    with pytest.raises(ConfigError, match=pattern):
        check_config(filled)
    # ... and accepts it when external paths are explicitly allowed.
    filled["allow_external_paths"] = True
    check_config(filled)


@pytest.mark.parametrize("value", ["results", "out/run-1", "./results", "data/concepts"])
def test_relative_paths_inside_the_working_directory_are_fine(value: str) -> None:
    validate_config(with_key("results_dir", value), SCHEMA)


# ------------------------------------------------------------ API keys: the whole workflow
@pytest.mark.workflow
def test_api_key_reaches_the_endpoint_and_is_written_nowhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_run
) -> None:
    """A copy of the session's finished small project (tests/conftest.py) switched to an
    OpenAI-compatible judge that needs a key: every job that uses the judge reruns with the key
    in its environment, and the key reaches the endpoint and is written nowhere."""
    import yaml

    from tests.helpers.openai_stub_server import running_stub
    from tests.helpers.workflow_project import copy_run, job_stats

    key = "sk-test-" + secrets.token_hex(16)
    with running_stub(keyword="animal") as stub:
        project = copy_run(small_run, tmp_path / "proj")
        config = yaml.safe_load((project / "config.yaml").read_text())
        config["judge"].update(
            backend="openai",
            model="stub-model",
            base_url=stub.base_url,
            api_key_env="STEERING_TEST_KEY",
            max_retries=2,
            timeout=30,
        )
        (project / "config.yaml").write_text(yaml.safe_dump(config))
        monkeypatch.setenv("STEERING_TEST_KEY", key)
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "snakemake",
                "-s",
                str(small_run.snakefile),
                "--cores",
                "2",
                "--resources",
                "gpu=2",
            ],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=900,
            env={**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"},
        )
        requests = stub.requests
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert (project / "results" / "report" / "report.md").is_file()
    # every judge job ran again, with the key, and what reads their scores
    ran = job_stats(output)
    assert ran.get("judge_outputs") == 2 and ran.get("validate_judge") == 1, ran
    assert ran.get("compute_metrics") == 1 and ran.get("summarize") == 1, ran

    # Not vacuous: the judge jobs did call the endpoint, with the key.
    assert len(requests) > 0
    auth = {r.headers.get("Authorization") for r in requests}
    assert auth == {f"Bearer {key}"}

    # The key is nowhere under the project: results, logs, benchmarks, .snakemake (its
    # metadata, logs and generated script copies) and the judgment cache.
    needle = key.encode()
    scanned, hits = 0, []
    for path in project.rglob("*"):
        if path.is_file() and not path.is_symlink():
            scanned += 1
            if needle in path.read_bytes():
                hits.append(str(path.relative_to(project)))
    assert scanned > 20 and (project / ".snakemake").is_dir()
    assert hits == []
    assert key not in output  # nor in what Snakemake printed
