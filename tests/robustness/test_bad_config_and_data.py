"""The catalogue of bad inputs, continued: config values, YAML files, data files and the judge's
files, each refused at parse time (what ``snakemake -n`` runs) with its expected message.

Every case calls the function that ``workflow/rules/common.smk`` calls before the first model
stage (:func:`validate_config`, :func:`load_config_file`, the data and judge readers); a few real
dry runs at the end check that the workflow refuses them the same way.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from steering.experiment.config import validate_config
from steering.experiment.inputs import ConfigError, load_examples, load_prompts, read_lines
from steering.experiment.judge_inputs import load_judge_checks, load_ratings, load_rubrics
from steering.experiment.yaml_strict import load_config_file, loads
from tests.robustness.test_bad_inputs import BASE_CONFIG, CASES, SCHEMA, config_with, write

REPO = Path(__file__).resolve().parents[2]
CONCEPTS = list(BASE_CONFIG["concepts"])


@dataclass(frozen=True)
class Case:
    id: str
    run: Callable[[Path], Any]
    match: str


def cfg(case_id: str, match: str, file_configs: list[dict] | None = None, **changes: Any) -> Case:
    """A config case: BASE_CONFIG with ``changes`` (``__`` separates levels)."""
    return Case(
        case_id,
        lambda tmp: validate_config(config_with(**changes), SCHEMA, file_configs=file_configs),
        match,
    )


def concept(name: str, description: str = "things", opposite: str = "no things") -> dict:
    return {name: {"description": description, "opposite": opposite}, "object": {
        "description": "objects", "opposite": "no objects"}}


def yaml_case(case_id: str, text: str | bytes, match: str) -> Case:
    return Case(case_id, lambda tmp: load_config_file(write(tmp / "config.yaml", text)), match)


def lines_case(case_id: str, text: str | bytes, match: str, *, prompts: bool = False) -> Case:
    def run(tmp: Path) -> Any:
        path = write(tmp / ("prompts.txt" if prompts else "animal.txt"), text)
        return load_prompts(path) if prompts else read_lines(path, "example")

    return Case(case_id, run, match)


GOOD_SHOTS: dict[str, Any] = {"rubric_version": 1} | {
    kind: {c: [{"text": f"a {c}", "score": 9}, {"text": "the sky", "score": 0}] for c in CONCEPTS}
    for kind in ("concept", "opposite", "bipolar")
}


def shots_case(case_id: str, match: str, edit: Callable[[dict], Any] | None = None,
               text: str | None = None) -> Case:
    def run(tmp: Path) -> Any:
        data = json.loads(json.dumps(GOOD_SHOTS))
        if edit:
            data = edit(data) or data
        body = text if text is not None else yaml.safe_dump(data, sort_keys=False)
        return load_rubrics(write(tmp / "judge_shots.yaml", body), BASE_CONFIG["concepts"])

    return Case(case_id, run, match)


def set_shot(**fields: Any) -> Callable[[dict], None]:
    return lambda data: data["concept"]["animal"][0].update(fields)


def ratings_case(case_id: str, body: str | bytes, match: str) -> Case:
    return Case(
        case_id, lambda tmp: load_ratings(write(tmp / "ratings.csv", body), CONCEPTS), match
    )


GOOD_CHECK = {"concept": "animal", "text": "a cat sat", "label": 1, "kind": "on-concept"}


def checks_case(case_id: str, lines: list[str], match: str) -> Case:
    body = "".join(line + "\n" for line in lines)
    return Case(case_id, lambda tmp: load_judge_checks(write(tmp / "checks.jsonl", body)), match)


def check(**fields: Any) -> str:
    return json.dumps(GOOD_CHECK | fields)


LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"l{i}: &l{i} [{', '.join([f'*l{i - 1}' if i > 1 else '*a'] * 9)}]\n" for i in range(1, 10)
)

NEW_CASES: list[Case] = [
    # --- config: repeated values and NaN/inf (validate_config) ------------------------------
    cfg("fit-methods-repeated",
        r"config key 'fit\.methods' = \['dual', 'dual'\] lists an item more than once; list "
        r"each once", fit__methods=["dual", "dual"]),
    cfg("ablation-methods-repeated", r"'ablation\.methods' = \['diffmean', 'diffmean'\] lists "
        r"an item more than once", ablation__methods=["diffmean", "diffmean"]),
    cfg("ablation-n-examples-repeated", r"'ablation\.n_examples' = \[4, 4\] lists an item more",
        ablation__n_examples=[4, 4]),
    cfg("calibration-multiples-repeated", r"'calibration\.multiples' = \[1\.0, 1\.0\] lists",
        calibration__multiples=[1.0, 1.0]),
    cfg("coherence-ratio-nan", r"config key 'coherence\.ratio' = nan is not a finite number; "
        r"NaN and infinity are refused\. Give a number \(default: 1\.5\)",
        coherence__ratio=float("nan")),
    cfg("coherence-ratio-inf", r"'coherence\.ratio' = inf is not a finite number",
        coherence__ratio=float("inf")),
    cfg("judge-timeout-inf", r"'judge\.timeout' = inf is not a finite number.*default: 60",
        judge__timeout=float("inf")),
    cfg("temperature-nan", r"'generation\.temperature' = nan is not a finite number",
        generation__temperature=float("nan")),
    cfg("knee-threshold-minus-inf", r"'metrics\.knee_threshold' = -inf is not a finite number",
        metrics__knee_threshold=float("-inf")),
    cfg("manifold-energy-nan", r"'fit\.manifold_energy' = nan is not a finite",
        fit__manifold_energy=float("nan")),
    cfg("calibration-multiple-inf", r"'calibration\.multiples\[1\]' = inf is not a finite",
        calibration__multiples=[1.0, float("inf")]),
    cfg("strength-inf", r"'strengths\[2\]' = inf is not a finite number",
        strengths=[-1.0, 0.0, float("inf")]),
    cfg("min-auroc-nan", r"'judge\.min_auroc' = nan is not a finite number",
        judge__min_auroc=float("nan")),
    # --- config: paths and names that could leave the working directory -------------------
    cfg("results-dir-empty", r"results_dir='' is empty, which means the working directory "
        r"itself; give a path", results_dir=""),
    cfg("concepts-dir-empty", r"data\.concepts_dir='' is empty", data__concepts_dir=""),
    cfg("shots-path-blank-even-if-external", r"judge\.shots='  ' is empty",
        allow_external_paths=True, judge__shots="  "),
    cfg("prompts-path-control-character", r"data\.prompts='data/p\\x00\.txt' contains a "
        r"control character; remove it", data__prompts="data/p\x00.txt"),
    cfg("cache-absolute", r"judge\.cache='/var/tmp/j\.sqlite' points outside the working "
        r"directory", judge__cache="/var/tmp/j.sqlite"),
    cfg("concept-name-dotdot", r"concept name '\.\./\.\./etc/passwd' is not allowed: it "
        r"becomes the file name '<concepts_dir>/\.\./\.\./etc/passwd\.txt'\. Use letters, "
        r"digits, '_' and '-' only", concepts=concept("../../etc/passwd")),
    cfg("concept-name-slash", r"concept name 'big/cat' is not allowed",
        concepts=concept("big/cat")),
    cfg("concept-name-absolute", r"concept name '/tmp/x' is not allowed",
        concepts=concept("/tmp/x")),
    cfg("concept-name-empty", r"concept name '' is not allowed", concepts=concept("")),
    cfg("concept-name-space", r"concept name 'big cat' is not allowed",
        concepts=concept("big cat")),
    cfg("concept-name-newline", r"concept name 'cat\\n' is not allowed",
        concepts=concept("cat\n")),
    cfg("concept-name-hidden-file", r"concept name '\.hidden' is not allowed",
        concepts=concept(".hidden")),
    cfg("concept-name-backslash", r"concept name '\.\.\\\\x' is not allowed",
        concepts=concept("..\\x")),
    # --- config: blank or invisible texts ---------------------------------------------------
    cfg("description-whitespace", r"config key 'concepts\.cat\.description' = '   ' is blank; "
        r"write what the judge should rate", concepts=concept("cat", "   ")),
    cfg("description-zero-width", r"'concepts\.cat\.description' = '\\u200b' is blank \(only "
        r"invisible characters U\+200B\)", concepts=concept("cat", "\u200b")),
    cfg("description-trailing-zero-width", r"'concepts\.cat\.description' = 'cats\\u200b' ends "
        r"with the invisible character U\+200B", concepts=concept("cat", "cats\u200b")),
    cfg("opposite-control-character", r"'concepts\.cat\.opposite' = 'dogs\\x1b' contains the "
        r"control character U\+001B", concepts=concept("cat", "cats", "dogs\x1b")),
    cfg("model-name-empty", r"config key 'model\.name' = '': must not be empty", model__name=""),
    # --- config: values given on the command line -------------------------------------------
    cfg("command-line-mapping-word-for-int", r"config key 'generation\.max_new_tokens' = 'four' "
        r"has type str; it must be an integer", file_configs=[{}],
        generation__max_new_tokens="four"),
    cfg("command-line-mapping-zero", r"config key 'generation\.max_new_tokens' = 0: must be >= 1",
        file_configs=[{}], generation__max_new_tokens="0"),
    cfg("command-line-mapping-nan", r"'coherence\.ratio' = nan is not a finite number",
        file_configs=[{}], coherence__ratio=".nan"),
    cfg("file-quoted-number-stays-an-error", r"'generation\.batch_size' = '8' has type str; it "
        r"must be an integer", file_configs=[{"generation": {"batch_size": "8"}}],
        generation__batch_size="8"),
    # --- YAML and JSON config files (load_config_file) -------------------------------------
    yaml_case("yaml-billion-laughs", LAUGHS, r"config\.yaml:2: YAML alias '\*a' is not allowed "
              r"\(aliases can expand a small file into an enormous one\); write the value out"),
    yaml_case("yaml-merge-key-alias", "base: &b {x: 1}\nother:\n  <<: *b\n",
              r"config\.yaml:3: YAML alias '\*b' is not allowed"),
    yaml_case("yaml-duplicate-top-key", "seed: 1\nn_examples: [2]\nseed: 2\n",
              r"config\.yaml:3: key 'seed' appears twice in the same mapping \(first at line "
              r"1\); keep one of them \(YAML would silently use the last\)"),
    yaml_case("yaml-duplicate-nested-key", "judge:\n  model: a\n  backend: local\n  model: b\n",
              r"config\.yaml:4: key 'model' appears twice .*first at line 2"),
    yaml_case("yaml-duplicate-flow-key", "generation: {batch_size: 4, batch_size: 8}\n",
              r"config\.yaml:1: key 'batch_size' appears twice"),
    yaml_case("json-duplicate-key", '{"seed": 1, "seed": 2}',
              r"config\.yaml: key 'seed' appears twice in the same JSON object; keep one"),
    yaml_case("yaml-syntax-error", "n_examples: [2, 4\nseed: 1\n",
              r"config\.yaml:\d+: not valid YAML \(.*\); fix the syntax"),
    yaml_case("yaml-not-a-mapping", "- 2\n- 4\n",
              r"Config file .*config\.yaml must be a mapping of keys to values, got list"),
    yaml_case("yaml-nested-too-deeply", "x: " + "[" * 3000 + "]" * 3000 + "\n",
              r"config\.yaml: nested too deeply to read; flatten it"),
    yaml_case("yaml-not-utf8", "seed: 1\nname: caf\u00e9\n".encode("latin-1"),
              r"config\.yaml is not UTF-8 \(line 2, byte \d+\); re-save it as UTF-8"),
    Case("yaml-missing", lambda tmp: load_config_file(tmp / "nope.yaml"),
         r"Config file .*nope\.yaml does not exist"),
    # --- data files: invisible and control characters (read_lines) --------------------------
    lines_case("examples-bom-mid-file", "a cat\n\ufeffa dog\n",
               r"animal\.txt:2: the example starts with the invisible character U\+FEFF; "
               r"delete that character"),
    lines_case("examples-zero-width-line", "a cat\n\u200b\na dog\n",
               r"animal\.txt:2: the example is blank \(only invisible characters U\+200B\)"),
    lines_case("examples-zero-width-and-space-line", "a cat\n \u2060 \u200c\n",
               r"animal\.txt:2: the example is blank \(only invisible characters U\+2060, "
               r"U\+200C\)"),
    lines_case("examples-trailing-zero-width", "a cat\na cat\u200b\n",
               r"animal\.txt:2: the example ends with the invisible character U\+200B"),
    lines_case("examples-control-character", "a cat\na \x1b[31mdog\n",
               r"animal\.txt:2: the example contains the control character U\+001B"),
    lines_case("examples-no-break-space-line", "a cat\n\u00a0\u3000\n",
               r"animal\.txt:2: empty or whitespace-only example; remove it"),
    lines_case("examples-lone-carriage-return", "a cat\ra dog\n",
               r"animal\.txt:1: the example contains the control character U\+000D"),
    lines_case("prompts-zero-width-line", "Hello, \n\u200b\n",
               r"prompts\.txt:2: the prompt is blank", prompts=True),
    Case("examples-unsafe-concept-name",
         lambda tmp: load_examples(tmp, ["../secret"], 2),
         r"concept name '\.\./secret' is not allowed"),
    # --- judge shots file (load_rubrics) ----------------------------------------------------
    shots_case("shots-alias", r"judge_shots\.yaml:\d+: YAML alias '\*s' is not allowed",
               text="rubric_version: 1\nconcept:\n  animal: &s [{text: a, score: 9}]\n"
                    "  object: *s\n"),
    shots_case("shots-duplicate-concept", r"judge_shots\.yaml:4: key 'animal' appears twice",
               text="rubric_version: 1\nconcept:\n  animal: [{text: a, score: 9}]\n"
                    "  animal: [{text: b, score: 0}]\n"),
    shots_case("shots-score-10", r"judge_shots\.yaml: concept\.animal\[0\]\.score = 10 must be "
               r"an integer from 0 to 9", set_shot(score=10)),
    shots_case("shots-score-negative", r"concept\.animal\[0\]\.score = -1 must be an integer",
               set_shot(score=-1)),
    shots_case("shots-score-word", r"concept\.animal\[0\]\.score = 'nine' must be an integer",
               set_shot(score="nine")),
    shots_case("shots-score-float", r"concept\.animal\[0\]\.score = 4\.5 must be an integer",
               set_shot(score=4.5)),
    shots_case("shots-score-bool", r"concept\.animal\[0\]\.score = True must be an integer",
               set_shot(score=True)),
    shots_case("shots-text-blank", r"concept\.animal\[0\]\.text is blank; write a visible",
               set_shot(text="  ")),
    shots_case("shots-text-zero-width", r"concept\.animal\[0\]\.text is blank \(only invisible "
               r"characters U\+200B\)", set_shot(text="\u200b")),
    shots_case("shots-text-not-string", r"concept\.animal\[0\]\.text = 42 must be a string",
               set_shot(text=42)),
    shots_case("shots-extra-key", r"concept\.animal\[0\] = .* must be a mapping with exactly the "
               r"keys text and score", set_shot(label=1)),
    shots_case("shots-empty-list", r"judge_shots\.yaml: no 'opposite' shots for concept 'animal'",
               lambda d: d["opposite"].update(animal=[])),
    shots_case("shots-not-a-list", r"judge_shots\.yaml: bipolar\.animal must be a non-empty list",
               lambda d: d["bipolar"].update(animal="a cat: 9")),
    shots_case("shots-unknown-top-key", r"judge_shots\.yaml: unknown key 'concpet'; did you mean "
               r"'concept'\?", lambda d: d.update(concpet={})),
    shots_case("shots-not-a-mapping", r"judge_shots\.yaml must be a mapping with rubric_version",
               text="- a\n- b\n"),
    shots_case("shots-version-missing", r"'rubric_version' must be an integer, got None",
               lambda d: d.__delitem__("rubric_version")),
    shots_case("shots-version-bool", r"'rubric_version' must be an integer, got True",
               lambda d: d.update(rubric_version=True)),
    shots_case("shots-kind-not-mapping", r"judge_shots\.yaml: 'concept' must map each concept",
               lambda d: d.update(concept=["a cat"])),
    Case("shots-file-missing", lambda tmp: load_rubrics(tmp / "x.yaml", BASE_CONFIG["concepts"]),
         r"Judge shots file .*x\.yaml does not exist"),
    # --- human ratings (load_ratings) -------------------------------------------------------
    ratings_case("ratings-score-word", "text,concept,score\na cat,animal,high\n",
                 r"ratings\.csv:2: score 'high' must be a number from 0 to 9 \(the judges' "
                 r"scale\)"),
    ratings_case("ratings-score-10", "text,concept,score\na cat,animal,10\n",
                 r"ratings\.csv:2: score '10' must be a number from 0 to 9"),
    ratings_case("ratings-score-negative", "text,concept,score\na,animal,1\nb,animal,-0.5\n",
                 r"ratings\.csv:3: score '-0\.5' must be a number from 0 to 9"),
    ratings_case("ratings-score-nan", "text,concept,score\na cat,animal,nan\n",
                 r"ratings\.csv:2: score 'nan' must be a number"),
    ratings_case("ratings-score-blank", "text,concept,score\na cat,animal,\n",
                 r"ratings\.csv:2: score '' must be a number"),
    ratings_case("ratings-unknown-concept", "output_id,concept,score\n1,animal,3\n2,dragon,4\n",
                 r"ratings\.csv:3: unknown concept 'dragon'; the config's concepts are "
                 r"\['animal', 'object'\]"),
    ratings_case("ratings-blank-text", "text,concept,score\n\u200b,animal,3\n",
                 r"ratings\.csv:2: text is blank \(only invisible characters U\+200B\); fill"),
    ratings_case("ratings-rated-twice", "output_id,concept,score\n1,animal,3\n1,animal,5\n",
                 r"ratings\.csv:3: output_id '1' is rated twice for 'animal' \(first at line "
                 r"2\); keep one rating"),
    ratings_case("ratings-header-only", "text,concept,score\n",
                 r"Ratings file .*ratings\.csv has no rows; add ratings or set ratings: null"),
    ratings_case("ratings-empty-file", "", r"Ratings file .*ratings\.csv is empty; it needs a "
                 r"header line"),
    ratings_case("ratings-not-utf8", "text,concept,score\ncaf\u00e9,animal,3\n".encode("cp1252"),
                 r"Ratings file .*ratings\.csv is not UTF-8 \(line \d+, byte \d+\); "
                 r"re-save it as UTF-8"),
    ratings_case("ratings-ragged-row", "text,concept,score\na,animal,3,extra,more\n",
                 r"ratings\.csv:2: 5 fields but the header has 3; quote fields that contain "
                 r"commas"),
    Case("ratings-missing", lambda tmp: load_ratings(tmp / "r.csv", CONCEPTS),
         r"Ratings file .*r\.csv does not exist"),
    # --- labelled judge checks (load_judge_checks) ------------------------------------------
    checks_case("checks-bad-json", [check(), "{concept: animal}"],
                r"checks\.jsonl:2: not valid JSON .*; fix that line"),
    checks_case("checks-label-2", [check(label=2)],
                r"checks\.jsonl:1: field 'label' must be 0 or 1, got 2"),
    checks_case("checks-missing-field", [json.dumps({"concept": "animal", "text": "a"})],
                r"checks\.jsonl:1: missing field\(s\) \['label', 'kind'\]"),
    checks_case("checks-zero-width-text", [check(), check(text="\u200b\u200b")],
                r"checks\.jsonl:2: field 'text' is blank \(only invisible characters U\+200B\)"),
    checks_case("checks-control-in-concept", [check(concept="ani\x07mal")],
                r"checks\.jsonl:1: field 'concept' contains the control character U\+0007"),
    checks_case("checks-empty", [], r"checks\.jsonl: no checks found \(empty file\)"),
    Case("checks-missing", lambda tmp: load_judge_checks(tmp / "c.jsonl"),
         r"Judge checks file .*c\.jsonl does not exist"),
]


@pytest.mark.parametrize("case", NEW_CASES, ids=[c.id for c in NEW_CASES])
def test_bad_config_or_data(case: Case, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=case.match):
        case.run(tmp_path)


def test_catalogue_has_at_least_120_cases_with_unique_ids() -> None:
    """The catalogue: the library and file cases of test_bad_inputs.py plus these."""
    ids = [c.id for c in CASES] + [c.id for c in NEW_CASES]
    assert len(ids) >= 120
    assert len(set(ids)) == len(ids)


def test_billion_laughs_is_refused_without_expanding() -> None:
    """Ten levels of nine aliases would be 9**10 items; the refusal is quick and short."""
    with pytest.raises(ConfigError) as info:
        loads(LAUGHS, "x.yaml")
    assert len(str(info.value)) < 300


# ------------------------------------------------------------------- the good side of the rules
def test_a_leading_byte_order_mark_is_removed_everywhere(tmp_path: Path) -> None:
    bom = "\ufeff"
    assert read_lines(write(tmp_path / "a.txt", bom + "a cat\na dog\n")) == ["a cat", "a dog"]
    assert load_config_file(write(tmp_path / "c.yaml", bom + "seed: 1\n")) == {"seed": 1}
    assert load_config_file(write(tmp_path / "c.json", bom + '{"seed": 1}')) == {"seed": 1}
    shots = write(tmp_path / "s.yaml", bom + yaml.safe_dump(GOOD_SHOTS))
    assert len(load_rubrics(shots, BASE_CONFIG["concepts"])) == 6
    ratings = load_ratings(write(tmp_path / "r.csv", bom + "output_id,concept,score\n1,animal,3\n"))
    assert list(ratings.columns) == ["output_id", "concept", "score"]
    checks = load_judge_checks(write(tmp_path / "c.jsonl", bom + check() + "\n"))
    assert checks.text.tolist() == ["a cat sat"]


def test_invisible_characters_inside_a_text_are_kept(tmp_path: Path) -> None:
    """Joiners build emoji and some scripts' letters; only the start and end are refused."""
    persian = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"  # with a ZWNJ inside
    lines = ["a cat \U0001f408\u200d\u2b1b", persian, "tab\there"]
    assert read_lines(write(tmp_path / "a.txt", "\n".join(lines) + "\n")) == lines


