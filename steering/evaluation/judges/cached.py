"""Scoring through the judgment cache: only texts never judged before reach the judge."""

from __future__ import annotations

from collections.abc import Sequence

from steering.evaluation.judges.base import IncrementalJudge, Judge, Rubric
from steering.evaluation.judges.cache import JudgmentCache

__all__ = ["CachedJudge", "cached_score"]


class CachedJudge:
    """A judge whose every judgment goes through a :class:`JudgmentCache`."""

    def __init__(self, judge: Judge, cache: JudgmentCache) -> None:
        self.judge = judge
        self.cache = cache
        self.judge_id = judge.judge_id

    def score(self, texts: Sequence[str], rubric: Rubric) -> list[float]:
        """Cached scores; only texts never judged before reach the backend."""
        return cached_score(self.judge, texts, rubric, self.cache)


def cached_score(
    judge: Judge,
    texts: Sequence[str],
    rubric: Rubric,
    cache: JudgmentCache,
    *,
    batch_size: int = 32,
) -> list[float]:
    """Score ``texts`` with ``judge``, reusing and filling ``cache``.

    Only distinct texts missing from the cache are sent to the judge. With an
    :class:`~steering.evaluation.judges.base.IncrementalJudge` every score is committed the
    moment it arrives; other judges are called on chunks of ``batch_size`` texts, each chunk
    committed before the next is started. Either way a crash keeps every judgment already made.

    Args:
        judge: The judge (its ``judge_id`` is part of the cache key).
        texts: Texts to score; duplicates are judged once.
        rubric: What to rate.
        cache: Where judgments are stored.
        batch_size: Chunk size for judges without ``iter_scores``.

    Returns:
        One 0-10 score per text, in input order.

    Raises:
        ValueError: If ``batch_size`` < 1 or the judge returns a wrong number of scores or a
            score outside [0, 10].
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    known = cache.get_many(judge.judge_id, rubric, texts)
    missing = list(dict.fromkeys(text for text in texts if text not in known))
    cache.record(hits=len(set(texts)) - len(missing), misses=len(missing))
    if missing:
        if isinstance(judge, IncrementalJudge):
            cache.record(judge_calls=1)
            for index, score in judge.iter_scores(missing, rubric):
                cache.put(judge.judge_id, rubric, missing[index], score)
                known[missing[index]] = float(score)
            unscored = [text for text in missing if text not in known]
            if unscored:
                raise ValueError(
                    f"judge {judge.judge_id!r} yielded no score for {len(unscored)} of "
                    f"{len(missing)} texts, e.g. {unscored[0]!r:.80}"
                )
        else:
            for start in range(0, len(missing), batch_size):
                chunk = missing[start : start + batch_size]
                cache.record(judge_calls=1)
                scores = judge.score(chunk, rubric)
                if len(scores) != len(chunk):
                    raise ValueError(
                        f"judge {judge.judge_id!r} returned {len(scores)} scores for "
                        f"{len(chunk)} texts"
                    )
                cache.put_many(judge.judge_id, rubric, zip(chunk, scores, strict=True))
                known.update(
                    (text, float(score)) for text, score in zip(chunk, scores, strict=True)
                )
    return [known[text] for text in texts]
