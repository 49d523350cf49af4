"""Tests for JudgmentCache and cached_score (real SQLite files, real stub HTTP server)."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from steering.evaluation.judges.base import JudgeError, Rubric
from steering.evaluation.judges.cache import JudgmentCache, rubric_hash, text_hash
from steering.evaluation.judges.cached import cached_score
from steering.evaluation.judges.openai import OpenAIJudge
from tests.helpers.openai_stub_server import (
    StubServer,
    answer,
    error,
    running_stub,
    success,
)

RUBRIC = Rubric(kind="concept", concept="animal", description="animals", version=1)
TEXTS = ["a cat", "an animal animal", "a rock", "animal", "a cat"]  # one duplicate


class CountingJudge:
    """A plain (non-incremental) judge: score = 1.0 per 'cat', raising after ``fail_after``."""

    def __init__(self, judge_id: str = "counting-v1", fail_after: int | None = None) -> None:
        self.judge_id = judge_id
        self.fail_after = fail_after
        self.judged: list[str] = []

    def score(self, texts: Sequence[str], rubric: Rubric) -> list[float]:
        scores = []
        for text in texts:
            if self.fail_after is not None and len(self.judged) >= self.fail_after:
                raise RuntimeError("judge crashed")
            self.judged.append(text)
            scores.append(float(min(10, text.count("cat"))))
        return scores


@pytest.fixture
def stub() -> Iterator[StubServer]:
    with running_stub() as server:
        yield server


def http_judge(stub: StubServer, max_concurrency: int = 2) -> OpenAIJudge:
    return OpenAIJudge(
        stub.base_url, "stub-model", max_concurrency=max_concurrency, max_retries=0, timeout=2.0
    )


def test_second_run_makes_zero_model_calls(stub: StubServer, tmp_path: Path) -> None:
    path = tmp_path / "judgments.sqlite"
    with JudgmentCache(path) as cache:
        first = cached_score(http_judge(stub), TEXTS, RUBRIC, cache)
        assert stub.request_count == 4  # duplicates judged once
        assert (cache.stats.hits, cache.stats.misses, cache.stats.stored) == (0, 4, 4)
    assert first[0] == first[4]

    with JudgmentCache(path) as cache:
        second = cached_score(http_judge(stub), TEXTS, RUBRIC, cache)
        assert stub.request_count == 4
        assert (cache.stats.hits, cache.stats.misses, cache.stats.judge_calls) == (4, 0, 0)
        assert len(cache) == 4
    assert second == first


def test_partial_overlap_only_judges_new_texts(tmp_path: Path) -> None:
    judge = CountingJudge()
    with JudgmentCache(tmp_path / "c.sqlite") as cache:
        cached_score(judge, ["a cat", "a dog"], RUBRIC, cache)
        scores = cached_score(judge, ["a dog", "cat cat", "a cat"], RUBRIC, cache)
    assert scores == [0.0, 2.0, 1.0]
    assert judge.judged == ["a cat", "a dog", "cat cat"]


def test_crash_mid_run_keeps_judgments_plain_judge(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    texts = [f"cat {i}" for i in range(6)]
    with JudgmentCache(path) as cache, pytest.raises(RuntimeError, match="judge crashed"):
        cached_score(CountingJudge(fail_after=3), texts, RUBRIC, cache, batch_size=1)

    healthy = CountingJudge()
    with JudgmentCache(path) as cache:
        assert len(cache) == 3
        scores = cached_score(healthy, texts, RUBRIC, cache)
    assert healthy.judged == texts[3:]
    assert scores == [1.0] * 6


def test_crash_mid_run_keeps_judgments_http_judge(stub: StubServer, tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    texts = [f"animal {i}" for i in range(6)]
    stub.script(success(), success(), success())
    stub.set_default(error(400, body="server went away"))
    with JudgmentCache(path) as cache, pytest.raises(JudgeError, match="HTTP 400"):
        cached_score(http_judge(stub, max_concurrency=1), texts, RUBRIC, cache)
    assert stub.request_count == 4

    stub.set_default(success())
    with JudgmentCache(path) as cache:
        assert len(cache) == 3
        cached_score(http_judge(stub), texts, RUBRIC, cache)
        assert cache.stats.hits == 3 and cache.stats.misses == 3
    assert stub.request_count == 4 + 3


@pytest.mark.parametrize(
    "changed",
    [
        Rubric(kind="concept", concept="animal", description="animals", version=2),
        Rubric(kind="concept", concept="animal", description="wild animals", version=1),
        Rubric(kind="opposite", concept="animal", description="animals", version=1),
        Rubric(kind="concept", concept="beast", description="animals", version=1),
        Rubric(
            kind="concept", concept="animal", description="animals", version=1, shots=(("x", 1),)
        ),
    ],
)
def test_rubric_changes_miss_the_cache(tmp_path: Path, changed: Rubric) -> None:
    judge = CountingJudge()
    with JudgmentCache(tmp_path / "c.sqlite") as cache:
        cached_score(judge, ["a cat"], RUBRIC, cache)
        cached_score(judge, ["a cat"], changed, cache)
        assert cache.stats.misses == 2 and cache.stats.hits == 0
    assert judge.judged == ["a cat", "a cat"]


def test_different_judge_misses_the_cache(tmp_path: Path) -> None:
    with JudgmentCache(tmp_path / "c.sqlite") as cache:
        cached_score(CountingJudge("judge-a"), ["a cat"], RUBRIC, cache)
        other = CountingJudge("judge-b")
        cached_score(other, ["a cat"], RUBRIC, cache)
    assert other.judged == ["a cat"]


def test_corrupt_file_is_moved_aside_and_rebuilt(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "judgments.sqlite"
    path.write_bytes(b"this is definitely not a sqlite database\n" * 200)
    with caplog.at_level(logging.WARNING, logger="steering.evaluation.judges.cache"):
        cache = JudgmentCache(path)
    with cache:
        assert cached_score(CountingJudge(), ["a cat"], RUBRIC, cache) == [1.0]
        assert len(cache) == 1
    moved = sorted(p.name for p in tmp_path.glob("judgments.sqlite.corrupt-*"))
    assert len(moved) == 1
    assert (tmp_path / moved[0]).read_bytes().startswith(b"this is definitely not")
    assert any(
        "corrupt" in r.getMessage() and str(path) in r.getMessage() and moved[0] in r.getMessage()
        for r in caplog.records
    )


def test_foreign_sqlite_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE users (name TEXT)")
    conn.close()
    with pytest.raises(ValueError, match="not a judgment cache") as info:
        JudgmentCache(path)
    assert str(path) in str(info.value)


def test_out_of_range_score_is_not_stored(tmp_path: Path) -> None:
    class BadJudge:
        judge_id = "bad-v1"

        def score(self, texts: Sequence[str], rubric: Rubric) -> list[float]:
            return [11.0 for _ in texts]

    with JudgmentCache(tmp_path / "c.sqlite") as cache:
        with pytest.raises(ValueError, match="'bad-v1'.*11.0"):
            cached_score(BadJudge(), ["x"], RUBRIC, cache)
        assert len(cache) == 0


def test_cache_uses_wal(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    JudgmentCache(path).close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_answer_outside_0_9_is_never_cached(stub: StubServer, tmp_path: Path) -> None:
    stub.set_default(answer("12"))
    with JudgmentCache(tmp_path / "c.sqlite") as cache:
        with pytest.raises(JudgeError, match="not a single digit 0-9"):
            cached_score(http_judge(stub), ["t"], RUBRIC, cache)
        assert len(cache) == 0


@pytest.mark.parametrize("edited", [42, "NaN", "seven", 3.0, None])
def test_tampered_score_is_a_logged_miss_and_is_rejudged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, edited: object
) -> None:
    path = tmp_path / "c.sqlite"
    judge = CountingJudge()
    with JudgmentCache(path) as cache:
        assert cached_score(judge, ["a cat"], RUBRIC, cache) == [1.0]
    with sqlite3.connect(path) as conn:  # an edit behind the cache's back
        if edited is None:
            conn.execute("UPDATE judgments SET checksum = NULL")
        else:
            conn.execute("UPDATE judgments SET score = ?", (edited,))
    conn.close()
    with caplog.at_level(logging.WARNING), JudgmentCache(path) as cache:
        assert cache.get_many(judge.judge_id, RUBRIC, ["a cat"]) == {}
        assert cached_score(judge, ["a cat"], RUBRIC, cache) == [1.0]
        assert judge.judged == ["a cat", "a cat"]  # judged again
        assert cache.get_many(judge.judge_id, RUBRIC, ["a cat"]) == {"a cat": 1.0}  # overwritten
    assert "fails its checksum" in caplog.text and str(path) in caplog.text


def test_schema_1_cache_is_upgraded_keeping_valid_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        conn.execute("INSERT INTO meta VALUES ('schema', 'steering-judgment-cache/1')")
        conn.execute(
            "CREATE TABLE judgments (judge_id TEXT NOT NULL, kind TEXT NOT NULL, concept TEXT "
            "NOT NULL, version INTEGER NOT NULL, rubric_hash TEXT NOT NULL, text_sha256 TEXT "
            "NOT NULL, score REAL NOT NULL, created_at REAL NOT NULL, PRIMARY KEY (judge_id, "
            "kind, concept, version, rubric_hash, text_sha256)) WITHOUT ROWID"
        )
        key = (RUBRIC.kind, RUBRIC.concept, RUBRIC.version, rubric_hash(RUBRIC))
        conn.execute(
            "INSERT INTO judgments VALUES (?, ?, ?, ?, ?, ?, ?, 0)",
            ("counting-v1", *key, text_hash("a cat"), 1.0),
        )
        conn.execute(
            "INSERT INTO judgments VALUES (?, ?, ?, ?, ?, ?, ?, 0)",
            ("counting-v1", *key, text_hash("a rock"), 42.0),
        )
    conn.close()
    judge = CountingJudge()
    with JudgmentCache(path) as cache:
        assert cached_score(judge, ["a cat", "a rock"], RUBRIC, cache) == [1.0, 0.0]
    assert judge.judged == ["a rock"]  # the valid row was kept, the bad one re-judged
