"""A catalogue of bad inputs: each case names the exact error, and its message must name the
file, key or value at fault and say how to fix it.

Config cases go through :func:`steering.experiment.config.validate_config` (schema defaults +
JSON-schema validation + :func:`check_config`), which is what the workflow runs at parse time,
before any job. Input-file, model and cache cases call the library function that the workflow
(or a user) calls first; none of them needs more than a tiny random model.
"""

from __future__ import annotations

import copy
import logging
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from torch import nn

from steering.core.layers import find_layers, resolve_layer
from steering.core.models import prepare_tokenizer
from steering.evaluation.judges.factory import make_judge
from steering.experiment.config import check_config, validate_config
from steering.experiment.inputs import ConfigError, load_examples, load_prompts, read_lines
from steering.experiment.judge_inputs import load_ratings, load_rubrics
from steering.fit.steerer import ManifoldSteerer
from steering.fit.vector_files import VectorFileError, load_vectors, save_vectors
from steering.fit.vectors import SteeringVector
from steering.io import (
    CorruptFileError,
    is_readable,
    load_npz,
    read_json,
    read_parquet,
    save_npz,
    write_json,
    write_parquet,
)

torch.set_num_threads(1)

REPO = Path(__file__).resolve().parents[2]
SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"

# The tiny project's config (tests/helpers/workflow_project.py), minus the model path it needs.
BASE_CONFIG: dict[str, Any] = {
    "model": {"name": "tiny-model", "layer": 1},
    "concepts": {c: {"description": f"{c}s", "opposite": f"no {c}s"} for c in ("animal", "object")},
    "n_examples": [2, 4],
    "strengths": [-1.0, 0.0, 1.0],
    "generation": {"max_new_tokens": 4, "batch_size": 8},
    "fit": {"manifold_tokens": 4, "min_manifold_samples": 4, "batch_size": 8},
    "ablation": {"n_examples": [4], "methods": ["diffmean"], "random_control": True},
    "judge": {"batch_size": 8, "max_text_tokens": 32},
    "metrics": {"n_boot": 20},
}


@dataclass
class Ctx:
    """What a case may use: a scratch folder and (lazily) the tiny model and tokenizer."""

    tmp: Path
    request: pytest.FixtureRequest
    monkeypatch: pytest.MonkeyPatch

    @property
    def tokenizer(self):
        return self.request.getfixturevalue("tokenizer")

    @property
    def model(self):
        from tests.helpers.tiny_models import tiny_model

        return tiny_model("llama", "fp32").model

    def steerer(self, method: str = "diffmean"):
        return ManifoldSteerer(self.model, self.tokenizer, layer=1, method=method)


@dataclass(frozen=True)
class Case:
    id: str
    run: Callable[[Ctx], Any]
    error: type[BaseException]
    match: str


def config_with(**changes: Any) -> dict[str, Any]:
    """BASE_CONFIG with keys replaced; ``__`` separates levels (``generation__batch_size=8``)."""
    config = copy.deepcopy(BASE_CONFIG)
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        node = config
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value
    return config


def cfg(**changes: Any) -> Callable[[Ctx], Any]:
    return lambda ctx: validate_config(config_with(**changes), SCHEMA)


def cfg_case(case_id: str, match: str, **changes: Any) -> Case:
    return Case(case_id, cfg(**changes), ConfigError, match)


# ------------------------------------------------------------------------------ input files
def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def concepts_dir(ctx: Ctx, **files: str | bytes | None) -> Path:
    """A concepts folder with 4 good examples per file unless overridden (None = no file)."""
    folder = ctx.tmp / "concepts"
    defaults = {
        "animal": "a cat\na dog\na horse\na cow\n",
        "object": "a chair\na table\na cup\na lamp\n",
        "neutral": "it is\nthere was\nand then\nso it goes\n",
    }
    for name, text in {**defaults, **files}.items():
        if text is not None:
            write(folder / f"{name}.txt", text)
    return folder


def examples(ctx: Ctx, needed: int = 4, **files: str | bytes | None) -> Any:
    return load_examples(concepts_dir(ctx, **files), ["animal", "object"], needed)


# ---------------------------------------------------------------------------- model cases
class NoLayersModel(nn.Module):
    """An architecture with no known decoder block list."""

    def __init__(self) -> None:
        super().__init__()
        self.stack = nn.ModuleList([nn.Linear(4, 4), nn.Linear(4, 4)])


