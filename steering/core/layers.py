"""Find the decoder blocks of any Hugging Face architecture by name template."""

from __future__ import annotations

import re

from torch import nn

# Paths of the decoder block list, most specific first. `{num}` marks the block index.
LAYER_TEMPLATES: tuple[str, ...] = (
    "model.language_model.layers.{num}",  # Gemma-3 / Llava-style multimodal
    "language_model.model.layers.{num}",
    "model.layers.{num}",  # Llama, Gemma, Qwen2, Mistral, Phi-3 ...
    "transformer.h.{num}",  # GPT-2, GPT-J, Falcon
    "gpt_neox.layers.{num}",  # Pythia
    "model.decoder.layers.{num}",  # OPT
    "transformer.blocks.{num}",  # MPT
)


def _template_regex(template: str) -> re.Pattern[str]:
    return re.compile("^" + re.escape(template).replace(r"\{num\}", r"(\d+)") + "$")


def guess_layer_template(model: nn.Module) -> str:
    """Return the block-path template that matches ``model``'s ``named_modules()``.

    Raises:
        ValueError: No known template matches; the message lists candidate module lists and
            says how to pass ``layer_template`` explicitly.
    """
    names = [name for name, _ in model.named_modules()]
    for template in LAYER_TEMPLATES:
        pattern = _template_regex(template)
        if any(pattern.match(name) for name in names):
            return template
    candidates = sorted(
        name
        for name, module in model.named_modules()
        if isinstance(module, nn.ModuleList) and len(module) > 0
    )
    raise ValueError(
        f"Could not find the decoder layers of {type(model).__name__}: no module matches "
        f"{list(LAYER_TEMPLATES)}. Module lists present: {candidates or 'none'}. Pass "
        "layer_template='<path>.{num}' naming the list of decoder blocks."
    )


def find_layers(model: nn.Module, layer_template: str | None = None) -> list[nn.Module]:
    """Return the decoder blocks in order, using ``layer_template`` or a guessed one."""
    template = layer_template or guess_layer_template(model)
    if "{num}" not in template:
        raise ValueError(
            f"layer_template {template!r} must contain '{{num}}', e.g. 'model.layers.{{num}}'."
        )
    pattern = _template_regex(template)
    found: dict[int, nn.Module] = {}
    for name, module in model.named_modules():
        match = pattern.match(name)
        if match:
            found[int(match.group(1))] = module
    if not found:
        raise ValueError(
            f"layer_template {template!r} matches no module of {type(model).__name__}; "
            "check the path with [n for n, _ in model.named_modules()]."
        )
    return [found[i] for i in sorted(found)]


def resolve_layer(model: nn.Module, layer: int, layer_template: str | None = None) -> int:
    """Turn a possibly negative layer index into a non-negative one, checking its range."""
    count = len(find_layers(model, layer_template))
    if not -count <= layer < count:
        raise ValueError(
            f"layer={layer} is out of range for {type(model).__name__} with {count} layers; "
            f"valid: 0..{count - 1} or -{count}..-1."
        )
    return layer % count


def get_layer(model: nn.Module, layer: int, layer_template: str | None = None) -> nn.Module:
    """Return decoder block ``layer`` (negative indices count from the end)."""
    index = resolve_layer(model, layer, layer_template)
    return find_layers(model, layer_template)[index]


def num_layers(model: nn.Module, layer_template: str | None = None) -> int:
    """Return the number of decoder blocks."""
    return len(find_layers(model, layer_template))
