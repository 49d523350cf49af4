"""Save a random-weight model of a given architecture as an ordinary Hugging Face folder.

For a GPU machine that cannot download weights (the lent benchmark machines): the folder holds
``config.json`` and the tokenizer files of the real model; the weights are drawn from the
architecture's own initialisation with a fixed seed. Speed and memory depend on shapes, not on
weights, so timings and peak memory carry over; steering and judge *results* do not.

    python bench/random_model.py CONFIG_AND_TOKENIZER_DIR OUTPUT_DIR [--seed 0]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="folder with config.json and tokenizer files")
    parser.add_argument("output", type=Path, help="folder to write")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if not (args.source / "config.json").is_file():
        raise SystemExit(f"{args.source / 'config.json'} does not exist")
    torch.manual_seed(args.seed)
    config = AutoConfig.from_pretrained(args.source)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    args.output.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(args.output)
    AutoTokenizer.from_pretrained(args.source).save_pretrained(args.output)
    n = sum(p.numel() for p in model.parameters())
    print(f"random-weight {type(model).__name__} ({n / 1e6:.0f}M parameters) -> {args.output}")


if __name__ == "__main__":
    main()
