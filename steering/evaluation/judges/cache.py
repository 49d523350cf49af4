"""On-disk cache of judge scores (SQLite, WAL, committed after every judgment).

The file's schema, keys, checksums and upgrade are :mod:`steering.evaluation.judges.cache_file`.

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

import logging
import math
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from steering.evaluation.judges.base import Rubric
from steering.evaluation.judges.cache_file import (
    CorruptCacheError,
    move_aside,
    open_cache,
    row_checksum,
    rubric_hash,
    text_hash,
    valid_score,
)

__all__ = ["CacheStats", "JudgmentCache", "row_checksum", "rubric_hash", "text_hash"]

logger = logging.getLogger(__name__)

_LOOKUP_CHUNK = 500


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
            self._conn = open_cache(self.path, self._busy_timeout)
        except CorruptCacheError as exc:
            moved = move_aside(self.path)
            logger.warning(
                "judgment cache %s is corrupt (%s); moved it to %s and started an empty cache",
                self.path,
                exc,
                moved,
            )
            try:
                self._conn = open_cache(self.path, self._busy_timeout)
            except CorruptCacheError as again:
                raise RuntimeError(
                    f"could not rebuild judgment cache {self.path} ({again}); delete the file "
                    "and any -wal/-shm files next to it"
                ) from None

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
                if not valid_score(score) or checksum != row_checksum(*prefix, digest, score):
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
