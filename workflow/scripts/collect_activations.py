"""Stage 2: activations of every example (whole pools) and of the task-manifold tokens."""

from pathlib import Path

from steering.core.activations import collect_activations, example_key
from steering.core.models import model_identity
from steering.experiment.inputs import load_examples, load_prompts
from steering.experiment.stage import Stage, run_stage
from steering.experiment.stage_model import model_settings, stage_model
from steering.fit.steerer import ManifoldSteerer
from steering.io import save_npz, write_json
from steering.provenance import hash_texts


def main(stage: Stage) -> None:
    p, spec = stage.params, model_settings(stage)
    # The whole pool of each file (row i of an array is line i, 0-based); the workflow
    # checked at parse time that every pool holds max(n_examples) + held-out examples.
    examples, neutral = load_examples(Path(stage.input.examples[0]).parent, p.concepts, 1)
    texts = {**examples, "neutral": neutral}
    prompts = load_prompts(stage.input.prompts)
    model, tokenizer = stage_model(stage)
    arrays = {}
    for name, lines in texts.items():
        stage.log.info("Collecting the pool of %d examples of %s", len(lines), name)
        arrays[example_key(name)] = collect_activations(
            model, tokenizer, lines, spec.layer, pooling=p.pooling, batch_size=p.batch_size,
            max_length=p.max_prompt_tokens, on_long=p.on_long,
            layer_template=spec.layer_template)
    steerer = ManifoldSteerer(model, tokenizer, spec.layer, layer_template=spec.layer_template,
                              manifold_tokens=p.manifold_tokens, batch_size=p.batch_size)
    arrays["manifold"] = steerer.manifold_activations(prompts)
    stage.log.info("Task manifold: %d token activations", len(arrays["manifold"]))
    save_npz(stage.output.npz, arrays)
    write_json(stage.output.meta, {
        **model_identity(model), "layer": steerer.layer,
        "dtype": str(model.dtype).removeprefix("torch."),
        "counts": {k: int(v.shape[0]) for k, v in arrays.items()},
        "pool_sizes": {k: len(v) for k, v in texts.items()},
        "rows": "row i of examples__<name> is line i (0-based) of <concepts_dir>/<name>.txt; "
                "held-out lines: steering.evaluation.resampling.held_out_split(pool size, "
                "data.held_out_examples, concept_seed(seed, name))",
        "examples_sha256": {k: hash_texts(v) for k, v in texts.items()},
        "prompts_sha256": hash_texts(prompts), "metadata": stage.metadata(),
    })


if "snakemake" not in globals():  # run by hand, for debugging
    from _helpers import mock_snakemake

    snakemake = mock_snakemake("collect_activations")
run_stage(main, snakemake)  # noqa: F821
