"""Stage 1: make the model loadable offline (embedded GGUF -> cached HF folder, and a copy in
the run's dtype when that is not fp32, so later jobs read it without a cast), record it."""

from steering.core.layers import num_layers, resolve_layer
from steering.core.models import load_model, model_identity
from steering.experiment.stage import Stage, run_stage
from steering.experiment.stage_model import model_settings, stage_model
from steering.io import write_json


def main(stage: Stage) -> None:
    spec = model_settings(stage)
    model, _ = stage_model(stage)
    judge_model = stage.params.judge_model
    if judge_model and judge_model != spec.name:
        load_model(judge_model, device="cpu")  # convert/cache the judge too
    info = {
        **model_identity(model),
        "class": type(model).__name__,
        "dtype": str(model.dtype).removeprefix("torch."),
        "weights_folder": model.name_or_path,  # an embedded model's copy in this dtype, if any
        "device": stage.device,
        "n_layers": num_layers(model, spec.layer_template),
        "layer": resolve_layer(model, spec.layer, spec.layer_template),
        "hidden_size": int(model.get_input_embeddings().weight.shape[1]),
        "metadata": stage.metadata(),
    }
    stage.log.info("Model ready: %s", info)
    write_json(stage.output[0], info)


if "snakemake" not in globals():  # run by hand, for debugging
    from _helpers import mock_snakemake

    snakemake = mock_snakemake("prepare_model")
run_stage(main, snakemake)  # noqa: F821
