"""The judgment cache's file: its SQLite schema, row keys and checksums, opening a file
(integrity check, schema check, upgrade of schema-1 caches) and moving a corrupt one aside.

The store that reads and writes scores is :class:`steering.evaluation.judges.cache.JudgmentCache`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import sqlite3
import time
from pathlib import Path

from steering.evaluation.judges.base import Rubric

logger = logging.getLogger(__name__)

SCHEMA = "steering-judgment-cache/2"
"""Value stored in the ``meta`` table; a different value means an incompatible cache file."""

_OLD_SCHEMA = "steering-judgment-cache/1"  # no checksum column; upgraded on open
_CORRUPTION_CODES = frozenset({11, 26})  # SQLITE_CORRUPT, SQLITE_NOTADB (constants are 3.11+)
_CREATE = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS judgments (
        judge_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        concept TEXT NOT NULL,
        version INTEGER NOT NULL,
        rubric_hash TEXT NOT NULL,
        text_sha256 TEXT NOT NULL,
        score REAL NOT NULL,
        created_at REAL NOT NULL,
        checksum TEXT,
        PRIMARY KEY (judge_id, kind, concept, version, rubric_hash, text_sha256)
    ) WITHOUT ROWID""",
)



def text_hash(text: str) -> str:
    """Return the hex sha256 of ``text`` encoded as UTF-8."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def rubric_hash(rubric: Rubric) -> str:
    """Return a hex sha256 of the rubric's content (description, opposite pole, shots)."""
    content = {
        "description": rubric.description,
        "opposite": rubric.opposite,
        "shots": [[text, score] for text, score in rubric.shots],
    }
    canonical = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def row_checksum(
    judge_id: str,
    kind: str,
    concept: str,
    version: int,
    rubric_digest: str,
    text_digest: str,
    score: float,
) -> str:
    """Hex sha256 over a row's key (judge, rubric, text hash) and its score."""
    fields = [judge_id, kind, concept, str(version), rubric_digest, text_digest, repr(score)]
    return hashlib.sha256("\x1f".join(fields).encode("utf-8")).hexdigest()


def valid_score(score: object) -> bool:
    """Whether a stored score is a finite float in [0, 10] (SQLite may hand back text/int)."""
    return isinstance(score, float) and math.isfinite(score) and 0.0 <= score <= 10.0


def is_corruption(exc: sqlite3.DatabaseError) -> bool:
    """Whether ``exc`` means the file is not a database / is malformed (not e.g. locked)."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return (code & 0xFF) in _CORRUPTION_CODES
    message = str(exc).lower()
    return "not a database" in message or "malformed" in message


class CorruptCacheError(Exception):
    """The cache file is unreadable as SQLite."""


def open_cache(path: Path, busy_timeout: float) -> sqlite3.Connection:
    """Connect to the cache file, enable WAL, create or check (and upgrade) the schema.

    Raises:
        CorruptCacheError: The file is not a usable SQLite database.
        ValueError: It is a database but not a judgment cache, or of another schema.
    """
    conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        problems = [row[0] for row in conn.execute("PRAGMA quick_check(1)")]
        if problems != ["ok"]:
            raise CorruptCacheError(f"integrity check: {problems[0]}")
        tables = {
            row[0]
            for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        if tables and "meta" not in tables:
            raise ValueError(
                f"{path} is a SQLite database but not a judgment cache (tables: "
                f"{sorted(tables)}); pass a different cache path"
            )
        conn.execute("BEGIN IMMEDIATE")
        for statement in _CREATE:
            conn.execute(statement)
        conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', ?)", (SCHEMA,))
        upgrade(conn, path)
        conn.execute("COMMIT")
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        if row is None or row[0] != SCHEMA:
            found = None if row is None else row[0]
            raise ValueError(
                f"judgment cache {path} has schema {found!r}, expected {SCHEMA!r}; "
                "delete it or pass a different cache path"
            )
    except sqlite3.DatabaseError as exc:
        conn.close()
        if is_corruption(exc):
            raise CorruptCacheError(str(exc)) from None
        raise
    except BaseException:
        conn.close()
        raise
    return conn


def upgrade(conn: sqlite3.Connection, path: Path) -> None:
    """Add checksums to a schema-1 cache at ``path`` (inside the caller's transaction)."""
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
    if row is None or row[0] != _OLD_SCHEMA:
        return
    columns = {info[1] for info in conn.execute("PRAGMA table_info(judgments)")}
    if "checksum" not in columns:
        conn.execute("ALTER TABLE judgments ADD COLUMN checksum TEXT")
    rows = conn.execute(
        "SELECT judge_id, kind, concept, version, rubric_hash, text_sha256, score "
        "FROM judgments"
    ).fetchall()
    updates = [(row_checksum(*row), *row[:6]) for row in rows if valid_score(row[6])]
    conn.executemany(
        "UPDATE judgments SET checksum = ? WHERE judge_id = ? AND kind = ? AND concept = ? "
        "AND version = ? AND rubric_hash = ? AND text_sha256 = ?",
        updates,
    )
    conn.execute("UPDATE meta SET value = ? WHERE key = 'schema'", (SCHEMA,))
    logger.info(
        "upgraded judgment cache %s to %s (%d rows checksummed, %d left to re-judge)",
        path,
        SCHEMA,
        len(updates),
        len(rows) - len(updates),
    )


def move_aside(path: Path) -> Path:
    """Rename the corrupt file ``path`` (and its -wal/-shm companions) to
    ``*.corrupt-<stamp>``; returns the new name."""
    stamp = time.strftime("%Y%m%dT%H%M%S")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    counter = 1
    while target.exists():
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{counter}")
        counter += 1
    os.replace(path, target)
    for suffix in ("-wal", "-shm"):
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            os.replace(companion, target.with_name(target.name + suffix))
    return target
