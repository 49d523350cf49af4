"""Tests for steering.evaluation.lexicon and the lexicons in data/lexicons."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from steering.evaluation.lexicon import (
    Lexicon,
    lexical_summary,
    load_lexicon,
    load_lexicons,
    parse_lexicon,
    tokens,
    word_rate,
    word_rates,
)

LEXICONS = Path(__file__).resolve().parents[2] / "data" / "lexicons"
CONCEPTS = ("person", "change", "animal", "object", "action")
ANIMAL = Lexicon("animal", frozenset({"dog", "puppy", "fox", "mice", "run", "change"}), ("wolf",))


def test_tokens_lowercase_letters_only() -> None:
    assert tokens("The dog's 3 PUPPIES ran!") == ["the", "dog", "s", "puppies", "ran"]


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("dog", True),
        ("dogs", True),
        ("foxes", True),  # es
        ("puppies", True),  # i -> y
        ("running", True),  # doubled consonant undone
        ("changing", True),  # e restored
        ("changed", True),
        ("mice", True),  # listed irregular
        ("wolfish", True),  # prefix entry
        ("cater", False),  # er is no suffix
        ("do", False),
        ("ding", False),  # base shorter than 3 letters
        ("runs", True),
        ("rung", False),
    ],
)
def test_inflection_rule(token: str, expected: bool) -> None:
    assert ANIMAL.matches(token) is expected


def test_word_rate_by_hand() -> None:
    assert word_rate("Two dogs and a fox.", ANIMAL) == pytest.approx(2 / 5)
    assert word_rate("", ANIMAL) == 0.0
    assert word_rate("!!!", ANIMAL) == 0.0


def test_parse_lexicon_comments_prefixes_and_errors() -> None:
    lex = parse_lexicon(["# comment", "", "dog", "transform*"], "x")
    assert lex.words == frozenset({"dog"}) and lex.prefixes == ("transform",)
    with pytest.raises(ValueError, match=r"where:2: entry 'Big Dog' must be one lowercase word"):
        parse_lexicon(["dog", "Big Dog"], "x", where="where")
    with pytest.raises(ValueError, match="no entries"):
        parse_lexicon(["# only a comment"], "x")


def test_shipped_lexicons_are_valid_and_sized() -> None:
    lexicons = load_lexicons(LEXICONS, CONCEPTS)
    for concept, lex in lexicons.items():
        size = len(lex.words) + len(lex.prefixes)
        assert 40 <= size <= 80, (concept, size)
    seen: dict[str, str] = {}
    for concept, lex in lexicons.items():
        for word in lex.words:
            assert word not in seen, f"{word!r} is in both {seen.get(word)} and {concept}"
            seen[word] = concept
    with pytest.raises(FileNotFoundError, match=r"no lexicon for concept\(s\) \['colour'\]"):
        load_lexicons(LEXICONS, ["animal", "colour"])


def test_shipped_lexicons_fire_on_concept_text_and_not_on_neutral() -> None:
    lexicons = {c: load_lexicon(LEXICONS / f"{c}.txt") for c in CONCEPTS}
    examples = {
        "animal": "The fox chased two rabbits past the sleeping puppies.",
        "person": "My aunt and her neighbours, a retired nurse and a teacher, are old friends.",
        "change": "The town changed and slowly transformed as the river eroded the banks.",
        "object": "A chipped mug, a brass key and a wooden spoon lay on the shelf.",
        "action": "She sprinted, leapt over the log and threw the ball.",
    }
    neutral = "The meeting notes are filed under the third quarter of the year."
    for concept, text in examples.items():
        rates = {c: word_rate(text, lex) for c, lex in lexicons.items()}
        assert max(rates, key=rates.__getitem__) == concept, rates
        assert word_rate(neutral, lexicons[concept]) == 0.0


def test_word_rates_and_summary_by_hand() -> None:
    outputs = pd.DataFrame(
        {
            "method": "dual",
            "n_examples": 4,
            "concept": "animal",
            "strength": [0.0, 0.0, 1.0, 1.0, 2.0, 2.0],
            "text": ["a b c d", "a b c d", "dog b c d", "a b c d", "dog fox c d", "dog b c d"],
        }
    )
    rated = word_rates(outputs, {"animal": ANIMAL})
    assert rated["word_rate"].tolist() == [0, 0, 0.25, 0, 0.5, 0.25]
    row = lexical_summary(rated).iloc[0]
    assert (row.rate_base, row.rate_max, row.n) == (0.0, 0.375, 6)
    assert row.slope == pytest.approx(0.1875)  # means 0, 0.125, 0.375 at 0, 1, 2
    assert row.rho > 0.8
    flat = lexical_summary(rated.assign(word_rate=0.1)).iloc[0]
    assert (flat.rho, flat.slope) == (0.0, pytest.approx(0.0))
    with pytest.raises(ValueError, match=r"no lexicon for concept\(s\) \['person'\]"):
        word_rates(outputs.assign(concept="person"), {"animal": ANIMAL})
