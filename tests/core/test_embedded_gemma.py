"""The real embedded gemma-3-270m: cache loading, contamination, and steering toward "animal".

Measured on CPU (fp32, one thread, greedy, 40 new tokens, 10 prompts of data/prompts.txt,
layer 12, 16 examples per concept, strength s adds s * |v| along the unit direction):

* method "dual": 0 animal words at +0.5, +1.0, +1.5, +2.0 |v| (and at -0.5..-2.0);
  +3 and +4 |v| only produce degenerate repetition, still 0 animal words.
* method "diffmean": 0 words at baseline; +0.5 |v| 4 of 340 words (2 rows); +1.0 |v|
  5/349 (4 rows); +1.5 |v| 5/337 (2 rows); +2.0 |v| 6/337 (2 rows, fluency starts to
  break); negative strengths 0.

Dual does not steer on this model, so the steering test uses diffmean at 1.5 |v|. Measured
again after the manifold projection was made orthogonal (BENCHMARKS.md B13, data/lexicons):
dual still moves no concept's word rate beyond noise at 0.5..3 |v|, with 16 or 64 examples.
"""

from __future__ import annotations

import re
import time

import numpy as np
import pytest

from steering.core.layers import find_layers
from steering.core.models import CACHE_MARKER, embedded_model_dir, load_model
from steering.fit.calibration import CalibrationSettings
from steering.fit.steerer import ManifoldSteerer
from tests.helpers.tiny_models import DATA, read_lines

pytestmark = pytest.mark.slow

LAYER = 12
MULTIPLE = 1.5
NEW_TOKENS = 40
CONCEPTS = ("action", "animal", "change", "object", "person")
ANIMAL_WORDS = frozenset(
    [
        "dog",
        "dogs",
        "puppy",
        "puppies",
        "cat",
        "cats",
        "kitten",
        "kittens",
        "bird",
        "birds",
        "horse",
        "horses",
        "animal",
        "animals",
        "fish",
        "fishes",
        "pet",
        "pets",
        "wolf",
        "wolves",
        "fox",
        "foxes",
        "bear",
        "bears",
        "lion",
        "lions",
        "tiger",
        "tigers",
        "elephant",
        "elephants",
        "rabbit",
        "rabbits",
        "bunny",
        "mouse",
        "mice",
        "cow",
        "cows",
        "pig",
        "pigs",
        "sheep",
        "lamb",
        "goat",
        "goats",
        "duck",
        "ducks",
        "chicken",
        "chickens",
        "owl",
        "owls",
        "deer",
        "monkey",
        "monkeys",
        "snake",
        "snakes",
        "frog",
        "frogs",
        "squirrel",
        "squirrels",
        "whale",
        "whales",
        "dolphin",
        "dolphins",
        "bee",
        "bees",
        "butterfly",
        "butterflies",
        "insect",
        "insects",
        "turtle",
        "turtles",
        "parrot",
        "parrots",
        "creature",
        "creatures",
        "wildlife",
        "beast",
        "beasts",
        "zoo",
        "paw",
        "paws",
        "fur",
        "feathers",
        "cub",
        "cubs",
        "calf",
        "hound",
        "kitty",
        "pup",
    ]
)


def animal_word_rate(texts: list[str]) -> tuple[float, int]:
    """Share of words that are animal words, and their count."""
    words = [w for text in texts for w in re.findall(r"[a-z]+", text.lower())]
    hits = sum(word in ANIMAL_WORDS for word in words)
    return hits / max(1, len(words)), hits


@pytest.fixture(scope="module")
def gemma():
    try:
        started = time.perf_counter()
        model, tokenizer = load_model("gemma-3-270m", dtype="float32", device="cpu")
    except ModuleNotFoundError as error:
        pytest.skip(f"embedded gemma-3-270m unavailable: {error}")
    return model, tokenizer, time.perf_counter() - started


@pytest.fixture(scope="module")
def data():
    examples = {c: read_lines(f"concepts/{c}.txt", 16) for c in CONCEPTS}
    neutral = read_lines("concepts/neutral.txt", 16)
    # Keep the prompts exactly as written ("Hello, " ends with a space).
    prompts = [line for line in (DATA / "prompts.txt").read_text().splitlines() if line.strip()]
    assert len(prompts) == 10
    return examples, neutral, prompts


def test_loads_from_the_cache(gemma) -> None:
    model, tokenizer, first_seconds = gemma
    folder = embedded_model_dir("gemma-3-270m")
    marker = folder / CACHE_MARKER
    assert marker.is_file()
    marker_mtime = marker.stat().st_mtime
    started = time.perf_counter()
    again, _ = load_model("gemma-3-270m", dtype="float32", device="cpu")
    seconds = time.perf_counter() - started
    assert seconds < 30, f"second load took {seconds:.1f} s (first {first_seconds:.1f} s)"
    assert marker.stat().st_mtime == marker_mtime  # not converted again
    for loaded in (model, again):
        assert type(loaded).__name__ == "Gemma3ForCausalLM"
        assert len(find_layers(loaded)) == 18
    assert tokenizer.padding_side == "left" and tokenizer.pad_token is not None
    assert model.config.steering_model_id == "gemma-3-270m"


def test_contamination_lowers_pairwise_cosine(gemma, data) -> None:
    model, tokenizer, _ = gemma
    examples, neutral, prompts = data
    steerer = ManifoldSteerer(
        model,
        tokenizer,
        layer=LAYER,
        method="contamination",
        calibration=CalibrationSettings(mode="fixed", fixed_multiple=1.0),
    )
    report = steerer.fit(examples, neutral, prompts)
    raw = np.mean(list(report.cosine_raw.values()))
    final = np.mean(list(report.cosine_final.values()))
    assert len(report.cosine_raw) == 10
    assert final < raw - 0.2, (raw, final)


def test_steering_toward_animal_raises_the_animal_word_rate(gemma, data) -> None:
    model, tokenizer, _ = gemma
    examples, neutral, prompts = data
    steerer = ManifoldSteerer(
        model,
        tokenizer,
        layer=LAYER,
        method="diffmean",
        calibration=CalibrationSettings(mode="fixed", fixed_multiple=MULTIPLE),
    )
    steerer.fit(examples, neutral, prompts)

    def rate(strength: float) -> tuple[float, int]:
        texts = steerer.generate_batch(
            prompts,
            "animal",
            [strength] * len(prompts),
            max_new_tokens=NEW_TOKENS,
            progress=False,
        )
        return animal_word_rate(texts)

    baseline, baseline_hits = rate(0.0)
    positive, positive_hits = rate(1.0)
    negative, _ = rate(-1.0)
    assert positive > baseline and positive_hits >= baseline_hits + 3, (baseline, positive)
    assert negative <= baseline, (baseline, negative)
