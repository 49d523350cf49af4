"""B7 fit cost vs resamples: ``fit_resamples`` at R = 1, 2, 3, 5 on a finished run's activations.

Used by ``bench/b7_resampled.py --measure``. Loads gemma-3-270m (fp32, CPU), the run's
``activations/activations.npz`` and this project's config.yaml / calibration prompts, then
times ``steering.fit.resampled_fit.fit_resamples`` (the dual method, the config's ``fit:``):

* ``calibration.mode: fixed`` at every (n, R), sizes interleaved round-robin (order reversed on
  odd rounds), medians of the rounds;
* the run's design, ``mode: search`` on resample 0 with its multiples reused by the others, at
  n = 16, R = 1 and 5, one pass (the search costs ~50 s of CPU).
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import torch
import yaml
from threadpoolctl import threadpool_limits

from steering.core.activations import example_key, example_names
from steering.core.models import load_model
from steering.experiment.inputs import load_prompts
from steering.fit.calibration import CalibrationSettings
from steering.fit.resampled_fit import fit_resamples, resample_subsets
from steering.fit.steerer import ManifoldSteerer
from steering.io import load_npz

REPO = Path(__file__).resolve().parents[1]
SIZES = (16, 64)
RESAMPLES = (1, 2, 3, 5)


def _section(config: dict, schema: dict, name: str) -> dict:
    """A config section with the schema's defaults filled in."""
    props = schema["properties"][name]["properties"]
    return {k: config.get(name, {}).get(k, v.get("default")) for k, v in props.items()}


def measure_lines(results: Path, rounds: int, threads: int) -> list[str]:
    """Markdown lines: median seconds of ``fit_resamples`` per (mode, n, R)."""
    torch.set_num_threads(threads)
    threadpool_limits(threads)  # numpy's BLAS too: spinning BLAS threads on a busy machine
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    schema = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
    cal, coh, data = (_section(config, schema, s) for s in ("calibration", "coherence", "data"))
    fit_cfg = _section(config, schema, "fit")
    arrays = load_npz(results / "activations" / "activations.npz")
    names = example_names(arrays)
    concepts = [c for c in names if c != "neutral"]
    prompts = load_prompts(REPO / data["calibration_prompts"])
    subsets = resample_subsets({c: len(arrays[example_key(c)]) for c in names}, list(SIZES),
                               max(RESAMPLES), int(config.get("seed", 0)),
                               int(data["held_out_examples"]))
    model, tokenizer = load_model(config["model"]["name"], dtype="float32", device="cpu")

    def settings(mode: str) -> CalibrationSettings:
        return CalibrationSettings(
            mode=mode, multiples=tuple(cal["multiples"]), fixed_multiple=cal["fixed_multiple"],
            n_prompts=cal["n_prompts"], max_new_tokens=cal["max_new_tokens"], rule=coh["rule"],
            ratio=cal["ratio"], distinct_ratio=coh["distinct_ratio"], first_k=coh["first_k"],
            min_coherent=cal["min_coherent"])

    def run(mode: str, n: int, r: int) -> tuple[float, float, float]:
        """(wall s, process CPU s, calibration s summed over the resamples) of one call."""
        steerer = ManifoldSteerer(
            model, tokenizer, int(config["model"]["layer"]), "dual", calibration=settings(mode),
            contamination_rank=fit_cfg["contamination_rank"],
            manifold_energy=fit_cfg["manifold_energy"])
        start, cpu = time.perf_counter(), time.process_time()
        fit = fit_resamples(
            steerer, {c: arrays[example_key(c)] for c in concepts},
            arrays[example_key("neutral")], arrays["manifold"], prompts, n=n,
            subsets=subsets, resamples=r)
        cal_s = sum(rep.as_dict().get("calibration_seconds", 0.0) for rep in fit.reports)
        return time.perf_counter() - start, time.process_time() - cpu, cal_s

    grid = [(n, r) for n in SIZES for r in RESAMPLES]
    run("fixed", SIZES[0], 1)  # warm-up
    timings: dict[tuple[int, int], list[tuple[float, float, float]]] = {g: [] for g in grid}
    for rnd in range(rounds):
        for n, r in grid if rnd % 2 == 0 else grid[::-1]:
            timings[(n, r)].append(run("fixed", n, r))
            print(f"  fixed round {rnd} n={n} R={r}: {timings[(n, r)][-1][0]:.3f} s", flush=True)
    search = {}
    for r in (1, 5):
        search[r] = run("search", 16, r)
        print(f"  search n=16 R={r}: {search[r][0]:.1f} s", flush=True)
    out = [
        f"**Fit cost vs resamples** (`fit_resamples`, dual, {len(concepts)} concepts, the run's "
        f"activations; {threads} torch and BLAS thread(s); `fixed`: medians of {rounds} "
        "interleaved rounds; `search` = the run's design, search on resample 0 reused, one pass)",
        "",
        "| calibration | n | R | wall s | CPU s | calibration s (wall, fit report) | "
        "CPU s per resample |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for n, r in grid:
        wall = statistics.median(t[0] for t in timings[(n, r)])
        cpu = statistics.median(t[1] for t in timings[(n, r)])
        out.append(f"| fixed | {n} | {r} | {wall:.3f} | {cpu:.3f} | 0 | {cpu / r:.3f} |")
    for r, (wall, cpu, cal_s) in search.items():
        out.append(f"| search on r0, reused | 16 | {r} | {wall:.1f} | {cpu:.1f} | {cal_s:.1f} | "
                   f"{cpu / r:.2f} |")
    grow = {n: (statistics.median(t[1] for t in timings[(n, 5)])
                - statistics.median(t[1] for t in timings[(n, 1)])) / 4 for n in SIZES}
    out += ["", "- fixed: added CPU s per extra resample (R 1 -> 5, / 4): "
            + ", ".join(f"n = {n}: {g:.3f}" for n, g in grow.items())
            + f"; search reused: R = 5 costs {search[5][1] - search[1][1]:+.1f} CPU s vs R = 1 "
            f"(calibration {search[1][2]:.1f} s vs {search[5][2]:.1f} s: paid once)"]
    return out
