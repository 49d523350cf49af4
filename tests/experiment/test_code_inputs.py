"""``imported_modules``: the library files a script imports, from its ``ast`` alone."""

from __future__ import annotations

from pathlib import Path

from steering.experiment.code_inputs import imported_modules


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def names(paths: list[Path], root: Path) -> list[str]:
    return [str(p.relative_to(root)) for p in paths]


def test_imports_are_followed_transitively_lazy_relative_and_submodules(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pkg/__init__.py": "from pkg.api import run\n",
            "pkg/api.py": "from . import helpers\nfrom .sub.deep import thing\n",
            "pkg/helpers.py": "import os\n",
            "pkg/sub/__init__.py": "import pkg.unused\n",
            "pkg/sub/deep.py": "def thing():\n    from ..lazy import value\n    return value\n",
            "pkg/lazy.py": "value = 1\n",
            "pkg/unused.py": "",
            "pkg/other.py": "",
            "script.py": "import numpy\nfrom pkg import api\n",
        },
    )
    found = imported_modules(tmp_path / "script.py", tmp_path / "pkg")
    # `from pkg import api` is a submodule: pkg/__init__.py (and what it imports) is not used;
    # the package __init__ on the way to pkg.sub.deep is not an input either.
    assert names(found, tmp_path) == [
        "pkg/api.py",
        "pkg/helpers.py",
        "pkg/lazy.py",
        "pkg/sub/deep.py",
    ]


def test_a_name_from_the_package_itself_uses_its_init(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pkg/__init__.py": "from pkg.api import run\n",
            "pkg/api.py": "def run():\n    pass\n",
            "pkg/other.py": "",
            "script.py": "from pkg import run\n",
        },
    )
    found = imported_modules(tmp_path / "script.py", tmp_path / "pkg")
    assert names(found, tmp_path) == ["pkg/__init__.py", "pkg/api.py"]


def test_plain_import_of_a_module_and_cycles(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "import pkg.b\n",
            "pkg/b.py": "from pkg import a\n",
            "script.py": "import pkg.a\nimport json\n",
        },
    )
    found = imported_modules(tmp_path / "script.py", tmp_path / "pkg")
    assert names(found, tmp_path) == ["pkg/a.py", "pkg/b.py"]


def test_every_workflow_script_resolves_inside_the_package() -> None:
    repo = Path(__file__).resolve().parents[2]
    for script in (repo / "workflow" / "scripts").glob("[!_]*.py"):
        found = imported_modules(script, repo / "steering")
        assert found, script
        assert all(p.is_relative_to(repo / "steering") for p in found), script
        assert repo / "steering" / "experiment" / "stage.py" in found, script
