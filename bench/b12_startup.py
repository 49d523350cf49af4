"""B12 start-up: what a workflow job pays before its work, component by component.

Every workflow job is its own Python process that imports torch, transformers and steering and
loads the model. This measures each component in a fresh subprocess, the probes interleaved
(probe 1, 2, ..., then again), and reports medians: (a) the interpreter and the imports;
(b) loading gemma-3-270m from the prepared fp32 folder as fp32, the same folder as bf16 (load +
cast, what ``dtype: auto`` does on a GPU), and a bf16 copy as bf16, each with the page cache
warm and, for copies this script owns, cold (evicted with ``posix_fadvise``); (c) the first
forward pass of a short batch after the load, and a model job's whole start-up through
``steering.core.models.load_model``. It then works out the GPU plan's arithmetic from these
figures (see ``plan``).

    python bench/b12_startup.py [--repeats 3] [--threads 1] [--model-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
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
LOAD = """
import json, time
t = time.perf_counter()
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer
torch.set_num_threads({threads})
t_import = time.perf_counter() - t
def rss():
    f = dict(l.split(":", 1) for l in open("/proc/self/status") if l.startswith("Rss"))
    return {{k: int(v.split()[0]) / 1024 for k, v in f.items()}}
t = time.perf_counter()
model = AutoModelForCausalLM.from_pretrained({folder!r}, dtype=getattr(torch, {dtype!r})).eval()
t_load = time.perf_counter() - t
mem = rss()
t = time.perf_counter()
tok = AutoTokenizer.from_pretrained({folder!r})
t_tok = time.perf_counter() - t
batch = tok({prompts!r}, return_tensors="pt", padding=True)
t = time.perf_counter()
with torch.no_grad():
    model(**batch)
t_fwd = time.perf_counter() - t
print(json.dumps(dict(imports=t_import, load=t_load, tokenizer=t_tok, forward=t_fwd,
                      rss_anon_mb=mem["RssAnon"], rss_file_mb=mem["RssFile"])))
"""

JOB = """
import json, time
t = time.perf_counter()
import torch
torch.set_num_threads({threads})
import steering.experiment.stage_model
from steering.core.models import load_model
t_import = time.perf_counter() - t
t = time.perf_counter()
model, tok = load_model({spec!r}, dtype={dtype!r}, device="cpu")
t_load = time.perf_counter() - t
batch = tok({prompts!r}, return_tensors="pt", padding=True)
t = time.perf_counter()
with torch.no_grad():
    model(**batch)
t_fwd = time.perf_counter() - t
print(json.dumps(dict(imports=t_import, load=t_load, forward=t_fwd)))
"""


def evict(folder: Path) -> None:
    """Drop a folder's files from the page cache (clean pages of files this script wrote)."""
    for path in folder.iterdir():
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def run_child(code: str, env: dict[str, str]) -> dict[str, float]:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=REPO
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"probe failed ({done.returncode}):\n{done.stderr[-3000:]}")
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    return {"wall": wall, **(json.loads(lines[-1]) if lines else {})}


def copies(model_dir: Path, tmp: Path) -> tuple[Path, Path]:
    """An fp32 copy of the prepared folder and a bf16 copy written by ``save_pretrained``."""
    import torch
    from transformers import AutoModelForCausalLM

    fp32 = tmp / "fp32"
    shutil.copytree(model_dir, fp32)
    bf16 = tmp / "bf16"
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.bfloat16)
    model.save_pretrained(bf16)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy2(model_dir / name, bf16 / name)
    return fp32, bf16


def probes(model_dir: Path, fp32: Path, bf16: Path, threads: int) -> dict[str, tuple]:
    """Name -> (child code, folder to evict first or None)."""
    load = {"threads": threads, "prompts": PROMPTS}
    job = {"threads": threads, "prompts": PROMPTS}
    return {
        "python -c pass": ("pass", None),
        "import torch": ("import torch", None),
        "import transformers (+torch)": (
            "import torch\nfrom transformers import AutoModelForCausalLM, AutoTokenizer",
            None,
        ),
        "import steering.experiment.stage_model": ("import steering.experiment.stage_model", None),
        "fp32 folder as fp32 (warm)": (
            LOAD.format(folder=str(model_dir), dtype="float32", **load),
            None,
        ),
        "fp32 folder as bf16: load + cast (warm)": (
            LOAD.format(folder=str(model_dir), dtype="bfloat16", **load),
            None,
        ),
        "bf16 copy as bf16 (warm)": (LOAD.format(folder=str(bf16), dtype="bfloat16", **load), None),
        "fp32 copy as fp32 (cold)": (LOAD.format(folder=str(fp32), dtype="float32", **load), fp32),
        "fp32 copy as bf16 (cold)": (LOAD.format(folder=str(fp32), dtype="bfloat16", **load), fp32),
        "bf16 copy as bf16 (cold)": (LOAD.format(folder=str(bf16), dtype="bfloat16", **load), bf16),
        "job: load_model('gemma-3-270m', fp32)": (
            JOB.format(spec="gemma-3-270m", dtype="float32", **job),
            None,
        ),
        "job: load_model('gemma-3-270m', bf16)": (
            JOB.format(spec="gemma-3-270m", dtype="bfloat16", **job),
            None,
        ),
        "job: load_model(bf16 copy, bf16)": (
            JOB.format(spec=str(bf16), dtype="bfloat16", **job),
            None,
        ),
    }


