"""B12 start-up: what a workflow job pays before its work, component by component.

Every workflow job is its own Python process that imports torch, transformers and steering and
loads the model. This measures each component in a fresh subprocess, the probes interleaved
(probe 1, 2, ..., then again), and reports medians: (a) the interpreter and the imports;
(b) loading gemma-3-270m from the prepared fp32 folder as fp32, the same folder as bf16 (load +
cast, what ``dtype: auto`` does on a GPU), and a bf16 copy as bf16, each with the page cache
warm and, for copies this script owns, cold (evicted with ``posix_fadvise``); (c) the first
forward pass of a short batch after the load, and a model job's whole start-up through
``steering.core.models.load_model``: fp32, bf16 from the fp32 folder (load + cast, as before
``steering.core.model_store``) and bf16 from the embedded model's bf16 copy (the cut). Cells are
wall and CPU seconds; CPU seconds hold up better on a shared machine.

    python bench/b12_startup.py [--repeats 3] [--threads 1] [--model-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.common import record  # noqa: E402

PROMPTS = [f"Tell me about the weather on day {i} of the trip." for i in range(8)]

# Child snippets. Each prints one JSON line of its inner timings; the parent times the process.
TIMERS = """
import json, time
def since(t):
    return time.perf_counter() - t[0], time.process_time() - t[1]
def now():
    return time.perf_counter(), time.process_time()
"""

# The timed first forward pass of both snippets.
FORWARD = """batch = tok({prompts!r}, return_tensors="pt", padding=True)
t = now()
with torch.no_grad():
    model(**batch)
t_fwd = since(t)
"""

LOAD = (
    TIMERS
    + """t = now()
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer
torch.set_num_threads({threads})
t_import = since(t)
def rss():
    f = dict(l.split(":", 1) for l in open("/proc/self/status") if l.startswith("Rss"))
    return {{k: int(v.split()[0]) / 1024 for k, v in f.items()}}
t = now()
model = AutoModelForCausalLM.from_pretrained({folder!r}, dtype=getattr(torch, {dtype!r})).eval()
t_load = since(t)
mem = rss()
t = now()
tok = AutoTokenizer.from_pretrained({folder!r})
t_tok = since(t)
"""
    + FORWARD
    + """print(json.dumps(dict(imports=t_import, load=t_load, tokenizer=t_tok, forward=t_fwd,
                      rss_anon_mb=mem["RssAnon"], rss_file_mb=mem["RssFile"])))
"""
)

JOB = (
    TIMERS
    + """t = now()
import torch
torch.set_num_threads({threads})
import steering.experiment.stage_model
from steering.core.models import load_model
t_import = since(t)
t = now()
model, tok = load_model({spec!r}, dtype={dtype!r}, device="cpu")
t_load = since(t)
"""
    + FORWARD
    + """print(json.dumps(dict(imports=t_import, load=t_load, forward=t_fwd,
                      source=model.name_or_path)))
"""
)


def evict(folder: Path) -> None:
    """Drop a folder's files from the page cache (clean pages of files this script wrote)."""
    for path in folder.iterdir():
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def run_child(code: str, env: dict[str, str]) -> dict:
    """Wall and CPU seconds of one fresh process running ``code``, and its inner timings."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=REPO
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"probe failed ({done.returncode}):\n{done.stderr[-3000:]}")
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    return {"process": [wall, cpu], **(json.loads(lines[-1]) if lines else {})}


def copies(model_dir: Path, tmp: Path) -> tuple[Path, Path, Path]:
    """An fp32 copy of the prepared folder, a bf16 copy written by ``save_pretrained``, and a
    cache whose ``models/gemma-3-270m`` links to ``model_dir`` (the cut writes its copy there)."""
    import torch
    from transformers import AutoModelForCausalLM

    fp32 = tmp / "fp32"
    shutil.copytree(model_dir, fp32)
    bf16 = tmp / "bf16"
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.bfloat16)
    model.save_pretrained(bf16)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy2(model_dir / name, bf16 / name)
    cache = tmp / "cache"
    (cache / "models").mkdir(parents=True)
    (cache / "models" / "gemma-3-270m").symlink_to(model_dir.resolve())
    return fp32, bf16, cache


def probes(model_dir: Path, fp32: Path, bf16: Path, threads: int) -> dict[str, tuple]:
    """Name -> (child code, folder to evict from the page cache first, or None)."""
    common = {"threads": threads, "prompts": PROMPTS}

    def load(folder: Path, dtype: str) -> str:
        return LOAD.format(folder=str(folder), dtype=dtype, **common)

    def job(spec: str, dtype: str) -> str:
        return JOB.format(spec=spec, dtype=dtype, **common)

    return {
        "python -c pass": ("pass", None),
        "import torch": ("import torch", None),
        "import transformers (+torch)": (
            "import torch\nfrom transformers import AutoModelForCausalLM, AutoTokenizer",
            None,
        ),
        "import steering.experiment.stage_model": ("import steering.experiment.stage_model", None),
        "fp32 folder as fp32 (warm)": (load(model_dir, "float32"), None),
        "fp32 folder as bf16: load + cast (warm)": (load(model_dir, "bfloat16"), None),
        "bf16 copy as bf16 (warm)": (load(bf16, "bfloat16"), None),
        "fp32 copy as fp32 (cold)": (load(fp32, "float32"), fp32),
        "fp32 copy as bf16 (cold)": (load(fp32, "bfloat16"), fp32),
        "bf16 copy as bf16 (cold)": (load(bf16, "bfloat16"), bf16),
        "job: load_model('gemma-3-270m', fp32)": (job("gemma-3-270m", "float32"), None),
        "job: load_model(fp32 folder, bf16): cast, as before the cut": (
            job(str(model_dir), "bfloat16"),
            None,
        ),
        "job: load_model('gemma-3-270m', bf16): its bf16 copy (the cut)": (
            job("gemma-3-270m", "bfloat16"),
            None,
        ),
    }


def median(runs: list[dict]) -> dict:
    """Median of each timing (wall and CPU separately) over the runs; other fields as run 0's."""
    out = {}
    for key, value in runs[0].items():
        if isinstance(value, list):
            out[key] = [statistics.median(r[key][i] for r in runs) for i in range(len(value))]
        elif isinstance(value, (int, float)):
            out[key] = statistics.median(r[key] for r in runs)
        else:
            out[key] = value
    return out


