"""``steering/__init__.py``: the public names load on first use, from the modules its
``TYPE_CHECKING`` imports name, and importing a submodule does not pull in torch."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import steering

INIT = Path(steering.__file__)
# Seconds to import each, and not needed to build the workflow's DAG.
HEAVY = {"torch", "transformers", "scipy.stats"}


def declared_homes() -> dict[str, str]:
    """Public name -> module, from the imports under ``if TYPE_CHECKING:``."""
    tree = ast.parse(INIT.read_text())
    block = next(
        node
        for node in tree.body
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.dump(node.test)
    )
    return {
        alias.name: node.module
        for node in block.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }


def test_every_public_name_is_the_object_of_its_declared_module():
    homes = declared_homes()
    assert sorted(homes) == sorted(steering.__all__)
    for name, module in homes.items():
        assert getattr(steering, name) is getattr(importlib.import_module(module), name), name


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no_such_name"):
        steering.no_such_name  # noqa: B018


def test_the_snakefile_imports_do_not_load_torch():
    """Every Snakemake run, dry runs and each SLURM job's own Snakemake included, parses the
    Snakefile, which imports the config helpers: they must not cost a torch (or scipy.stats)
    import."""
    imports = [
        line
        for smk in sorted((INIT.parents[1] / "workflow" / "rules").glob("*.smk"))
        for line in smk.read_text().splitlines()
        if line.startswith(("from steering", "import steering"))
    ]
    assert imports, "the rules import nothing from steering: update this test"
    code = "\n".join(["import sys", *imports, f"print(sorted({HEAVY!r} & set(sys.modules)))"])
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert proc.stdout.strip() == "[]", proc.stdout + proc.stderr
