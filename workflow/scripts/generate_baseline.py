"""Stage 4a: the unsteered continuation of every prompt (strength 0), generated once."""

import pandas as pd

from steering.core.generation import generate
from steering.core.models import load_model, model_identity
from steering.experiment.config import load_prompts
from steering.experiment.stage import output_metadata, setup_logging, stage_device
from steering.io import write_parquet


def main(smk) -> None:
    setup_logging(smk.log[0])
    p = smk.params
    g = p.generation
    device = stage_device(smk.resources.get("gpu", 0), smk.threads)
    prompts = load_prompts(smk.input.prompts)
    model, tokenizer = load_model(p.model["name"], dtype=p.model["dtype"], device=device,
                                  trust_remote_code=p.model["trust_remote_code"],
                                  revision=p.model["revision"])
    outputs = generate(model, tokenizer, prompts, max_new_tokens=g["max_new_tokens"],
                       batch_size=g["batch_size"], do_sample=g["do_sample"],
                       temperature=g["temperature"], top_p=g["top_p"], seed=p.seed,
                       max_prompt_tokens=g["max_prompt_tokens"], on_long=g["on_long"])
    frame = pd.DataFrame({
        "output_id": [f"baseline:p{i}" for i in range(len(prompts))],
        "method": "baseline", "scale": 0, "concept": "", "prompt_id": range(len(prompts)),
        "prompt": prompts, "strength": 0.0, "text": [o.text for o in outputs],
        "prompt_ids": [list(o.prompt_ids) for o in outputs],
        "token_ids": [list(o.token_ids) for o in outputs],
    })
    write_parquet(smk.output[0], frame,
                  output_metadata(dict(p), **model_identity(model)))


main(snakemake)  # noqa: F821