def measure(table: dict[str, tuple], repeats: int, env: dict[str, str]) -> dict[str, dict]:
    runs: dict[str, list[dict]] = {name: [] for name in table}
    for rep in range(repeats):
        for name, (code, cold) in table.items():
            if cold is not None:
                evict(cold)
            runs[name].append(run_child(code, env))
            print(f"  repeat {rep}: {name}: {runs[name][-1]['wall']:.2f} s", flush=True)
    return {
        name: {key: statistics.median(r[key] for r in rs) for key in rs[0]}
        for name, rs in runs.items()
    }


def fmt(value: float | None, digits: int = 2) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def plan(m: dict[str, dict], fp32_gb: float, bf16_gb: float) -> list[str]:
    """The GPU plan's arithmetic from the figures measured here (see BENCHMARKS.md)."""
    cast = m["fp32 folder as bf16: load + cast (warm)"]["load"]
    direct = m["bf16 copy as bf16 (warm)"]["load"]
    cold = m["bf16 copy as bf16 (cold)"]
    cold_fp32 = m["fp32 copy as fp32 (cold)"]
    disk = fp32_gb / max(cold_fp32["load"] + cold_fp32["forward"], 1e-9)
    imports = m["import steering.experiment.stage_model"]["wall"]
    return [
        f"- fp32 -> bf16 cast while loading: {cast - direct:+.2f} s for {fp32_gb:.2f} GB "
        f"(warm cache), {fp32_gb / max(cast - direct, 1e-9):.1f} GB/s of fp32 on this CPU",
        f"- cold read of the fp32 copy here (load + first forward, which faults the mmap in): "
        f"~{disk:.2f} GB/s; bf16 copy cold: {cold['load']:.2f} s load + {cold['forward']:.2f} s "
        f"first forward ({bf16_gb:.2f} GB)",
        f"- imports of a model stage: {imports:.2f} s",
    ]


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
    env = {
        **os.environ,
        "OMP_NUM_THREADS": str(args.threads),
        "TQDM_DISABLE": "1",
        "TRANSFORMERS_VERBOSITY": "error",
    }
    with tempfile.TemporaryDirectory(prefix="b12-") as tmp:
        fp32, bf16 = copies(args.model_dir, Path(tmp))
        fp32_gb = (fp32 / "model.safetensors").stat().st_size / 1e9
        bf16_gb = (bf16 / "model.safetensors").stat().st_size / 1e9
        m = measure(probes(args.model_dir, fp32, bf16, args.threads), args.repeats, env)
    base = m["python -c pass"]["wall"]
    lines = [
        f"- {args.repeats} interleaved repeats, medians; each probe a fresh `python -c` process "
        f"with {args.threads} torch thread(s); model folder {args.model_dir} "
        f"(model.safetensors {fp32_gb:.2f} GB fp32; bf16 copy {bf16_gb:.2f} GB); "
        "'cold' = the copy's files evicted from the page cache with posix_fadvise first",
        "",
        "| probe | process wall s | over `pass` s | imports s | load s | tokenizer s "
        "| first forward s | RssAnon MB | RssFile MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in m.items():
        lines.append(
            f"| {name} | {r['wall']:.2f} | {r['wall'] - base:.2f} | {fmt(r.get('imports'))} "
            f"| {fmt(r.get('load'))} | {fmt(r.get('tokenizer'))} | {fmt(r.get('forward'))} "
            f"| {fmt(r.get('rss_anon_mb'), 0)} | {fmt(r.get('rss_file_mb'), 0)} |"
        )
    lines += ["", *plan(m, fp32_gb, bf16_gb)]
    record("B12 job start-up, component by component (bench/b12_startup.py)", lines)


if __name__ == "__main__":
    main()
