"""On-disk cache of judge scores (SQLite, WAL, committed after every judgment).

Keys are ``(judge_id, rubric kind, rubric concept, rubric version, rubric content hash,
sha256 of the text)``. Scores are committed as they arrive, so a crash in the middle of a
stage loses no judgment already made. A file that is not a usable SQLite database is moved
aside to ``<name>.corrupt-<timestamp>`` and a fresh cache is built, with a warning.

Every row carries a checksum over its key and score, verified on read: a row whose score was
altered (edited, bit-flipped, not a number) is logged as a warning and treated as a miss, so
the text is judged again and the row overwritten; a bad score is never returned. Caches of
the previous schema (``steering-judgment-cache/1``, no checksums) are upgraded in place on
open: rows holding a number in [0, 10] get their checksum, others are judged again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from steering.evaluation.judges.base import Rubric

__all__ = ["CacheStats", "JudgmentCache", "row_checksum", "rubric_hash", "text_hash"]

logger = logging.getLogger(__name__)

SCHEMA = "steering-judgment-cache/2"
"""Value stored in the ``meta`` table; a different value means an incompatible cache file."""

_OLD_SCHEMA = "steering-judgment-cache/1"  # no checksum column; upgraded on open
_LOOKUP_CHUNK = 500
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


@dataclass(frozen=True)
class CacheStats:
    """Counters accumulated by :func:`cached_score` on one :class:`JudgmentCache`.

    Attributes:
        hits: Distinct texts answered from the cache.
        misses: Distinct texts sent to a judge.
        judge_calls: Calls made to ``judge.score`` / ``judge.iter_scores``.
        stored: Judgments written to disk.
    """

    hits: int = 0
    misses: int = 0
    judge_calls: int = 0
    stored: int = 0


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


def _valid_score(score: object) -> bool:
    """Whether a stored score is a finite float in [0, 10] (SQLite may hand back text/int)."""
    return isinstance(score, float) and math.isfinite(score) and 0.0 <= score <= 10.0


def _is_corruption(exc: sqlite3.DatabaseError) -> bool:
    """Whether ``exc`` means the file is not a database / is malformed (not e.g. locked)."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return (code & 0xFF) in _CORRUPTION_CODES
    message = str(exc).lower()
    return "not a database" in message or "malformed" in message


class _CorruptCacheError(Exception):
    """Internal: the cache file is unreadable as SQLite."""


