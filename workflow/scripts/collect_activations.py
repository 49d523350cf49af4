"""Stage 2: activations of every example (largest scale) and of the task-manifold tokens."""

from steering.core.activations import collect_activations
from steering.core.models import load_model, model_identity
from steering.experiment.config import load_examples, load_prompts
from steering.experiment.stage import output_metadata, setup_logging, stage_device
from steering.fit.steerer import ManifoldSteerer
from steering.io import save_npz, write_json
from steering.provenance import hash_texts


def main(smk) -> None:
    log = setup_logging(smk.log[0])
    p = smk.params
    device = stage_device(smk.resources.get("gpu", 0), smk.threads)
    concepts_dir = str(smk.input.examples[0]).rsplit("/", 1)[0]
    examples, neutral = load_examples(concepts_dir, p.concepts, p.n_examples)
    prompts = load_prompts(smk.input.prompts)
    model, tokenizer = load_model(p.model["name"], dtype=p.model["dtype"], device=device,
                                  trust_remote_code=p.model["trust_remote_code"],
                                  revision=p.model["revision"])
    options = {"pooling": p.pooling, "batch_size": p.batch_size,
               "max_length": p.max_prompt_tokens, "on_long": p.on_long,
               "layer_template": p.model["layer_template"]}
    arrays = {}
    for name, texts in [*examples.items(), ("neutral", neutral)]:
        log.info("Collecting %d examples of %s", len(texts), name)
        arrays[f"examples__{name}"] = collect_activations(model, tokenizer, texts,
                                                          p.model["layer"], **options)
    steerer = ManifoldSteerer(model, tokenizer, p.model["layer"],
                              layer_template=p.model["layer_template"],
                              manifold_tokens=p.manifold_tokens, batch_size=p.batch_size)
    arrays["manifold"] = steerer.manifold_activations(prompts)
    log.info("Task manifold: %d token activations from %d prompts", len(arrays["manifold"]),
             len(prompts))
    save_npz(smk.output.npz, arrays)
    write_json(smk.output.meta, {
        **model_identity(model), "layer": steerer.layer,
        "dtype": str(model.dtype).removeprefix("torch."),
        "counts": {k: int(v.shape[0]) for k, v in arrays.items()},
        "examples_sha256": {k: hash_texts(v) for k, v in [*examples.items(),
                                                            ("neutral", neutral)]},
        "prompts_sha256": hash_texts(prompts),
        "metadata": output_metadata(dict(p)),
    })


main(snakemake)  # noqa: F821
