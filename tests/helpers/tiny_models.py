"""Tiny random-weight decoders built from configs, one per supported architecture family.

The models share the SmolLM2 tokenizer's vocabulary (49152 tokens) so a real tokenizer can
drive them. Weights are seeded; the output embedding is scaled up so the logits are peaked
(random 32-wide models otherwise give near-ties in greedy decoding).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import (
    Gemma3Config,
    Gemma3ForCausalLM,
    Gemma3ForConditionalGeneration,
    Gemma3TextConfig,
    GPT2Config,
    GPT2LMHeadModel,
    LlamaConfig,
    LlamaForCausalLM,
    MistralConfig,
    MistralForCausalLM,
    PreTrainedModel,
    Qwen2Config,
    Qwen2ForCausalLM,
    SiglipVisionConfig,
)

VOCAB = 49152  # SmolLM2 tokenizer
HIDDEN = 32
N_LAYERS = 3
BOS_ID, EOS_ID, PAD_ID = 1, 2, 2  # SmolLM2: <|im_start|>, <|im_end|> (also its pad token)
SEED = 1234
LOGIT_GAIN = 8.0

ARCHS = ("llama", "gemma3", "gemma3-mm", "qwen2", "mistral", "gpt2")
DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}

# Path of the decoder block list of each architecture (what find_layers must find).
BLOCK_PATHS = {
    "llama": "model.layers",
    "gemma3": "model.layers",
    "gemma3-mm": "model.language_model.layers",
    "qwen2": "model.layers",
    "mistral": "model.layers",
    "gpt2": "transformer.h",
}
MODEL_CLASSES = {
    "llama": "LlamaForCausalLM",
    "gemma3": "Gemma3ForCausalLM",
    "gemma3-mm": "Gemma3ForConditionalGeneration",
    "qwen2": "Qwen2ForCausalLM",
    "mistral": "MistralForCausalLM",
    "gpt2": "GPT2LMHeadModel",
}

_DECODER = {
    "vocab_size": VOCAB,
    "hidden_size": HIDDEN,
    "intermediate_size": 2 * HIDDEN,
    "num_hidden_layers": N_LAYERS,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "max_position_embeddings": 256,
    "bos_token_id": BOS_ID,
    "eos_token_id": EOS_ID,
    "pad_token_id": PAD_ID,
    "initializer_range": 0.2,
}


def _gemma3_text_config() -> Gemma3TextConfig:
    return Gemma3TextConfig(**_DECODER, head_dim=8, query_pre_attn_scalar=8, sliding_window=8)


def _build_fp32(arch: str) -> PreTrainedModel:
    if arch == "llama":
        return LlamaForCausalLM(LlamaConfig(**_DECODER))
    if arch == "qwen2":
        return Qwen2ForCausalLM(Qwen2Config(**_DECODER))
    if arch == "mistral":
        return MistralForCausalLM(MistralConfig(**_DECODER, sliding_window=None))
    if arch == "gemma3":
        return Gemma3ForCausalLM(_gemma3_text_config())
    if arch == "gemma3-mm":
        vision = SiglipVisionConfig(
            hidden_size=16,
            intermediate_size=32,
            num_hidden_layers=1,
            num_attention_heads=2,
            image_size=28,
            patch_size=14,
        )
        config = Gemma3Config(
            text_config=_gemma3_text_config().to_dict(),
            vision_config=vision.to_dict(),
            mm_tokens_per_image=4,
            bos_token_id=BOS_ID,
            eos_token_id=EOS_ID,
            pad_token_id=PAD_ID,
            initializer_range=0.2,
        )
        return Gemma3ForConditionalGeneration(config)
    if arch == "gpt2":
        config = GPT2Config(
            vocab_size=VOCAB,
            n_embd=HIDDEN,
            n_layer=N_LAYERS,
            n_head=4,
            n_positions=256,
            bos_token_id=BOS_ID,
            eos_token_id=EOS_ID,
            pad_token_id=PAD_ID,
            initializer_range=0.2,
        )
        return GPT2LMHeadModel(config)
    raise ValueError(f"unknown tiny architecture {arch!r}; known: {ARCHS}")


@dataclass(frozen=True)
class TinyModel:
    """A tiny model and what the tests need to know about it."""

    arch: str
    dtype_name: str
    model: PreTrainedModel

    @property
    def dtype(self) -> torch.dtype:
        return DTYPES[self.dtype_name]

    @property
    def id(self) -> str:
        return f"{self.arch}-{self.dtype_name}"


_FP32: dict[str, PreTrainedModel] = {}
_CACHE: dict[tuple[str, str], TinyModel] = {}


def tiny_model(arch: str, dtype_name: str = "fp32") -> TinyModel:
    """Build (once per process) the tiny ``arch`` model in ``dtype_name``; seeded weights."""
    key = (arch, dtype_name)
    if key not in _CACHE:
        if arch not in _FP32:
            torch.manual_seed(SEED)
            model = _build_fp32(arch)
            with torch.no_grad():
                model.get_output_embeddings().weight.mul_(LOGIT_GAIN)
            model.config.steering_model_id = f"tiny-{arch}"
            model.eval()
            _FP32[arch] = model
        model = copy.deepcopy(_FP32[arch]).to(DTYPES[dtype_name]).eval()
        _CACHE[key] = TinyModel(arch, dtype_name, model)
    return _CACHE[key]


def _is_transformers_capture_hook(hook) -> bool:
    # transformers >= 5 installs (and keeps) its own hooks on the blocks the first time a model
    # is called with output_hidden_states=True; they are not ours to remove.
    return "output_capuring_hook" in getattr(hook, "__qualname__", "") or (
        "output_capturing_hook" in getattr(hook, "__qualname__", "")
    )


def leftover_hooks(model: torch.nn.Module) -> list[str]:
    """Forward hooks and pre-hooks left on the decoder blocks (transformers' own excluded)."""
    from steering.core.layers import find_layers

    found = []
    for index, block in enumerate(find_layers(model)):
        for kind, hooks in (("hook", block._forward_hooks), ("pre", block._forward_pre_hooks)):
            for hook in hooks.values():
                if not _is_transformers_capture_hook(hook):
                    found.append(f"block {index} {kind}: {getattr(hook, '__qualname__', hook)}")
    return found


def all_block_hooks_empty(model: torch.nn.Module) -> bool:
    """True when no decoder block has a forward hook or pre-hook of ours left."""
    return not leftover_hooks(model)


PROMPTS = (
    "Once upon a time,",
    "The most important thing is",
    "Yesterday I went to the market and",
)
STEER_LAYER = 1


def encode(tokenizer, prompts=PROMPTS) -> tuple[torch.Tensor, torch.Tensor]:
    """Left-padded ``(input_ids, attention_mask)`` for ``prompts``."""
    batch = tokenizer(list(prompts), return_tensors="pt", padding=True)
    return batch["input_ids"], batch["attention_mask"]


def unit_direction(seed: int = 0, rows: int | None = None) -> torch.Tensor:
    """A seeded random unit vector ``(HIDDEN,)``, or ``rows`` of them ``(rows, HIDDEN)``."""
    generator = torch.Generator().manual_seed(seed)
    shape = (rows, HIDDEN) if rows is not None else (HIDDEN,)
    vector = torch.randn(shape, generator=generator)
    return vector / vector.norm(dim=-1, keepdim=True)


def residual_norm(model: PreTrainedModel, tokenizer, layer: int = STEER_LAYER) -> float:
    """Mean norm of block ``layer``'s output over the test prompts (a natural strength unit)."""
    from steering.core.hooks import record_residual

    ids, mask = encode(tokenizer)
    with record_residual(model, layer) as record, torch.no_grad():
        model(input_ids=ids, attention_mask=mask)
    hidden = record.outputs[0].float()
    return float(hidden[mask.bool()].norm(dim=-1).mean())


DATA = Path(__file__).resolve().parents[2] / "data"


def read_lines(name: str, limit: int | None = None) -> list[str]:
    """Non-empty lines of a data file under ``data/`` (surrounding whitespace kept off)."""
    lines = [line.strip() for line in (DATA / name).read_text().splitlines() if line.strip()]
    return lines[:limit] if limit is not None else lines
