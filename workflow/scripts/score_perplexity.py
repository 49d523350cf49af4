"""Stage 5: perplexity of each continuation under the unsteered model, and distinct-2."""

import pandas as pd

from steering.core.models import load_model, model_identity
from steering.evaluation.coherence import distinct_n
from steering.evaluation.perplexity import continuation_perplexity
from steering.experiment.stage import output_metadata, setup_logging, stage_device
from steering.io import read_parquet, write_parquet


def main(smk) -> None:
    setup_logging(smk.log[0])
    p = smk.params
    device = stage_device(smk.resources.get("gpu", 0), smk.threads)
    generations = read_parquet(smk.input.generations)
    model, tokenizer = load_model(p.model["name"], dtype=p.model["dtype"], device=device,
                                  trust_remote_code=p.model["trust_remote_code"],
                                  revision=p.model["revision"])
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
    write_parquet(smk.output[0], frame, output_metadata(dict(p), **model_identity(model)))


main(snakemake)  # noqa: F821
