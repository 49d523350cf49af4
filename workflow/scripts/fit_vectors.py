"""Stage 3: fit one method's vectors at n examples per concept, on every resample's subset."""

from pathlib import Path

from steering.core.activations import example_key, example_names
from steering.core.models import model_identity
from steering.experiment.inputs import load_prompts
from steering.experiment.settings import FitSettings, from_section
from steering.experiment.stage import Stage, run_stage
from steering.experiment.stage_model import model_settings, stage_model
from steering.fit.calibration import CalibrationSettings
from steering.fit.resampled_fit import (
    CALIBRATION_SCHEME,
    fit_resamples,
    random_controls,
    resample_subsets,
    resampled_metadata,
)
from steering.fit.steerer import ManifoldSteerer
from steering.fit.vector_files import load_resampled_vectors, save_vectors
from steering.io import load_npz, read_json


def calibration_settings(calibration: dict, coherence: dict) -> CalibrationSettings:
    """Every calibration value from the validated config (no library default is used)."""
    return CalibrationSettings(
        mode=calibration["mode"], multiples=tuple(calibration["multiples"]),
        fixed_multiple=calibration["fixed_multiple"], n_prompts=calibration["n_prompts"],
        max_new_tokens=calibration["max_new_tokens"], rule=coherence["rule"],
        ratio=calibration["ratio"], distinct_ratio=coherence["distinct_ratio"],
        first_k=coherence["first_k"], min_coherent=calibration["min_coherent"])


def main(stage: Stage) -> None:
    p, spec = stage.params, model_settings(stage)
    method, n = stage.wildcards.method, int(stage.wildcards.n)
    out = Path(stage.output.meta).with_suffix("")
    model, tokenizer = stage_model(stage)
    if method == "random":  # per resample: random directions with the primary's norms
        primary, meta = load_resampled_vectors(Path(stage.input.primary).with_suffix(""),
                                               expect_model=model_identity(model)["model_id"])
        # "method" stays the primary's (the steerer applies these like its vectors);
        # each vector's own method is "random".
        save_vectors(out, random_controls(primary, p.seed + n), {
            **meta, "control": "random", "metadata": stage.metadata()})
        return
    arrays = load_npz(stage.input.activations)
    acts_meta = read_json(Path(stage.input.activations).with_suffix(".json"))
    names = example_names(arrays)
    concepts = [c for c in names if c != "neutral"]
    # A resample's subsets do not depend on the other scales (each is the first n of one
    # seeded order of the pool), so they are nested across jobs and adding a scale refits
    # nothing else.
    subsets = resample_subsets({c: len(arrays[example_key(c)]) for c in names}, [n],
                               p.resamples, p.seed, p.held_out)
    steerer = ManifoldSteerer(model, tokenizer, spec.layer, method,
                              layer_template=spec.layer_template,
                              calibration=calibration_settings(p.calibration, p.coherence),
                              **vars(from_section(FitSettings, p.fit)))
    stage.log.info("Fitting %s at n=%d on %d resamples (%s)", method, n, p.resamples,
                   CALIBRATION_SCHEME)
    fit = fit_resamples(
        steerer, {c: arrays[example_key(c)] for c in concepts}, arrays[example_key("neutral")],
        arrays["manifold"], load_prompts(stage.input.calibration_prompts), n=n,
        subsets=subsets, resamples=p.resamples,
        examples_sha256={"activations": acts_meta["metadata"]["config_hash"]})
    for r, report in enumerate(fit.reports):
        stage.log.info("Resample %d: lines %s; %s", r,
                       {k: v[r] for k, v in fit.subsets.items()}, report.as_dict())
    save_vectors(out, fit.vectors, {
        **resampled_metadata(fit, steerer.metadata, seed=p.seed, held_out=p.held_out),
        "metadata": stage.metadata()})


if "snakemake" not in globals():  # run by hand, for debugging
    from _helpers import mock_snakemake

    snakemake = mock_snakemake("fit_vectors", method="dual", n="2")
run_stage(main, snakemake)  # noqa: F821
