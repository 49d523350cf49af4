"""``python -m steering.doctor [RESULTS_DIR]``: list the workflow's unreadable outputs.

It prints each output that cannot be read (a truncated Parquet, npz, JSON or safetensors file)
and the one ``snakemake -R`` line that rebuilds them and everything downstream. It never deletes
or changes a file. Only files the workflow writes are candidates: those at its output paths
(model/, activations/, vectors/, generations/, perplexity/, judgments/, metrics/,
judge_validation.parquet); anything else under the results folder (a user's notes) is ignored.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from steering.io import is_readable

OUTPUT_DIRS = (
    "model",
    "activations",
    "vectors",
    "generations",
    "perplexity",
    "judgments",
    "metrics",
)
OUTPUT_FILES = ("judge_validation.parquet",)
SUFFIXES = (".parquet", ".npz", ".json", ".safetensors")


def rebuild_command(paths: Iterable[str | Path]) -> str:
    """The ``snakemake -R`` line that rebuilds ``paths`` and everything that depends on them."""
    return "snakemake -R " + " ".join(shlex.quote(str(p)) for p in paths)


def workflow_outputs(results_dir: str | Path) -> list[Path]:
    """Files under ``results_dir`` at paths the workflow writes (hidden temp files excluded)."""
    root = Path(results_dir)
    found = [root / name for name in OUTPUT_FILES if (root / name).is_file()]
    for name in OUTPUT_DIRS:
        folder = root / name
        if folder.is_dir():
            found += [
                p
                for p in folder.rglob("*")
                if p.is_file()
                and p.suffix in SUFFIXES
                and not any(part.startswith(".") for part in p.relative_to(root).parts)
            ]
    return sorted(found)


def unreadable_outputs(results_dir: str | Path) -> list[Path]:
    """The workflow's outputs under ``results_dir`` that cannot be read."""
    return [path for path in workflow_outputs(results_dir) if not is_readable(path)]


def main(argv: Sequence[str] | None = None) -> int:
    """List unreadable outputs and the command that rebuilds them; 1 if any, else 0."""
    parser = argparse.ArgumentParser(prog="python -m steering.doctor", description=__doc__)
    parser.add_argument("results_dir", nargs="?", default="results", help="default: results")
    args = parser.parse_args(argv)
    if not Path(args.results_dir).is_dir():
        print(f"{args.results_dir} is not a folder; pass the workflow's results_dir.")
        return 2
    broken = unreadable_outputs(args.results_dir)
    if not broken:
        print(f"Every output under {args.results_dir} is readable.")
        return 0
    print(f"{len(broken)} unreadable output(s) (nothing was changed):")
    for path in broken:
        print(f"  {path}")
    print("Rebuild them and everything that depends on them with:")
    print(f"  {rebuild_command(broken)}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
