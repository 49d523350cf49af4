"""The real embedded gemma-3-270m: cache loading, contamination, and steering toward "animal".

Measured on CPU (fp32, one thread, greedy, 40 new tokens, 10 prompts of data/prompts.txt,
layer 12, 16 examples per concept, strength s adds s * |v| along the unit direction):

* method "dual": 0 animal words at +0.5, +1.0, +1.5, +2.0 |v| (and at -0.5..-2.0);
  +3 and +4 |v| only produce degenerate repetition, still 0 animal words.
* method "diffmean": 0 words at baseline; +0.5 |v| 4 of 340 words (2 rows); +1.0 |v|
  5/349 (4 rows); +1.5 |v| 5/337 (2 rows); +2.0 |v| 6/337 (2 rows, fluency starts to
  break); negative strengths 0.

At this small design (one subset, 10 prompts) dual's effect is below noise, so the animal test
uses diffmean at 1.5 |v|. Measured again after the manifold projection was made orthogonal
(BENCHMARKS.md B13, data/lexicons): with 50 rows dual moves no concept's word rate beyond noise
at 0.5..3 |v|, with 16 or 64 examples; its effect is small and needs the default's 150 rows.

At the default run's own design (config.yaml: 3 resamples x 5 concepts x 10 prompts, 30 new
tokens, calibrated strength 1.0 vs 0, n = 16) dual does raise the concept-word rate, from 0.009
to 0.022 (lift 0.013, 95% interval [0.004, 0.023]); the last test reproduces that design.
"""

from __future__ import annotations

import re
import time

import numpy as np
import pandas as pd
import pytest

from steering.core.activations import collect_activations
from steering.core.layers import find_layers
from steering.core.models import CACHE_MARKER, embedded_model_dir, load_model
from steering.evaluation.lexical_intervals import lexical_lift_table
from steering.evaluation.lexicon import load_lexicons, word_rates
from steering.experiment.config import validate_config
from steering.experiment.inputs import load_examples, load_prompts
from steering.experiment.settings import FitSettings, GenerationSettings, from_section
from steering.experiment.yaml_strict import load_config_file
from steering.fit.calibration import CalibrationSettings
from steering.fit.resampled_fit import fit_resamples, resample_subsets, resampled_metadata
from steering.fit.steerer import ManifoldSteerer
from steering.fit.vector_files import save_vectors, tensor_name
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


# --------------------------------------------------------------------------------------------
# Dual at the default run's design (config.yaml), reproduced stage by stage with the library.

REPO = DATA.parent
DUAL_N = 16  # the scale of the default run whose report measured dual's lift above 0


def default_config() -> dict:
    """config.yaml with the schema's defaults filled in, as the Snakefile reads it."""
    return validate_config(
        load_config_file(REPO / "config.yaml"), REPO / "workflow/schemas/config.schema.yaml"
    )


