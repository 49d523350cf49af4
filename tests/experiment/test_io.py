"""``steering.io``: atomic writes get an ordinary file's mode; readers name unreadable files."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pandas as pd
import pytest

from steering.io import CorruptFileError, atomic_path, read_json, read_parquet, write_parquet


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_atomic_file_gets_the_umasks_mode(tmp_path: Path, umask: int) -> None:
    old = os.umask(umask)
    try:
        with atomic_path(tmp_path / "out.txt") as tmp:
            tmp.write_text("x")
        ordinary = tmp_path / "ordinary.txt"
        ordinary.write_text("x")
    finally:
        os.umask(old)
    mode = stat.S_IMODE((tmp_path / "out.txt").stat().st_mode)
    assert mode == 0o666 & ~umask == stat.S_IMODE(ordinary.stat().st_mode)


def test_readers_raise_an_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    write_parquet(path, pd.DataFrame({"a": [1, 2]}), {"config_hash": "x"})
    path.write_bytes(path.read_bytes()[:20])
    with pytest.raises(CorruptFileError, match="t.parquet is not a readable Parquet") as info:
        read_parquet(path)
    assert info.value.path == path
    broken = tmp_path / "b.json"
    broken.write_text("{")
    with pytest.raises(CorruptFileError, match="b.json is not valid JSON"):
        read_json(broken)
