"""The library files a script uses, from its import graph (``ast``, nothing is imported).

A workflow rule lists these as inputs, so editing a module reruns exactly the stages whose
scripts import it, directly or through other modules of the package, and nothing else. Every
``import`` statement counts, at module level or inside a function (lazy imports too). Package
``__init__.py`` files are followed only when a name is imported from the package itself
(``from steering import load_model``); the ``__init__`` files Python runs on the way to a
submodule are not inputs, since the stage does not use what they re-export.
"""

from __future__ import annotations

import ast
from pathlib import Path


def _module_file(root: Path, dotted: str) -> Path | None:
    """The file of module ``dotted`` under ``root`` (a module or a package's ``__init__``)."""
    base = root.joinpath(*dotted.split("."))
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    return None


def _imported_modules_of(tree: ast.AST, current: str, is_package: bool, root: Path) -> list[str]:
    """Dotted names of the modules that the import statements of ``tree`` load and use.

    ``from pkg import a, b`` uses the submodules ``pkg.a``/``pkg.b`` where they exist, and
    ``pkg`` itself (its ``__init__``) only for names that are not submodules.
    """
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import: resolve against the current module's package
                parts = current.split(".")
                keep = len(parts) - node.level + (1 if is_package else 0)
                base = ".".join(parts[:keep] + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            submodules = [f"{base}.{alias.name}" for alias in node.names]
            modules = [name for name in submodules if _module_file(root, name) is not None]
            names += modules
            if len(modules) < len(submodules):
                names.append(base)
    return names


def imported_modules(script: str | Path, package_dir: str | Path) -> list[Path]:
    """Every file of the package at ``package_dir`` that ``script`` imports, transitively.

    Args:
        script: A Python file (a workflow script, or a module of the package itself).
        package_dir: The package's folder (e.g. ``steering/``); its parent is the import root.

    Returns:
        Sorted absolute paths; the script itself is not included.
    """
    package_dir = Path(package_dir).resolve()
    root, package = package_dir.parent, package_dir.name
    start = Path(script).resolve()
    found: set[Path] = set()
    queue: list[tuple[Path, str]] = [(start, "__main__")]
    seen: set[Path] = {start}
    while queue:
        path, dotted = queue.pop()
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for name in _imported_modules_of(tree, dotted, path.name == "__init__.py", root):
            if name != package and not name.startswith(package + "."):
                continue
            module = _module_file(root, name)
            if module is None or module in seen:
                continue
            seen.add(module)
            found.add(module)
            queue.append((module, name))
    return sorted(found)