def no_special_tokens_tokenizer():
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    raw = Tokenizer(models.WordLevel({"a": 0, "b": 1}, unk_token=None))
    raw.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(tokenizer_object=raw, name_or_path="bare-tokenizer")


def steerer_with_animal(ctx: Ctx):
    steerer = ctx.steerer()
    direction = np.zeros(32, dtype=np.float32)
    direction[0] = 1.0
    steerer.vectors = {"animal": SteeringVector("animal", direction, 1.0, 1.0, "diffmean")}
    return steerer


def nan_activations(ctx: Ctx):
    from steering.core.activations import collect_activations
    from steering.core.layers import get_layer

    def poison(_module, _inputs, output):
        if isinstance(output, tuple):
            return (torch.full_like(output[0], float("nan")), *output[1:])
        return torch.full_like(output, float("nan"))

    handle = get_layer(ctx.model, 0).register_forward_hook(poison)
    try:
        collect_activations(ctx.model, ctx.tokenizer, ["a cat", "a dog"], 1, progress=False)
    finally:
        handle.remove()


def nan_fit(ctx: Ctx):
    rng = np.random.default_rng(0)
    acts = {c: rng.normal(size=(4, 32)).astype(np.float32) for c in ("animal", "object")}
    acts["object"][2, 5] = np.inf
    ctx.steerer().fit_from_activations(acts, rng.normal(size=(4, 32)), None, ["Hello"])


def saved_vectors(ctx: Ctx, model_id: str = "tiny-llama", layer: int = 1) -> Path:
    direction = np.ones(32, dtype=np.float32) / np.sqrt(32)
    base = ctx.tmp / "vectors" / "dual"
    save_vectors(
        base,
        {"animal": SteeringVector("animal", direction, 2.0, 3.0, "dual")},
        {"model_id": model_id, "layer": layer, "method": "dual", "hidden_size": 32},
    )
    return base


def corrupt_safetensors(ctx: Ctx):
    base = saved_vectors(ctx)
    path = base.with_suffix(".safetensors")
    data = bytearray(path.read_bytes())
    data[-3] ^= 0xFF
    path.write_bytes(bytes(data))
    load_vectors(base)


def truncated(path: Path, keep: float = 0.5) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def corrupt_parquet(ctx: Ctx):
    path = ctx.tmp / "generations" / "baseline.parquet"
    write_parquet(path, pd.DataFrame({"text": ["a", "b"] * 50}), {"stage": "test"})
    read_parquet(truncated(path))


def corrupt_npz(ctx: Ctx):
    path = ctx.tmp / "activations" / "acts.npz"
    save_npz(path, {"x": np.arange(1000, dtype=np.float32)})
    load_npz(truncated(path))


def corrupt_json(ctx: Ctx):
    path = ctx.tmp / "meta.json"
    write_json(path, {"a": list(range(100))})
    read_json(truncated(path))


def long_prompt(ctx: Ctx):
    from steering.core.generation import generate

    generate(
        ctx.model,
        ctx.tokenizer,
        ["word " * 200],
        max_new_tokens=2,
        max_prompt_tokens=16,
        on_long="error",
        progress=False,
    )


def ratings(ctx: Ctx, header: str) -> Any:
    return load_ratings(write(ctx.tmp / "ratings.csv", header + "\n" + "x,1\n"))


def shots_without_object(ctx: Ctx):
    shots = {"rubric_version": 1}
    for kind in ("concept", "opposite", "bipolar"):
        shots[kind] = {"animal": [{"text": "a cat", "score": 9}]}
    path = write(ctx.tmp / "judge_shots.yaml", yaml.safe_dump(shots))
    load_rubrics(path, BASE_CONFIG["concepts"])


def load_model_case(spec: str) -> Callable[[Ctx], Any]:
    def run(ctx: Ctx):
        from steering.core.models import load_model

        ctx.monkeypatch.chdir(ctx.tmp)
        load_model(spec, device="cpu")

    return run


