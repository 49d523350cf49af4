"""Concept word rate: the judge-free lexical measure of steering.

A lexicon (``data/lexicons/<concept>.txt``) lists one lowercase word per line; blank lines and
lines starting with ``#`` are ignored, and an entry ending in ``*`` is a prefix (``transform*``
matches ``transformation``). Texts are lowercased and split into tokens of ASCII letters
(``"dog's"`` gives ``dog`` and ``s``).

Inflection rule: a token matches an entry when it equals it, or when removing one suffix of
``ing``, ``ed``, ``es``, ``s``, ``d`` leaves a base of at least 3 letters that equals the entry
as is, with an ``e`` added (``changing`` -> ``change``), with a doubled final consonant undone
(``running`` -> ``run``), or with a final ``i`` read as ``y`` (``puppies`` -> ``puppy``,
``carried`` -> ``carry``). Irregular forms (``mice``, ``ran``, ``children``) are listed as
entries of their own. The rule is deliberately simple and has rare false positives (``dogged``
counts as ``dog``); ``er`` is not a suffix, so ``cater`` is not ``cat``. The rule is the same for
every method and strength, so its errors largely cancel in the comparison.

The word rate of a text is its matched tokens over its tokens (0 for a text with none). Its
trend over steering strength is summarised by the Spearman correlation (like SE's rho) and the
least-squares slope.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from steering.evaluation.coherence import require_columns

SUFFIXES: Final[tuple[str, ...]] = ("ing", "ed", "es", "s", "d")
MIN_BASE: Final[int] = 3
_TOKEN = re.compile(r"[a-z]+")
_ENTRY = re.compile(r"[a-z]+\*?")


@dataclass(frozen=True)
class Lexicon:
    """A concept's word list.

    Attributes:
        concept: The concept's name.
        words: Whole-word entries.
        prefixes: Entries that match any token starting with them (given with ``*``).
    """

    concept: str
    words: frozenset[str]
    prefixes: tuple[str, ...] = ()

    def matches(self, token: str) -> bool:
        """Whether ``token`` (lowercase letters) is this concept's word (rule in the module)."""
        return any(form in self.words or form.startswith(self.prefixes) for form in _forms(token))


def _forms(token: str) -> set[str]:
    forms = {token}
    for suffix in SUFFIXES:
        if token.endswith(suffix) and len(token) - len(suffix) >= MIN_BASE:
            base = token[: -len(suffix)]
            forms |= {base, base + "e"}
            if base[-1] == base[-2] and base[-1] not in "aeiou":
                forms.add(base[:-1])
            if base.endswith("i"):
                forms.add(base[:-1] + "y")
    return forms


def tokens(text: str) -> list[str]:
    """Lowercase ASCII-letter tokens of ``text``."""
    return _TOKEN.findall(text.lower())


def parse_lexicon(lines: Iterable[str], concept: str, where: str = "lexicon") -> Lexicon:
    """A :class:`Lexicon` from its lines (format in the module docstring).

    Raises:
        ValueError: On an entry that is not lowercase ASCII letters (with an optional final
            ``*``), naming ``where`` and the line; or on a lexicon with no entries.
    """
    words: set[str] = set()
    prefixes: list[str] = []
    for lineno, raw in enumerate(lines, start=1):
        entry = raw.strip()
        if not entry or entry.startswith("#"):
            continue
        if not _ENTRY.fullmatch(entry):
            raise ValueError(
                f"{where}:{lineno}: entry {entry!r} must be one lowercase word of letters a-z, "
                "optionally ending in * for a prefix"
            )
        if entry.endswith("*"):
            prefixes.append(entry[:-1])
        else:
            words.add(entry)
    if not words and not prefixes:
        raise ValueError(f"{where}: no entries; list one word per line")
    return Lexicon(concept, frozenset(words), tuple(sorted(set(prefixes))))


def load_lexicon(path: str | Path, concept: str | None = None) -> Lexicon:
    """Read ``data/lexicons/<concept>.txt``; the concept defaults to the file's stem.

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: As :func:`parse_lexicon`.
    """
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    return parse_lexicon(text.splitlines(), concept or path.stem, where=str(path))


