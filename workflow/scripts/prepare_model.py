"""Stage 1: make the model loadable offline (embedded GGUF -> cached HF folder), record it."""

from steering.core.layers import num_layers, resolve_layer
from steering.core.models import load_model, model_identity
from steering.experiment.stage import output_metadata, setup_logging, stage_device
from steering.io import write_json


def main(smk) -> None:
    log = setup_logging(smk.log[0])
    spec = smk.params.model
    device = stage_device(smk.resources.get("gpu", 0), smk.threads)
    model, tokenizer = load_model(spec["name"], dtype=spec["dtype"], device=device,
                                  trust_remote_code=spec["trust_remote_code"],
                                  revision=spec["revision"])
    layer = resolve_layer(model, spec["layer"], spec["layer_template"])
    if smk.params.judge_model and smk.params.judge_model != spec["name"]:
        load_model(smk.params.judge_model, device="cpu")  # convert/cache the judge too
    info = {
        **model_identity(model),
        "class": type(model).__name__,
        "dtype": str(model.dtype).removeprefix("torch."),
        "device": device,
        "n_layers": num_layers(model, spec["layer_template"]),
        "layer": layer,
        "hidden_size": int(model.get_input_embeddings().weight.shape[1]),
        "metadata": output_metadata(smk.params.model),
    }
    log.info("Model ready: %s", info)
    write_json(smk.output[0], info)


main(snakemake)  # noqa: F821
