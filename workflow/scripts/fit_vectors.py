"""Stage 3: fit one method's vectors with the first n examples of each concept."""

from dataclasses import replace
from pathlib import Path

import numpy as np

from steering.core.activations import example_key, example_names
from steering.core.models import model_identity
from steering.experiment.inputs import load_prompts
from steering.experiment.settings import FitSettings, from_section
from steering.experiment.stage import Stage, run_stage
from steering.experiment.stage_model import model_settings, stage_model
from steering.fit.calibration import CalibrationSettings
from steering.fit.steerer import ManifoldSteerer
from steering.fit.vector_files import load_vectors, save_vectors
from steering.io import load_npz, read_json


def calibration_settings(calibration: dict, coherence: dict) -> CalibrationSettings:
    """Every calibration value from the validated config (no library default is used)."""
    return CalibrationSettings(
        mode=calibration["mode"], multiples=tuple(calibration["multiples"]),
        fixed_multiple=calibration["fixed_multiple"], n_prompts=calibration["n_prompts"],
        max_new_tokens=calibration["max_new_tokens"], rule=coherence["rule"],
        ratio=calibration["ratio"], distinct_ratio=coherence["distinct_ratio"],
        first_k=coherence["first_k"], min_coherent=calibration["min_coherent"])


def random_control(vectors: dict, seed: int) -> dict:
    """Random unit directions with the primary vectors' norms: the chance-level control."""
    rng = np.random.default_rng(seed)
    control = {}
    for name in sorted(vectors):
        direction = rng.standard_normal(vectors[name].direction.shape[0])
        control[name] = replace(
            vectors[name], direction=(direction / np.linalg.norm(direction)).astype(np.float32),
            method="random", calibration={"note": f"random direction, seed {seed}"})
    return control


def main(stage: Stage) -> None:
    p, spec = stage.params, model_settings(stage)
    method, n = stage.wildcards.method, int(stage.wildcards.n)
    out = Path(stage.output.meta).with_suffix("")
    model, tokenizer = stage_model(stage)
    if method == "random":
        vectors, meta = load_vectors(Path(stage.input.primary).with_suffix(""),
                                     expect_model=model_identity(model)["model_id"])
        # "method" stays the primary's (the steerer applies these like its vectors);
        # each vector's own method is "random".
        save_vectors(out, random_control(vectors, p.seed + n), {
            **meta, "control": "random", "metadata": stage.metadata()})
        return
    arrays = load_npz(stage.input.activations)
    acts_meta = read_json(Path(stage.input.activations).with_suffix(".json"))
    concepts = [c for c in example_names(arrays) if c != "neutral"]
    steerer = ManifoldSteerer(model, tokenizer, spec.layer, method,
                              layer_template=spec.layer_template,
                              calibration=calibration_settings(p.calibration, p.coherence),
                              **vars(from_section(FitSettings, p.fit)))
    report = steerer.fit_from_activations(
        {c: arrays[example_key(c)][:n] for c in concepts}, arrays[example_key("neutral")][:n],
        arrays["manifold"], load_prompts(stage.input.calibration_prompts), n_examples=n,
        examples_sha256={"activations": acts_meta["metadata"]["config_hash"]})
    stage.log.info("Fit %s with n=%d: %s", method, n, report.as_dict())
    steerer.metadata["metadata"] = stage.metadata()
    steerer.save(out)


if "snakemake" not in globals():  # run by hand, for debugging
    from _helpers import mock_snakemake

    snakemake = mock_snakemake("fit_vectors", method="dual", n="2")
run_stage(main, snakemake)  # noqa: F821