def test_ratings_are_typed_and_blank_lines_skipped(tmp_path: Path) -> None:
    body = 'output_id,concept,score\n3,animal,4.5\n\n7,object,0\n'
    ratings = load_ratings(write(tmp_path / "r.csv", body), CONCEPTS)
    assert ratings.output_id.tolist() == [3, 7] and ratings.output_id.dtype == "int64"
    assert ratings.score.tolist() == [4.5, 0.0]
    by_text = load_ratings(write(tmp_path / "t.csv", 'text,concept,score\n"NA, a cat",animal,9\n'))
    assert by_text.text.tolist() == ["NA, a cat"]


def test_command_line_mapping_scalars_get_their_yaml_types() -> None:
    """`--config 'generation={"max_new_tokens": 4}'` reaches the config as {'max_new_tokens':
    '4'} (Snakemake reads mappings with YAML's base loader); given the config files, such
    strings are typed, while one that a file holds stays as written."""
    files = [{"generation": {"batch_size": 8}, "model": {"revision": "8"}}]
    config = config_with(
        generation__max_new_tokens="4",
        generation__do_sample="true",
        fit__contamination_rank="null",
        coherence__ratio="2.5",
        model__revision="8",
    )
    filled = validate_config(config, SCHEMA, file_configs=files)
    assert filled["generation"]["max_new_tokens"] == 4
    assert filled["generation"]["do_sample"] is True
    assert filled["fit"]["contamination_rank"] is None
    assert filled["coherence"]["ratio"] == 2.5
    assert filled["model"]["revision"] == "8"  # a string is allowed there: left alone
    with pytest.raises(ConfigError, match="max_new_tokens' = '4' has type str"):
        validate_config(config, SCHEMA)  # without the files nothing inside a mapping is typed


@pytest.mark.parametrize("name", ["cat", "big-cat", "cat_2", "Katze", "\u043a\u043e\u0442", "2d"])
def test_safe_concept_names_are_accepted(name: str) -> None:
    concepts = {name: {"description": "x", "opposite": "y"}, "object": {
        "description": "objects", "opposite": "no objects"}}
    validate_config(config_with(concepts=concepts), SCHEMA)


def test_the_shipped_config_and_data_pass_the_strict_readers() -> None:
    from steering.experiment.inputs import load_examples

    files = [load_config_file(REPO / "config.yaml")]
    files += [load_config_file(path) for path in sorted((REPO / "config").glob("*.yaml"))]
    config = validate_config(files[0], SCHEMA, file_configs=files[:1])
    data = REPO / "data"
    load_examples(data / "concepts", list(config["concepts"]), max(config["n_examples"]),
                  config["data"]["held_out_examples"])
    load_prompts(data / "prompts.txt")
    assert len(load_rubrics(data / "judge_shots.yaml", config["concepts"])) == 15
    assert len(load_judge_checks(data / "judge_checks.jsonl")) > 0