CASES: list[Case] = [
    # --- config: schema (validate_config) --------------------------------------------------
    cfg_case(
        "config-misspelt-top-key",
        r"config key 'n_example' is not allowed \(unknown key\); did you mean 'n_examples'\? "
        r"valid keys: results_dir, .*Fix the spelling or remove it",
        n_example=[2, 4],
    ),
    cfg_case(
        "config-misspelt-nested-key",
        r"config key 'generation\.max_new_token' is not allowed \(unknown key\); did you "
        r"mean 'generation\.max_new_tokens'\? valid keys of 'generation': max_new_tokens",
        generation__max_new_token=4,
    ),
    cfg_case(
        "config-misspelt-concept-field",
        r"config key 'concepts\.animal\.oposite' is not allowed.*did you mean "
        r"'concepts\.animal\.opposite'",
        concepts__animal={"description": "animals", "oposite": "machines"},
    ),
    cfg_case(
        "config-concept-missing-field",
        r"config key 'concepts\.animal' lacks required key\(s\) \['opposite'\]; add "
        r"'concepts\.animal\.opposite'",
        concepts__animal={"description": "animals"},
    ),
    cfg_case(
        "config-no-concepts",
        r"config key 'concepts' = \{\}: must have at least 1 entry",
        concepts={},
    ),
    cfg_case(
        "config-wrong-type-string-for-int",
        r"config key 'generation\.batch_size' = '8' has type str; it must be an integer",
        generation__batch_size="8",
    ),
    cfg_case(
        "config-wrong-type-float-layer",
        r"config key 'model\.layer' = 1\.5 has type float; it must be an integer",
        model__layer=1.5,
    ),
    cfg_case(
        "config-wrong-type-section",
        r"config key 'model' = 'gemma' has type str; it must be a mapping",
        model="gemma",
    ),
    cfg_case(
        "config-max-new-tokens-zero",
        r"config key 'generation\.max_new_tokens' = 0: must be >= 1",
        generation__max_new_tokens=0,
    ),
    cfg_case(
        "config-max-new-tokens-negative",
        r"config key 'generation\.max_new_tokens' = -5: must be >= 1",
        generation__max_new_tokens=-5,
    ),
    cfg_case(
        "config-coherence-ratio-zero",
        r"config key 'coherence\.ratio' = 0: must be > 0",
        coherence__ratio=0,
    ),
    cfg_case(
        "config-coherence-ratio-negative",
        r"config key 'coherence\.ratio' = -1\.5: must be > 0",
        coherence__ratio=-1.5,
    ),
    cfg_case(
        "config-n-examples-below-2",
        r"config key 'n_examples\[0\]' = 1: must be >= 2",
        n_examples=[1, 4],
    ),
    cfg_case(
        "config-n-examples-empty",
        r"config key 'n_examples' = \[\]: must have at least 1 item",
        n_examples=[],
    ),
    cfg_case(
        "config-n-examples-not-increasing",
        r"config key 'n_examples' = \[4, 2\] must be strictly increasing without duplicates; "
        r"use e\.g\. \[2, 4\]",
        n_examples=[4, 2],
    ),
    cfg_case(
        "config-n-examples-duplicated",
        r"config key 'n_examples' = \[2, 2, 4\] must be strictly increasing without duplicates",
        n_examples=[2, 2, 4],
    ),
    cfg_case(
        "config-old-scales-key",
        r"config key 'scales' was renamed; rename it to 'n_examples'",
        scales=[2, 4],
    ),
    cfg_case(
        "config-strengths-empty",
        r"config key 'strengths' = \[\]: must have at least 1",
        strengths=[],
    ),
    cfg_case(
        "config-strengths-non-numeric",
        r"config key 'strengths\[1\]' = 'high' has type str; it must be a number",
        strengths=[0.0, "high"],
    ),
    cfg_case(
        "config-strengths-bool",
        r"config key 'strengths\[0\]' = True has type bool; it must be a number",
        strengths=[True],
    ),
    cfg_case(
        "config-strengths-nan",
        r"config key 'strengths\[1\]' = nan is not a finite number; NaN and infinity are "
        r"refused",
        strengths=[0.0, float("nan")],
    ),
    cfg_case(
        "config-strengths-duplicated",
        r"config key 'strengths' = \[1\.0, 1\.0\] contains duplicates",
        strengths=[1.0, 1.0],
    ),
    cfg_case(
        "config-judge-backend-unknown",
        r"config key 'judge\.backend' = 'opnai' is not allowed; did you mean 'openai'\? "
        r"use one of \['local', 'openai'\]",
        judge__backend="opnai",
    ),
    cfg_case(
        "config-dtype-unknown",
        r"config key 'model\.dtype' = 'fp8' is not allowed; use one of \['auto'",
        model__dtype="fp8",
    ),
    cfg_case(
        "config-on-long-unknown",
        r"config key 'data\.on_long' = 'skip' is not allowed; use one of \['truncate', "
        r"'error'\]",
        data__on_long="skip",
    ),
    cfg_case(
        "config-contamination-rank-too-big",
        r"config key 'fit\.contamination_rank' = 2 must be below the number of concepts "
        r"\(2\).*Use at most 1",
        fit__contamination_rank=2,
    ),
    cfg_case(
        "config-ablation-n-examples-unknown",
        r"config key 'ablation\.n_examples' has 8, which is not in 'n_examples' \[2, 4\]",
        ablation__n_examples=[8],
    ),
    cfg_case(
        "config-neutral-concept",
        r"'neutral' is reserved",
        concepts={
            "neutral": {"description": "x", "opposite": "y"},
            "animal": {"description": "a", "opposite": "b"},
        },
    ),
    cfg_case(
        "config-endpoint-url-malformed",
        r"judge\.base_url='localhost:8000/v1' is not an http\(s\) URL with a host; use "
        r"e\.g\. 'http://127\.0\.0\.1:8000/v1'",
        judge__backend="openai",
        judge__base_url="localhost:8000/v1",
    ),
    cfg_case(
        "config-endpoint-url-missing",
        r"judge\.base_url=None is not an http\(s\) URL",
        judge__backend="openai",
    ),
    cfg_case(
        "config-api-key-env-unset",
        r"judge\.api_key_env names 'STEERING_SURELY_UNSET_KEY', but that environment "
        r"variable is unset; export STEERING_SURELY_UNSET_KEY=",
        judge__backend="openai",
        judge__base_url="http://127.0.0.1:9/v1",
        judge__api_key_env="STEERING_SURELY_UNSET_KEY",
    ),
    cfg_case(
        "config-path-escapes",
        r"data\.prompts='\.\./prompts\.txt' points outside the "
        r"working directory.*allow_external_paths: true",
        data__prompts="../prompts.txt",
    ),
    Case(
        "config-schema-missing",
        lambda ctx: validate_config({}, ctx.tmp / "nope.yaml"),
        ConfigError,
        r"Config schema .*nope\.yaml does not exist",
    ),
    # --- input files ------------------------------------------------------------------------
    Case(
        "examples-file-missing",
        lambda ctx: examples(ctx, object=None),
        ConfigError,
        r"Concept 'object' has no examples file: .*object\.txt does not exist\. Add it",
    ),
    Case(
        "examples-neutral-missing",
        lambda ctx: examples(ctx, neutral=None),
        ConfigError,
        r"Concept 'neutral' has no examples file: .*neutral\.txt",
    ),
    Case(
        "examples-too-few",
        lambda ctx: examples(ctx, animal="a cat\na dog\na cow\n"),
        ConfigError,
        r"animal\.txt has 3 examples but the largest n_examples \(4\) plus "
        r"'data\.held_out_examples' \(0\) need 4; add 1 more examples, or lower 'n_examples'",
    ),
    Case(
        "examples-empty-file",
        lambda ctx: examples(ctx, animal=""),
        ConfigError,
        r"animal\.txt has 0 examples but the largest n_examples \(4\) plus",
    ),
    Case(
        "examples-empty-line",
        lambda ctx: examples(ctx, animal="a cat\n\na dog\na cow\na ox\n"),
        ConfigError,
        r"animal\.txt:2: empty or whitespace-only example; remove it",
    ),
    Case(
        "examples-whitespace-line",
        lambda ctx: examples(ctx, animal="a cat\n  \t \na dog\na cow\na ox\n"),
        ConfigError,
        r"animal\.txt:2: empty or whitespace-only example",
    ),
    Case(
        "examples-duplicate",
        lambda ctx: examples(ctx, animal="a cat\na dog\na cat\na cow\n"),
        ConfigError,
        r"animal\.txt:3: duplicate example \(same as line 1\): 'a cat'",
    ),
    Case(
        "examples-not-utf8",
        lambda ctx: examples(ctx, animal=b"a cat\n" + "a ch\u00e8vre\n".encode("latin-1")),
        ConfigError,
        r"animal\.txt is not UTF-8 \(line 2, byte \d+\); re-save it as UTF-8",
    ),
    Case(
        "prompts-missing",
        lambda ctx: load_prompts(ctx.tmp / "prompts.txt"),
        ConfigError,
        r"prompt file .*prompts\.txt does not exist",
    ),
    Case(
        "prompts-duplicate",
        lambda ctx: load_prompts(write(ctx.tmp / "p.txt", "Hello, \nBye\nHello, \n")),
        ConfigError,
        r"p\.txt:3: duplicate prompt \(same as line 1\)",
    ),
    Case(
        "ratings-missing-columns",
        lambda ctx: ratings(ctx, "text,rating"),
        ConfigError,
        r"Ratings file .*ratings\.csv lacks columns \['concept', 'score'\]; it needs concept, "
        r"score and output_id or text",
    ),
    Case(
        "ratings-missing-id-column",
        lambda ctx: ratings(ctx, "concept,score"),
        ConfigError,
        r"ratings\.csv lacks columns \['output_id or text'\]",
    ),
    Case(
        "judge-shots-missing-concept",
        shots_without_object,
        ConfigError,
        r"judge_shots\.yaml: no 'concept' shots for concept 'object'",
    ),
    # --- in-memory examples (the library API) -----------------------------------------------
    Case(
        "fit-duplicate-examples",
        lambda ctx: ctx.steerer().fit({"animal": ["a cat", "a dog", "a cat"]}, ["it"], ["Hi"]),
        ValueError,
        r"Concept 'animal': examples 2 duplicates examples 0 \('a cat'\); remove",
    ),
    Case(
        "fit-whitespace-example",
        lambda ctx: ctx.steerer().fit({"animal": ["a cat", "   "]}, ["it"], ["Hi"]),
        ValueError,
        r"Concept 'animal': examples 1 is empty or whitespace",
    ),
    Case(
        "fit-no-examples",
        lambda ctx: ctx.steerer().fit({"animal": []}, ["it"], ["Hi"]),
        ValueError,
        r"Concept 'animal' has no examples",
    ),
    # --- models and layers ------------------------------------------------------------------
    Case(
        "model-unknown-name",
        load_model_case("gemma-4-9000"),
        ValueError,
        r"Unknown model 'gemma-4-9000': not an embedded name \['gemma-3-270m', "
        r"'smollm2-135m-instruct'\], not an existing folder, and not a hub id",
    ),
    Case(
        "model-missing-local-path",
        load_model_case("./models/nope"),
        FileNotFoundError,
        r"Model path '\./models/nope' does not exist\. Give an existing folder",
    ),
    Case(
        "layer-out-of-range",
        lambda ctx: ManifoldSteerer(ctx.model, ctx.tokenizer, layer=7),
        ValueError,
        r"layer=7 is out of range for LlamaForCausalLM with 3 layers; valid: 0\.\.2 or "
        r"-3\.\.-1",
    ),
    Case(
        "layer-negative-out-of-range",
        lambda ctx: resolve_layer(ctx.model, -4),
        ValueError,
        r"layer=-4 is out of range .* valid: 0\.\.2 or -3\.\.-1",
    ),
    Case(
        "architecture-without-known-layers",
        lambda ctx: resolve_layer(NoLayersModel(), 0),
        ValueError,
        r"Could not find the decoder layers of NoLayersModel.*Module lists present: "
        r"\['stack'\]\. Pass layer_template='<path>\.\{num\}'",
    ),
    Case(
        "layer-template-without-num",
        lambda ctx: find_layers(ctx.model, "model.layers"),
        ValueError,
        r"layer_template 'model\.layers' must contain '\{num\}'",
    ),
    Case(
        "layer-template-matches-nothing",
        lambda ctx: find_layers(ctx.model, "model.h.{num}"),
        ValueError,
        r"layer_template 'model\.h\.\{num\}' matches no module of LlamaForCausalLM",
    ),
    Case(
        "tokenizer-without-pad-eos-unk",
        lambda ctx: prepare_tokenizer(no_special_tokens_tokenizer()),
        ValueError,
        r"Tokenizer 'bare-tokenizer' has no pad, eos or unk token to pad with; set "
        r"tokenizer\.pad_token",
    ),
    # --- steering and generation ------------------------------------------------------------
    Case(
        "generate-unfitted-concept",
        lambda ctx: steerer_with_animal(ctx).generate("Hello, ", "dragon", 0.5),
        ValueError,
        r"Concept 'dragon' not fitted; fitted: \['animal'\]\. Pass concept=None",
    ),
    Case(
        "generate-before-fit",
        lambda ctx: ctx.steerer().generate("Hello, ", "animal", 0.5),
        ValueError,
        r"Concept 'animal' not fitted; fitted: \[\]",
    ),
    Case(
        "generate-strength-nan",
        lambda ctx: steerer_with_animal(ctx).generate("Hello, ", "animal", float("nan")),
        ValueError,
        r"strength nan is not a finite number",
    ),
    Case(
        "generate-max-new-tokens-zero",
        lambda ctx: steerer_with_animal(ctx).generate("Hello, ", "animal", 0.5, max_new_tokens=0),
        ValueError,
        r"max_new_tokens=0 must be > 0",
    ),
    Case(
        "generate-prompt-too-long",
        long_prompt,
        ValueError,
        r"Text 0 \('word word .*has \d+ tokens > max_length=16; shorten it, raise max_length, "
        r"or set on_long: truncate",
    ),
    Case(
        "unknown-method",
        lambda ctx: ctx.steerer("pca"),
        ValueError,
        r"Unknown method 'pca'; choose one of \('diffmean', 'contamination', 'manifold', "
        r"'dual'\)",
    ),
    Case(
        "judge-backend-unknown",
        lambda ctx: make_judge({"backend": "anthropic"}),
        ValueError,
        r"Unknown judge backend 'anthropic'; use one of \('local', 'openai'\)",
    ),
    # --- activations and caches -------------------------------------------------------------
    Case(
        "activations-nan",
        nan_activations,
        FloatingPointError,
        r"Non-finite \(NaN/inf\) activations for example 0 \('a cat'\).*use dtype float32",
    ),
    Case(
        "fit-activations-inf",
        nan_fit,
        FloatingPointError,
        r"concept 'object' activations contain NaN/inf in 1 of 4 rows \(first: \[2\]\).*"
        r"float32",
    ),
    Case(
        "vectors-from-another-model",
        lambda ctx: load_vectors(saved_vectors(ctx, "tiny-gpt2"), expect_model="tiny-llama"),
        VectorFileError,
        r"dual was fitted on model 'tiny-gpt2', not 'tiny-llama'; refit the vectors",
    ),
    Case(
        "vectors-from-another-layer",
        lambda ctx: load_vectors(
            saved_vectors(ctx, layer=2), expect_model="tiny-llama", expect_layer=1
        ),
        VectorFileError,
        r"dual was fitted at layer 2, not layer 1; refit the vectors",
    ),
    Case(
        "vectors-load-into-another-model",
        lambda ctx: ManifoldSteerer.load(saved_vectors(ctx, "tiny-gpt2"), ctx.model, ctx.tokenizer),
        VectorFileError,
        r"fitted on model 'tiny-gpt2', not 'tiny-llama'",
    ),
    Case(
        "vectors-corrupt-safetensors",
        corrupt_safetensors,
        VectorFileError,
        r"dual\.safetensors does not match the checksum in .*dual\.json: the file is corrupt",
    ),
    Case(
        "vectors-missing-json",
        lambda ctx: (
            saved_vectors(ctx).with_suffix(".json").unlink(),
            load_vectors(ctx.tmp / "vectors" / "dual"),
        ),
        VectorFileError,
        r"Vectors file .*dual\.json is missing; refit the vectors",
    ),
    Case(
        "cache-corrupt-parquet",
        corrupt_parquet,
        CorruptFileError,
        r"baseline\.parquet is not a readable Parquet file",
    ),
    Case("cache-corrupt-npz", corrupt_npz, CorruptFileError, r"acts\.npz is not a readable npz"),
    Case(
        "cache-corrupt-json",
        corrupt_json,
        CorruptFileError,
        r"meta\.json is not valid JSON \(Expecting value",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(
    case: Case, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STEERING_SURELY_UNSET_KEY", raising=False)
    with pytest.raises(case.error, match=case.match):
        case.run(Ctx(tmp_path, request, monkeypatch))


def test_catalogue_is_large_and_ids_unique() -> None:
    assert len(CASES) >= 30
    assert len({c.id for c in CASES}) == len(CASES)


# ------------------------------------------------------------------- the good side of a case
def test_validate_config_fills_defaults_recursively_without_mutating() -> None:
    config = copy.deepcopy(BASE_CONFIG)
    filled = validate_config(config, SCHEMA)
    assert config == BASE_CONFIG
    assert filled["generation"] == {
        "max_new_tokens": 4,
        "batch_size": 8,
        "do_sample": False,
        "temperature": 1.0,
        "top_p": 1.0,
    }
    assert filled["coherence"]["ratio"] == 1.5  # a whole section from its defaults
    assert filled["judge"]["backend"] == "local" and filled["judge"]["api_key_env"] is None
    assert filled["results_dir"] == "results" and filled["allow_external_paths"] is False
    assert filled["model"]["trust_remote_code"] is False
    # Validating the filled config again changes nothing.
    assert validate_config(filled, SCHEMA) == filled


def test_validate_config_reports_every_error() -> None:
    with pytest.raises(ConfigError) as info:
        validate_config(config_with(n_example=[2], generation__max_new_tokens=0), SCHEMA)
    assert "'n_example'" in str(info.value) and "'generation.max_new_tokens' = 0" in str(info.value)


def test_check_config_accepts_the_filled_default_config() -> None:
    check_config(validate_config({}, SCHEMA))


def test_tokenizer_without_pad_gets_eos_as_pad() -> None:
    from transformers import PreTrainedTokenizerFast

    bare = no_special_tokens_tokenizer()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bare.backend_tokenizer, eos_token="b")
    assert tokenizer.pad_token is None
    prepared = prepare_tokenizer(tokenizer)
    assert prepared.pad_token == "b" and prepared.padding_side == "left"


def test_long_prompt_is_truncated_with_a_warning(tokenizer, caplog) -> None:
    from steering.core.activations import tokenize

    with caplog.at_level(logging.WARNING, logger="steering.core.activations"):
        ids = tokenize(tokenizer, ["word " * 200, "short"], max_length=16, on_long="truncate")
    assert len(ids[0]) == 16 and len(ids[1]) < 16
    assert "Text 0 ('word word" in caplog.text and "truncated from" in caplog.text


def test_read_lines_keeps_trailing_space_for_prompts(tmp_path: Path) -> None:
    path = write(tmp_path / "p.txt", "Hello, \nBye\n")
    assert load_prompts(path) == ["Hello, ", "Bye"]
    assert read_lines(path) == ["Hello,", "Bye"]


@pytest.mark.parametrize("suffix", [".parquet", ".npz", ".json", ".safetensors"])
def test_unreadable_files_are_detected_and_left_alone(tmp_path: Path, suffix: str) -> None:
    ctx = Ctx(tmp_path, None, None)  # type: ignore[arg-type]
    writers = {
        ".parquet": lambda p: write_parquet(p, pd.DataFrame({"a": range(200)}), {"x": 1}),
        ".npz": lambda p: save_npz(p, {"a": np.arange(500)}),
        ".json": lambda p: write_json(p, {"a": list(range(50))}),
        ".safetensors": lambda p: saved_vectors(ctx),
    }
    path = (
        (tmp_path / "vectors" / "dual.safetensors")
        if suffix == ".safetensors"
        else tmp_path / f"out{suffix}"
    )
    writers[suffix](path)
    good = tmp_path / f"good{suffix}"
    good.write_bytes(path.read_bytes())
    assert is_readable(path)
    truncated(path, 0.4)
    assert not is_readable(path)
    assert is_readable(good)
    assert path.exists(), "detection must never delete a file"


def _dry_run(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-n", "--cores", "1",
         *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _edit_project(project: Path, edit: str) -> list[str]:
    """Make one fault in a fresh tiny project; returns extra snakemake arguments."""
    config_path = project / "config.yaml"
    data = project / "data"
    if edit in ("n_example", "scales"):
        config = yaml.safe_load(config_path.read_text())
        config[edit] = config.pop("n_examples")
        config_path.write_text(yaml.safe_dump(config))
    elif edit == "short":
        (data / "concepts" / "animal.txt").write_text("a cat\na dog\n")
    elif edit == "duplicate-key":
        config_path.write_text(config_path.read_text() + "seed: 3\nseed: 4\n")
    elif edit == "alias":
        (project / "extra.yaml").write_text("a: &a [x, x]\nb: [*a, *a]\n")
        return ["--configfile", "extra.yaml"]
    elif edit == "shots-score":
        shots = yaml.safe_load((data / "judge_shots.yaml").read_text())
        shots["bipolar"]["animal"][0]["score"] = 10
        (data / "judge_shots.yaml").write_text(yaml.safe_dump(shots))
    elif edit == "ratings-concept":
        (data / "ratings.csv").write_text("output_id,concept,score\n0,animal,3\n1,dragon,4\n")
        return ["--config", 'judge={"ratings": "data/ratings.csv"}']
    elif edit == "nan-on-command-line":
        return ["--config", 'coherence={"ratio": .nan}']
    elif edit == "zero-width-example":
        (data / "concepts" / "animal.txt").write_text("a cat\n\u200b\na dog\na cow\na ox\n")
    return []


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        ("n_example", r"config key 'n_example' is not allowed \(unknown key\); did you mean "
         r"'n_examples'"),
        ("scales", r"config key 'scales' was renamed; rename it to 'n_examples'"),
        ("short", r"animal\.txt has 2 examples but the largest n_examples \(4\) plus "
         r"'data\.held_out_examples' \(2\) need 6"),
        ("duplicate-key", r"config\.yaml:\d+: key 'seed' appears twice in the same mapping"),
        ("alias", r"extra\.yaml:2: YAML alias '\*a' is not allowed"),
        ("shots-score", r"judge_shots\.yaml: bipolar\.animal\[0\]\.score = 10 must be an "
         r"integer from 0 to 9"),
        ("ratings-concept", r"ratings\.csv:3: unknown concept 'dragon'"),
        ("nan-on-command-line", r"config key 'coherence\.ratio' = nan is not a finite number"),
        ("zero-width-example", r"animal\.txt:2: the example is blank \(only invisible "
         r"characters U\+200B\)"),
    ],
)
def test_workflow_fails_at_parse_time_naming_the_fault(
    tmp_path: Path, edit: str, match: str
) -> None:
    """The workflow refuses a bad config, config file or data file in a dry run, before it
    builds any job (one Snakemake start per fault; the library cases cover the rest)."""
    from tests.helpers.workflow_project import make_project

    project = make_project(tmp_path / "proj", tmp_path / "no-model-needed")
    result = _dry_run(project, *_edit_project(project, edit))
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "ConfigError" in output
    assert re.search(match, output), output[-2000:]
    assert not (project / "results").exists()


def test_dry_run_types_scalars_inside_a_command_line_mapping(tmp_path: Path) -> None:
    """`--config 'generation={"max_new_tokens": 4}'` was "has type str"; now it is an int."""
    from tests.helpers.workflow_project import make_project

    project = make_project(tmp_path / "proj", tmp_path / "no-model-needed")
    result = _dry_run(project, "--config", 'generation={"max_new_tokens": 3, "do_sample": true}')
    assert result.returncode == 0, (result.stdout + result.stderr)[-2000:]
    assert not (project / "results").exists()


def test_command_line_lists_and_mappings_are_parsed() -> None:
    """`snakemake --config n_examples=[2,8]` passes the list as a string; it is parsed."""
    from steering.experiment.config import validate_config

    schema = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"
    filled = validate_config(
        {"n_examples": "[2, 8]", "ablation": '{"n_examples": [8]}', "strengths": "[-1, 0, 1]"},
        schema,
    )
    assert filled["n_examples"] == [2, 8]
    assert filled["ablation"]["n_examples"] == [8]
    assert filled["strengths"] == [-1, 0, 1]
    with pytest.raises(ConfigError, match="n_examples"):
        validate_config({"n_examples": "two"}, schema)


def test_command_line_lists_of_strings_are_parsed() -> None:
    """Snakemake's `--config n_examples=[2,8]` yields ['2', '8']; list items are parsed."""
    from steering.experiment.config import validate_config

    schema = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"
    config = {
        "n_examples": ["2", "8"],
        "strengths": ["-1", "0.5"],
        "ablation": {"n_examples": ["8"]},
    }
    filled = validate_config(config, schema)
    assert filled["n_examples"] == [2, 8]
    assert filled["strengths"] == [-1, 0.5]
