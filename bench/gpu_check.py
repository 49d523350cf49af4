"""GPU check: the steering hooks in fp16/bf16 on CUDA, B1 and B2 timings, CUDA peak memory.

Runs anywhere CUDA is available (falls back to a clear message otherwise). Uses the embedded
gemma-3-270m when its cached folder exists; otherwise a random-weight model of the same
architecture built from its config (timings and memory depend on shapes, not weights).

    python bench/gpu_check.py [--model-dir DIR] [--tokenizer-dir DIR]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import record  # noqa: E402
from steering.core.generation import generate  # noqa: E402
from steering.core.hooks import steer  # noqa: E402
from steering.core.layers import find_layers  # noqa: E402
from steering.core.memory import track_peak_memory  # noqa: E402
from steering.core.models import prepare_tokenizer  # noqa: E402
from steering.fit.steerer import ManifoldSteerer  # noqa: E402

PROMPTS = [
    "Hello, ",
    "Once upon a time,",
    "I want to tell you about",
    "The most important thing is",
    "Yesterday I",
    "In the morning,",
    "Here is a short story:",
    "Let me describe",
    "The best part of the day was",
    "She looked out of the window and saw",
]
STRENGTHS = [-1.0, -0.5, -0.25, 0.0, 0.25, 0.5, 1.0]


def load(model_dir: Path, tokenizer_dir: Path, dtype: torch.dtype, random: bool):
    tokenizer = prepare_tokenizer(AutoTokenizer.from_pretrained(tokenizer_dir))
    if random:
        config = AutoConfig.from_pretrained(model_dir)
        torch.manual_seed(0)
        model = AutoModelForCausalLM.from_config(config, dtype=dtype)
    else:
        model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=dtype)
    return model.cuda().eval(), tokenizer


def hook_checks(model, tokenizer, layer: int) -> list[str]:
    """Removal restores logits exactly; strength 0 equals no hook; an fp32 vector works."""
    ids = tokenizer(PROMPTS[:4], return_tensors="pt", padding=True).to("cuda")
    with torch.no_grad():
        before = model(**ids).logits
        vector = torch.randn(model.config.hidden_size) * 4  # fp32 on CPU on purpose
        with steer(model, layer, vector, 1.0, batch_size=4):
            steered = model(**ids).logits
        with steer(model, layer, vector, 0.0, batch_size=4):
            zero = model(**ids).logits
        after = model(**ids).logits
    hooks_left = sum(len(b._forward_hooks) for b in find_layers(model))
    return [
        f"removal restores logits exactly: {torch.equal(before, after)}",
        f"strength 0 equals no hook: {torch.equal(before, zero)}",
        f"steering changes logits: {not torch.equal(before, steered)}",
        f"steered logits finite: {bool(torch.isfinite(steered).all())}",
        f"hooks left on blocks: {hooks_left}",
    ]


def tokens_per_second(model, tokenizer, layer, rows, strengths, direction, tokens) -> float:
    torch.cuda.synchronize()
    start = time.perf_counter()
    outputs = generate(
        model,
        tokenizer,
        rows,
        layer=layer,
        direction=direction,
        strengths=strengths,
        max_new_tokens=tokens,
        batch_size=len(rows),
        progress=False,
    )
    torch.cuda.synchronize()
    return sum(len(o.token_ids) for o in outputs) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    cache = Path.home() / ".cache" / "steering" / "models" / "gemma-3-270m"
    parser.add_argument("--model-dir", type=Path, default=cache)
    parser.add_argument("--tokenizer-dir", type=Path, default=None)
    parser.add_argument("--random-weights", action="store_true")
    parser.add_argument("--layer", type=int, default=12)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("gpu_check: CUDA is not available here; nothing to check.")
        return
    tokenizer_dir = args.tokenizer_dir or args.model_dir
    random = args.random_weights or not (args.model_dir / "model.safetensors").exists()
    lines = [
        f"model: {'random-weight ' if random else ''}gemma-3-270m architecture from "
        f"{args.model_dir}",
        "",
    ]
    for dtype in (torch.float16, torch.bfloat16):
        torch.cuda.reset_peak_memory_stats()
        model, tokenizer = load(args.model_dir, tokenizer_dir, dtype, random)
        lines.append(f"**{dtype}**: " + "; ".join(hook_checks(model, tokenizer, args.layer)))
        direction = torch.randn(model.config.hidden_size)
        direction = direction / direction.norm() * 100
        rows = [p for p in PROMPTS for _ in range(7)]
        for warm in (None, direction):  # warm-up at full size, both paths
            tokens_per_second(
                model,
                tokenizer,
                args.layer,
                rows,
                None if warm is None else [1.0] * len(rows),
                warm,
                8,
            )
        for trial in range(3):
            plain = tokens_per_second(model, tokenizer, args.layer, rows, None, None, 50)
            steered = tokens_per_second(
                model, tokenizer, args.layer, rows, [1.0] * len(rows), direction, 50
            )
            lines.append(
                f"- B1 trial {trial}: unsteered {plain:.0f} tok/s, steered "
                f"{steered:.0f} tok/s, ratio {steered / plain:.3f} (70 rows x 50 tokens)"
            )
        grid = [(p, s) for p in PROMPTS for s in STRENGTHS]
        with track_peak_memory("cuda") as batched:
            generate(
                model,
                tokenizer,
                [p for p, _ in grid],
                layer=args.layer,
                direction=direction,
                strengths=[s for _, s in grid],
                max_new_tokens=50,
                batch_size=len(grid),
                progress=False,
            )
        with track_peak_memory("cuda") as per_cell:
            for prompt, strength in grid:
                generate(
                    model,
                    tokenizer,
                    [prompt],
                    layer=args.layer,
                    direction=direction,
                    strengths=[strength],
                    max_new_tokens=50,
                    batch_size=1,
                    progress=False,
                )
        lines.append(
            f"- B2 grid 10 prompts x 7 strengths x 50 tokens: batched "
            f"{batched.seconds:.2f} s (peak {batched.peak_mb:.0f} MB), per cell "
            f"{per_cell.seconds:.2f} s, "
            f"speed-up {per_cell.seconds / batched.seconds:.1f}x"
        )
        examples = {
            c: (Path("data/concepts") / f"{c}.txt").read_text().splitlines()[:16]
            for c in ("person", "change", "animal", "object", "action")
        }
        neutral = Path("data/concepts/neutral.txt").read_text().splitlines()[:16]
        steerer = ManifoldSteerer(model, tokenizer, args.layer, "dual")
        report = steerer.fit(examples, neutral, PROMPTS)
        lines.append(
            f"- fit (dual, 5 concepts x 16 examples, calibration search): "
            f"{report.fit_seconds:.2f} s, peak {report.peak_memory_mb:.0f} MB "
            f"({report.memory_kind}), manifold rank {report.manifold_rank}"
        )
        lines.append(
            f"- CUDA peak memory of this dtype's run: "
            f"{torch.cuda.max_memory_allocated() / 2**20:.0f} MB"
        )
        del model
        torch.cuda.empty_cache()
    record("GPU check (bench/gpu_check.py)", lines)


if __name__ == "__main__":
    main()