def dual_word_rates(model, tokenizer, config: dict, folder) -> pd.DataFrame:
    """Word-rated outputs of dual at n = DUAL_N, as collect_activations, fit_vectors,
    generate_baseline and generate_steered make them (strength 0 and the largest strength).

    The one difference: the baseline and steered rows are one batched generation here (the
    workflow makes the baseline alone and the steered rows with every non-zero strength).
    """
    data, spec = config["data"], config["model"]
    layer, template = spec["layer"], spec["layer_template"]
    fit = from_section(FitSettings, {k: v for k, v in config["fit"].items() if k != "methods"})
    concepts = list(config["concepts"])
    # collect_activations: every pool whole, and the task-manifold tokens
    examples, neutral = load_examples(REPO / data["concepts_dir"], concepts, 1)
    prompts = load_prompts(REPO / data["prompts"])
    pools = {
        name: collect_activations(
            model,
            tokenizer,
            lines,
            layer,
            pooling=fit.pooling,
            batch_size=fit.batch_size,
            max_length=data["max_prompt_tokens"],
            on_long=data["on_long"],
            layer_template=template,
        )
        for name, lines in {**examples, "neutral": neutral}.items()
    }
    manifold = ManifoldSteerer(
        model,
        tokenizer,
        layer,
        layer_template=template,
        manifold_tokens=fit.manifold_tokens,
        batch_size=fit.batch_size,
    ).manifold_activations(prompts)
    # fit_vectors: every resample's subsets, calibration searched on resample 0
    seed, resamples, held_out = config["seed"], config["resamples"], data["held_out_examples"]
    subsets = resample_subsets(
        {name: len(acts) for name, acts in pools.items()}, [DUAL_N], resamples, seed, held_out
    )
    cal, coherence = config["calibration"], config["coherence"]
    steerer = ManifoldSteerer(
        model,
        tokenizer,
        layer,
        "dual",
        layer_template=template,
        calibration=CalibrationSettings(
            mode=cal["mode"],
            multiples=tuple(cal["multiples"]),
            fixed_multiple=cal["fixed_multiple"],
            n_prompts=cal["n_prompts"],
            max_new_tokens=cal["max_new_tokens"],
            rule=coherence["rule"],
            ratio=cal["ratio"],
            distinct_ratio=coherence["distinct_ratio"],
            first_k=coherence["first_k"],
            min_coherent=cal["min_coherent"],
        ),
        **vars(fit),
    )
    fitted = fit_resamples(
        steerer,
        {c: pools[c] for c in concepts},
        pools["neutral"],
        manifold,
        load_prompts(REPO / data["calibration_prompts"]),
        n=DUAL_N,
        subsets=subsets,
        resamples=resamples,
    )
    save_vectors(
        folder / "dual",
        fitted.vectors,
        resampled_metadata(fitted, steerer.metadata, seed=seed, held_out=held_out),
    )
    # generate_baseline + generate_steered: greedy, every resample's vectors in one call
    steered = ManifoldSteerer.load(
        folder / "dual",
        model,
        tokenizer,
        expect_layer=layer,
        layer_template=template,
        resample=None,
    )
    top = max(config["strengths"])
    rows = [(None, None, i, 0.0) for i in range(len(prompts))] + [
        (r, c, i, top) for r in range(resamples) for c in concepts for i in range(len(prompts))
    ]
    options = from_section(
        GenerationSettings,
        {
            **config["generation"],
            "max_prompt_tokens": data["max_prompt_tokens"],
            "on_long": data["on_long"],
        },
    ).generate_kwargs()
    outputs = steered.generate_rows(
        [prompts[i] for *_, i, _ in rows],
        [None if r is None else tensor_name(r, c) for r, c, _, _ in rows],
        [s for *_, s in rows],
        seed=seed,
        progress=False,
        **options,
    )
    frame = pd.DataFrame(
        [(r, c, i, s, o.text) for (r, c, i, s), o in zip(rows, outputs, strict=True)],
        columns=["resample", "concept", "prompt_id", "strength", "text"],
    ).assign(method="dual", n_examples=DUAL_N)
    # the scores table: the baseline rows enter once per concept, with no resample
    base = frame[frame.concept.isna()]
    frame = pd.concat(
        [frame[frame.concept.notna()], *(base.assign(concept=c) for c in concepts)],
        ignore_index=True,
    )
    return word_rates(frame, load_lexicons(REPO / data["lexicons_dir"], concepts))


def test_dual_raises_the_concept_word_rate_at_the_default_design(gemma, tmp_path) -> None:
    """The default run's judge-free check at n = 16: lift of the word rate, 1.0 vs 0.

    Measured: lift 0.013, 95% interval [0.004, 0.023], rates 0.009 -> 0.022, as the default
    run's report; all 160 texts equal that run's (results/generations). About 2.5 min on CPU,
    half of it the calibration search (the workflow's; its multiples differ per concept).
    """
    model, tokenizer, _ = gemma
    config = default_config()
    assert DUAL_N in config["n_examples"] and config["model"]["name"] == "gemma-3-270m"
    rated = dual_word_rates(model, tokenizer, config, tmp_path)
    table = lexical_lift_table(rated, n_boot=config["metrics"]["n_boot"], seed=config["seed"])
    row = table.iloc[0]
    assert row.n_resamples == config["resamples"] and row.n_concepts == len(config["concepts"])
    assert row.ci_low > 0, table.to_string()
