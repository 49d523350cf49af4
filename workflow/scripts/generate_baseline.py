"""Stage 4a: the unsteered continuation of every prompt (strength 0), generated once."""

import pandas as pd

from steering.core.generation import generate
from steering.core.models import model_identity
from steering.experiment.inputs import load_prompts
from steering.experiment.settings import GenerationSettings, from_section
from steering.experiment.stage import Stage, run_stage
from steering.experiment.stage_model import stage_model
from steering.io import write_parquet


def main(stage: Stage) -> None:
    prompts = load_prompts(stage.input.prompts)
    model, tokenizer = stage_model(stage)
    options = from_section(GenerationSettings, stage.params.generation).generate_kwargs()
    outputs = generate(model, tokenizer, prompts, seed=stage.params.seed, **options)
    frame = pd.DataFrame({
        "output_id": [f"baseline:p{i}" for i in range(len(prompts))],
        "method": "baseline", "n_examples": 0, "concept": "",
        "prompt_id": range(len(prompts)), "prompt": prompts, "strength": 0.0,
        "text": [o.text for o in outputs],
        "prompt_ids": [list(o.prompt_ids) for o in outputs],
        "token_ids": [list(o.token_ids) for o in outputs],
    })
    write_parquet(stage.output[0], frame, stage.metadata(**model_identity(model)))


if "snakemake" not in globals():  # run by hand, for debugging
    from _helpers import mock_snakemake

    snakemake = mock_snakemake("generate_baseline")
run_stage(main, snakemake)  # noqa: F821