def measure(table: dict[str, tuple], repeats: int, env: dict[str, str]) -> dict[str, dict]:
    runs: dict[str, list[dict]] = {name: [] for name in table}
    for rep in range(repeats):
        for name, (code, cold) in table.items():
            if cold is not None:
                evict(cold)
            runs[name].append(run_child(code, env))
            wall, cpu = runs[name][-1]["process"]
            print(f"  repeat {rep}: {name}: {wall:.2f} s wall, {cpu:.2f} s CPU", flush=True)
    return {name: median(rs) for name, rs in runs.items()}


def cell(pair: list[float] | None) -> str:
    return "" if pair is None else f"{pair[0]:.2f} / {pair[1]:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch threads per child")
    parser.add_argument(
        "--model-dir",
        type=Path,
        default=Path(os.environ.get("STEERING_CACHE", Path.home() / ".cache/steering"))
        / "models/gemma-3-270m",
    )
    args = parser.parse_args()
    if args.repeats < 3:
        raise SystemExit(f"--repeats {args.repeats}: medians need at least 3")
    if not (args.model_dir / "model.safetensors").is_file():
        raise SystemExit(f"{args.model_dir}/model.safetensors does not exist; run prepare_model")
    with tempfile.TemporaryDirectory(prefix="b12-") as tmp:
        fp32, bf16, cache = copies(args.model_dir, Path(tmp))
        env = {
            **os.environ,
            "STEERING_CACHE": str(cache),
            "OMP_NUM_THREADS": str(args.threads),
            "TQDM_DISABLE": "1",
            "TRANSFORMERS_VERBOSITY": "error",
        }
        table = probes(args.model_dir, fp32, bf16, args.threads)
        first = run_child(
            table["job: load_model('gemma-3-270m', bf16): its bf16 copy (the cut)"][0], env
        )
        m = measure(table, args.repeats, env)
        sizes = {p: (p / "model.safetensors").stat().st_size / 1e9 for p in (fp32, bf16)}
    base = m["python -c pass"]["process"][0]
    lines = [
        f"- {args.repeats} interleaved repeats, medians; each probe a fresh `python -c` process "
        f"with {args.threads} torch thread(s); model {args.model_dir} (model.safetensors "
        f"{sizes[fp32]:.2f} GB fp32; its bf16 copy by `save_pretrained` {sizes[bf16]:.2f} GB); "
        "'warm' = files in the page cache, 'cold' = the temp copy's files evicted with "
        "posix_fadvise first; cells are wall s / CPU s",
        f"- once before the repeats, the first bf16 job wrote the cut's copy: "
        f"{cell(first['process'])} (process), load_model {cell(first['load'])}",
        "",
        "| probe | process | wall over `pass` | imports | load | tokenizer | first forward "
        "| RssAnon MB | RssFile MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in m.items():
        rss = [r.get("rss_anon_mb"), r.get("rss_file_mb")]
        lines.append(
            f"| {name} | {cell(r['process'])} | {r['process'][0] - base:.2f} "
            f"| {cell(r.get('imports'))} | {cell(r.get('load'))} | {cell(r.get('tokenizer'))} "
            f"| {cell(r.get('forward'))} | "
            + " | ".join("" if v is None else f"{v:.0f}" for v in rss)
            + " |"
        )
    cut = m["job: load_model('gemma-3-270m', bf16): its bf16 copy (the cut)"]
    lines += ["", f"- the cut's job read its weights from {cut['source']}"]
    record("B12 job start-up, component by component (bench/b12_startup.py)", lines)


if __name__ == "__main__":
    main()