class JudgmentCache:
    """SQLite-backed store of judge scores.

    Use as a context manager or call :meth:`close`. The connection belongs to the creating
    thread; several processes may share one file (WAL mode, busy timeout).

    Attributes:
        path: The cache file.
    """

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout: float = 30.0) -> None:
        """Open (or create) the cache at ``path``.

        Args:
            path: Cache file; parent directories are created.
            busy_timeout: Seconds to wait for another process's lock.

        Raises:
            ValueError: If ``path`` is a SQLite database that is not a judgment cache.
            sqlite3.Error: If the file cannot be opened for other reasons (permissions, lock).
        """
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._busy_timeout = busy_timeout
        self._hits = 0
        self._misses = 0
        self._judge_calls = 0
        self._stored = 0
        try:
            self._conn = self._open()
        except _CorruptCacheError as exc:
            moved = self._move_aside()
            logger.warning(
                "judgment cache %s is corrupt (%s); moved it to %s and started an empty cache",
                self.path,
                exc,
                moved,
            )
            try:
                self._conn = self._open()
            except _CorruptCacheError as again:
                raise RuntimeError(
                    f"could not rebuild judgment cache {self.path} ({again}); delete the file "
                    "and any -wal/-shm files next to it"
                ) from None

    def _open(self) -> sqlite3.Connection:
        """Connect, enable WAL and create/check the schema."""
        conn = sqlite3.connect(self.path, timeout=self._busy_timeout, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            problems = [row[0] for row in conn.execute("PRAGMA quick_check(1)")]
            if problems != ["ok"]:
                raise _CorruptCacheError(f"integrity check: {problems[0]}")
            tables = {
                row[0]
                for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            }
            if tables and "meta" not in tables:
                raise ValueError(
                    f"{self.path} is a SQLite database but not a judgment cache (tables: "
                    f"{sorted(tables)}); pass a different cache path"
                )
            conn.execute("BEGIN IMMEDIATE")
            for statement in _CREATE:
                conn.execute(statement)
            conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', ?)", (SCHEMA,))
            self._upgrade(conn)
            conn.execute("COMMIT")
            row = conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
            if row is None or row[0] != SCHEMA:
                found = None if row is None else row[0]
                raise ValueError(
                    f"judgment cache {self.path} has schema {found!r}, expected {SCHEMA!r}; "
                    "delete it or pass a different cache path"
                )
        except sqlite3.DatabaseError as exc:
            conn.close()
            if _is_corruption(exc):
                raise _CorruptCacheError(str(exc)) from None
            raise
        except BaseException:
            conn.close()
            raise
        return conn

    def _upgrade(self, conn: sqlite3.Connection) -> None:
        """Add checksums to a schema-1 cache (inside the caller's transaction)."""
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
        updates = [(row_checksum(*row), *row[:6]) for row in rows if _valid_score(row[6])]
        conn.executemany(
            "UPDATE judgments SET checksum = ? WHERE judge_id = ? AND kind = ? AND concept = ? "
            "AND version = ? AND rubric_hash = ? AND text_sha256 = ?",
            updates,
        )
        conn.execute("UPDATE meta SET value = ? WHERE key = 'schema'", (SCHEMA,))
        logger.info(
            "upgraded judgment cache %s to %s (%d rows checksummed, %d left to re-judge)",
            self.path,
            SCHEMA,
            len(updates),
            len(rows) - len(updates),
        )

    def _move_aside(self) -> Path:
        """Rename the corrupt file (and its -wal/-shm companions) to ``*.corrupt-<stamp>``."""
        stamp = time.strftime("%Y%m%dT%H%M%S")
        target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        counter = 1
        while target.exists():
            target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}-{counter}")
            counter += 1
        os.replace(self.path, target)
        for suffix in ("-wal", "-shm"):
            companion = self.path.with_name(self.path.name + suffix)
            if companion.exists():
                os.replace(companion, target.with_name(target.name + suffix))
        return target

    def __enter__(self) -> JudgmentCache:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"JudgmentCache({str(self.path)!r})"

    def __len__(self) -> int:
        """Number of stored judgments (all judges and rubrics)."""
        return int(self._conn.execute("SELECT COUNT(*) FROM judgments").fetchone()[0])

    def close(self) -> None:
        """Close the database connection (idempotent)."""
        self._conn.close()

    @property
    def stats(self) -> CacheStats:
        """A snapshot of the hit/miss/call counters."""
        return CacheStats(self._hits, self._misses, self._judge_calls, self._stored)

    def get_many(self, judge_id: str, rubric: Rubric, texts: Iterable[str]) -> dict[str, float]:
        """Look up stored scores.

        Args:
            judge_id: The judge's id.
            rubric: The rubric the texts were rated on.
            texts: Texts to look up.

        Returns:
            ``{text: score}`` for the texts found; missing texts are absent, and so are texts
            whose row fails its checksum (logged as a warning; the caller re-judges them and
            the new judgment overwrites the row).
        """
        by_hash: dict[str, list[str]] = {}
        for text in texts:
            by_hash.setdefault(text_hash(text), []).append(text)
        hashes = list(by_hash)
        prefix = (judge_id, rubric.kind, rubric.concept, rubric.version, rubric_hash(rubric))
        found: dict[str, float] = {}
        for start in range(0, len(hashes), _LOOKUP_CHUNK):
            chunk = hashes[start : start + _LOOKUP_CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = self._conn.execute(
                "SELECT text_sha256, score, checksum FROM judgments WHERE judge_id = ? "
                "AND kind = ? AND concept = ? AND version = ? AND rubric_hash = ? "
                f"AND text_sha256 IN ({marks})",
                (*prefix, *chunk),
            )
            for digest, score, checksum in rows:
                if not _valid_score(score) or checksum != row_checksum(*prefix, digest, score):
                    logger.warning(
                        "judgment cache %s: row for judge %r, rubric %s/%s v%s, text sha256 %s "
                        "holds score %r that fails its checksum (edited or corrupted); "
                        "ignoring it, the text will be judged again",
                        self.path,
                        judge_id,
                        rubric.kind,
                        rubric.concept,
                        rubric.version,
                        digest,
                        score,
                    )
                    continue
                for text in by_hash[digest]:
                    found[text] = score
        return found

    def put_many(self, judge_id: str, rubric: Rubric, items: Iterable[tuple[str, float]]) -> None:
        """Store ``(text, score)`` pairs in one committed transaction.

        Raises:
            ValueError: If a score is not a finite number in [0, 10].
        """
        rows = []
        now = time.time()
        prefix = (judge_id, rubric.kind, rubric.concept, rubric.version, rubric_hash(rubric))
        for text, score in items:
            value = float(score)
            if not math.isfinite(value) or not 0.0 <= value <= 10.0:
                raise ValueError(
                    f"judge {judge_id!r} returned score {score!r} for text {text!r:.80}; "
                    "scores must be finite and within [0, 10]"
                )
            digest = text_hash(text)
            rows.append((*prefix, digest, value, now, row_checksum(*prefix, digest, value)))
        if not rows:
            return
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            self._conn.executemany(
                "INSERT OR REPLACE INTO judgments (judge_id, kind, concept, version, "
                "rubric_hash, text_sha256, score, created_at, checksum) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")
        self._stored += len(rows)

    def put(self, judge_id: str, rubric: Rubric, text: str, score: float) -> None:
        """Store one judgment and commit it."""
        self.put_many(judge_id, rubric, [(text, score)])

    def record(self, *, hits: int = 0, misses: int = 0, judge_calls: int = 0) -> None:
        """Add to the lookup counters that :meth:`stats` reports."""
        self._hits += hits
        self._misses += misses
        self._judge_calls += judge_calls