def load_lexicons(directory: str | Path, concepts: Sequence[str]) -> dict[str, Lexicon]:
    """The lexicons of ``concepts`` from ``directory`` (``<concept>.txt`` each).

    Raises:
        FileNotFoundError: Naming every concept without a lexicon file.
    """
    directory = Path(directory)
    missing = [c for c in concepts if not (directory / f"{c}.txt").is_file()]
    if missing:
        raise FileNotFoundError(
            f"no lexicon for concept(s) {missing} in {directory}; add <concept>.txt with one "
            "word per line"
        )
    return {c: load_lexicon(directory / f"{c}.txt", c) for c in concepts}


def word_rate(text: str, lexicon: Lexicon) -> float:
    """Fraction of the tokens of ``text`` that are the lexicon's words (0.0 without tokens)."""
    toks = tokens(text)
    if not toks:
        return 0.0
    return sum(lexicon.matches(t) for t in toks) / len(toks)


def word_rates(outputs: pd.DataFrame, lexicons: Mapping[str, Lexicon]) -> pd.DataFrame:
    """``outputs`` with a ``word_rate`` column: each text's rate under its row's concept.

    Args:
        outputs: Rows with ``text`` and ``concept`` (the concept steered toward; for the
            baseline, the concept it is scored for, as in the scores table).
        lexicons: Lexicon per concept.

    Raises:
        ValueError: On missing columns or a concept without a lexicon.
    """
    require_columns(outputs, ("text", "concept"), "outputs")
    missing = sorted(set(outputs["concept"]) - set(lexicons))
    if missing:
        raise ValueError(f"no lexicon for concept(s) {missing}; lexicons: {sorted(lexicons)}")
    rates = [
        word_rate(str(text), lexicons[c])
        for text, c in zip(outputs["text"], outputs["concept"], strict=True)
    ]
    return outputs.assign(word_rate=np.asarray(rates, dtype=np.float64))


def lexical_summary(
    rated: pd.DataFrame, by: Sequence[str] = ("method", "n_examples", "concept")
) -> pd.DataFrame:
    """Per group, how the word rate moves with strength.

    Args:
        rated: Output of :func:`word_rates` with a ``strength`` column (strength 0 rows are the
            baseline).
        by: Grouping columns.

    Returns:
        One row per group with ``by``, ``rate_base`` (mean rate at strength 0, NaN without
        such rows), ``rate_max`` (mean rate at the largest strength), ``rho`` (Spearman of rate
        vs strength; 0.0 when undefined, e.g. a constant rate), ``slope`` (least-squares rate per
        unit strength; 0.0 with one strength) and ``n``.

    Raises:
        ValueError: On missing columns or an empty table.
    """
    # here, not at the top: the Snakefile imports this module, and scipy.stats costs each
    # Snakemake run (dry runs, each SLURM job) a second
    from steering.evaluation.correlation import spearman

    require_columns(rated, (*by, "strength", "word_rate"), "rated outputs (from word_rates)")
    if rated.empty:
        raise ValueError("rated outputs are empty; score at least one output")
    rows = []
    for key, group in rated.groupby(list(by), sort=True):
        strength = group["strength"].to_numpy(dtype=np.float64)
        rate = group["word_rate"].to_numpy(dtype=np.float64)
        top = strength.max()
        slope = float(np.polyfit(strength, rate, 1)[0]) if np.ptp(strength) > 0 else 0.0
        base = rate[strength == 0]
        keys = key if isinstance(key, tuple) else (key,)
        rows.append(
            {
                **dict(zip(by, keys, strict=True)),
                "rate_base": float(base.mean()) if base.size else float("nan"),
                "rate_max": float(rate[strength == top].mean()),
                "rho": spearman(rate, strength, x_name="word_rate", y_name="strength").value,
                "slope": slope,
                "n": int(rate.size),
            }
        )
    return pd.DataFrame(rows)
