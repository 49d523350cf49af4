"""Stage 5: perplexity of each continuation under the unsteered model, and distinct-2."""

import pandas as pd

from steering.core.model_store import dtype_name
from steering.core.models import model_identity, resolve_reading_dtype
from steering.evaluation.coherence import distinct_n
from steering.evaluation.perplexity import continuation_perplexity
from steering.experiment.stage import Stage, run_stage
from steering.experiment.stage_model import stage_model
from steering.io import read_parquet, write_parquet


def main(stage: Stage) -> None:
    p = stage.params
    generations = read_parquet(stage.input.generations)
    # Scoring only reads: "auto" is bf16 where the hardware runs it natively (B11).
    model, tokenizer = stage_model(stage, resolve_reading_dtype(p.dtype, stage.device))
    results = continuation_perplexity(
        model, [list(x) for x in generations.prompt_ids],
        [list(x) for x in generations.token_ids], pad_token_id=tokenizer.pad_token_id,
        first_k=p.first_k, batch_size=p.batch_size)
    frame = pd.DataFrame({
        "output_id": generations.output_id,
        "perplexity": [r.perplexity for r in results],
        "ppl_first_k": [r.ppl_first_k for r in results],
        "n_tokens": [r.n_tokens for r in results],
        "distinct2": [distinct_n(t, 2) for t in generations.text],
    })
    write_parquet(stage.output[0], frame, stage.metadata(
        **model_identity(model), dtype=dtype_name(model.dtype)))


if "snakemake" not in globals():  # run by hand, for debugging
    from _helpers import mock_snakemake

    snakemake = mock_snakemake("score_perplexity", name="baseline")
run_stage(main, snakemake)  # noqa: F821
