"""Stage 4b: every resample x concept x prompt x non-zero strength of one method and n, batched."""

from pathlib import Path

import pandas as pd

from steering.core.models import model_identity
from steering.experiment.inputs import load_prompts
from steering.experiment.settings import GenerationSettings, from_section
from steering.experiment.stage import Stage, run_stage
from steering.experiment.stage_model import model_settings, stage_model
from steering.fit.steerer import ManifoldSteerer
from steering.fit.vector_files import tensor_name
from steering.io import write_parquet


def main(stage: Stage) -> None:
    p, spec = stage.params, model_settings(stage)
    method, n = stage.wildcards.method, int(stage.wildcards.n)
    prompts = load_prompts(stage.input.prompts)
    model, tokenizer = stage_model(stage)
    # Every resample's vectors at once (keyed r<r>/<concept>): one batched generation.
    steerer = ManifoldSteerer.load(Path(stage.input.meta).with_suffix(""), model, tokenizer,
                                   expect_layer=spec.layer, layer_template=spec.layer_template,
                                   resample=None)
    resamples = int(steerer.metadata["n_resamples"])
    concepts = sorted(steerer.metadata["resamples"][0])
    options = from_section(GenerationSettings, p.generation).generate_kwargs()
    rows = [(r, c, i, s) for r in range(resamples) for c in concepts
            for i in range(len(prompts)) for s in p.strengths]
    stage.log.info("Generating %d rows (%d resamples x %d concepts x %d prompts x %d strengths)",
                   len(rows), resamples, len(concepts), len(prompts), len(p.strengths))
    outputs = steerer.generate_rows([prompts[i] for _, _, i, _ in rows],
                                    [tensor_name(r, c) for r, c, _, _ in rows],
                                    [s for *_, s in rows], seed=p.seed, **options)
    frame = pd.DataFrame({
        "output_id": [f"{method}:s{n}:r{r}:{c}:p{i}:{s:+g}" for r, c, i, s in rows],
        "method": method, "n_examples": n, "resample": [r for r, *_ in rows],
        "concept": [c for _, c, _, _ in rows],
        "prompt_id": [i for _, _, i, _ in rows], "prompt": [prompts[i] for _, _, i, _ in rows],
        "strength": [float(s) for *_, s in rows], "text": [o.text for o in outputs],
        "prompt_ids": [list(o.prompt_ids) for o in outputs],
        "token_ids": [list(o.token_ids) for o in outputs],
    })
    write_parquet(stage.output[0], frame, stage.metadata(
        **model_identity(model), vectors_sha256=steerer.metadata.get("tensors_sha256")))


if "snakemake" not in globals():  # run by hand, for debugging
    from _helpers import mock_snakemake

    snakemake = mock_snakemake("generate_steered", method="dual", n="2")
run_stage(main, snakemake)  # noqa: F821
