"""Stage 3: fit one method's vectors at one scale (first `scale` examples per concept)."""

from pathlib import Path

import numpy as np

from steering.core.models import load_model, model_identity
from steering.experiment.config import load_prompts
from steering.experiment.stage import output_metadata, setup_logging, stage_device
from steering.fit.calibration import CalibrationSettings
from steering.fit.steerer import ManifoldSteerer
from steering.fit.vectors import SteeringVector, load_vectors, save_vectors
from steering.io import load_npz, read_json


def random_control(primary: Path, seed: int, identity: dict) -> None:
    """Random unit directions with the primary vectors' norms: the chance-level control."""
    vectors, meta = load_vectors(primary, expect_model=identity["model_id"])
    rng = np.random.default_rng(seed)
    control = {}
    for name in sorted(vectors):
        direction = rng.standard_normal(vectors[name].direction.shape[0])
        direction = (direction / np.linalg.norm(direction)).astype(np.float32)
        control[name] = SteeringVector(name, direction, vectors[name].scale,
                                       vectors[name].raw_norm, "random",
                                       {"note": f"random direction, seed {seed}"})
    return control, {**meta, "method": "random", "control_of": meta["method"]}


def main(smk) -> None:
    log = setup_logging(smk.log[0])
    p = smk.params
    method, scale = smk.wildcards.method, int(smk.wildcards.scale)
    device = stage_device(smk.resources.get("gpu", 0), smk.threads)
    out = Path(smk.output.meta).with_suffix("")
    model, tokenizer = load_model(p.model["name"], dtype=p.model["dtype"], device=device,
                                  trust_remote_code=p.model["trust_remote_code"],
                                  revision=p.model["revision"])
    if method == "random":
        primary = Path(smk.input.primary).with_suffix("")
        vectors, meta = random_control(primary, p.seed + scale, model_identity(model))
        save_vectors(out, vectors, {**meta, "metadata": output_metadata(dict(p))})
        return
    arrays = load_npz(smk.input.activations)
    acts_meta = read_json(Path(smk.input.activations).with_suffix(".json"))
    concepts = [k.removeprefix("examples__") for k in arrays if k.startswith("examples__")]
    concept_acts = {c: arrays[f"examples__{c}"][:scale] for c in concepts if c != "neutral"}
    fit = p.fit
    calibration = CalibrationSettings(
        mode=p.calibration["mode"], multiples=tuple(p.calibration["multiples"]),
        fixed_multiple=p.calibration["fixed_multiple"], n_prompts=p.calibration["n_prompts"],
        max_new_tokens=p.calibration["max_new_tokens"], rule=p.coherence["rule"],
        ratio=p.calibration["ratio"], distinct_ratio=p.coherence["distinct_ratio"],
        first_k=p.coherence["first_k"], min_coherent=p.calibration["min_coherent"])
    steerer = ManifoldSteerer(
        model, tokenizer, p.model["layer"], method, layer_template=p.model["layer_template"],
        contamination_rank=fit["contamination_rank"],
        contamination_energy=fit["contamination_energy"], manifold_energy=fit["manifold_energy"],
        manifold_max_rank=fit["manifold_max_rank"], manifold_tokens=fit["manifold_tokens"],
        min_manifold_samples=fit["min_manifold_samples"], pooling=fit["pooling"],
        batch_size=fit["batch_size"], calibration=calibration)
    report = steerer.fit_from_activations(
        concept_acts, arrays["examples__neutral"][:scale], arrays["manifold"],
        load_prompts(smk.input.prompts), scale=scale,
        examples_sha256={"activations": acts_meta["metadata"]["config_hash"]})
    log.info("Fit %s at scale %d in %.1f s, peak %.0f MB (%s); ranks: contamination %s, "
             "manifold %s; warnings: %s", method, scale, report.fit_seconds,
             report.peak_memory_mb, report.memory_kind, report.contamination_rank,
             report.manifold_rank, report.warnings or "none")
    steerer.metadata["metadata"] = output_metadata(dict(p))
    steerer.save(out)


main(snakemake)  # noqa: F821
