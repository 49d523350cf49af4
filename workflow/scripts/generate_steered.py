"""Stage 4b: every concept x prompt x non-zero strength of one method and scale, batched."""

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from steering.core.generation import generate
from steering.core.layers import resolve_layer
from steering.core.models import load_model, model_identity
from steering.experiment.config import load_prompts
from steering.experiment.stage import output_metadata, setup_logging, stage_device
from steering.fit.vectors import load_vectors
from steering.io import write_parquet


def main(smk) -> None:
    log = setup_logging(smk.log[0])
    p = smk.params
    g = p.generation
    method, scale = smk.wildcards.method, int(smk.wildcards.scale)
    device = stage_device(smk.resources.get("gpu", 0), smk.threads)
    prompts = load_prompts(smk.input.prompts)
    model, tokenizer = load_model(p.model["name"], dtype=p.model["dtype"], device=device,
                                  trust_remote_code=p.model["trust_remote_code"],
                                  revision=p.model["revision"])
    layer = resolve_layer(model, p.model["layer"], p.model["layer_template"])
    vectors, meta = load_vectors(Path(smk.input.meta).with_suffix(""),
                                 expect_model=model_identity(model)["model_id"],
                                 expect_layer=layer)
    rows = [(c, i, s) for c in sorted(vectors) for i in range(len(prompts)) for s in p.strengths]
    log.info("Generating %d rows (%d concepts x %d prompts x %d strengths)", len(rows),
             len(vectors), len(prompts), len(p.strengths))
    directions = torch.from_numpy(np.stack([vectors[c].added_vector(1.0) for c, _, _ in rows]))
    outputs = generate(model, tokenizer, [prompts[i] for _, i, _ in rows], layer=layer,
                       direction=directions, strengths=[s for _, _, s in rows],
                       max_new_tokens=g["max_new_tokens"], batch_size=g["batch_size"],
                       do_sample=g["do_sample"], temperature=g["temperature"], top_p=g["top_p"],
                       seed=p.seed, max_prompt_tokens=g["max_prompt_tokens"],
                       on_long=g["on_long"], layer_template=p.model["layer_template"])
    frame = pd.DataFrame({
        "output_id": [f"{method}:s{scale}:{c}:p{i}:{s:+g}" for c, i, s in rows],
        "method": method, "scale": scale, "concept": [c for c, _, _ in rows],
        "prompt_id": [i for _, i, _ in rows], "prompt": [prompts[i] for _, i, _ in rows],
        "strength": [float(s) for _, _, s in rows], "text": [o.text for o in outputs],
        "prompt_ids": [list(o.prompt_ids) for o in outputs],
        "token_ids": [list(o.token_ids) for o in outputs],
    })
    write_parquet(smk.output[0], frame, output_metadata(
        dict(p), **model_identity(model), vectors_sha256=meta.get("tensors_sha256")))


main(snakemake)  # noqa: F821
