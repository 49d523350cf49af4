"""The per-output scores table: baseline rows shared by every group, human ratings."""

import pandas as pd
import pytest

from steering.evaluation.scoring import join_outputs, scores_table


def _generations(method: str, n: int, concept: str, strengths: list[float]) -> pd.DataFrame:
    rows = [(f"{method}:s{n}:{concept}:p{p}:{s:+g}", p, s) for p in (0, 1) for s in strengths]
    return pd.DataFrame(
        {
            "output_id": [r[0] for r in rows],
            "method": method,
            "n_examples": n,
            "concept": concept,
            "prompt_id": [r[1] for r in rows],
            "prompt": "Hello, ",
            "strength": [r[2] for r in rows],
            "text": [f"text {r[0]}" for r in rows],
            "prompt_ids": [[1, 2]] * len(rows),
            "token_ids": [[3]] * len(rows),
        }
    )


def _scored(gens: pd.DataFrame, concepts: list[str], ppl: float) -> pd.DataFrame:
    perplexity = pd.DataFrame(
        {
            "output_id": gens.output_id,
            "perplexity": ppl,
            "ppl_first_k": ppl * 2,
            "n_tokens": 1,
            "distinct2": 0.9,
        }
    )
    judged = pd.concat(
        [
            pd.DataFrame(
                {
                    "output_id": gens.output_id,
                    "concept": c,
                    "concept_score": gens.strength + 5,
                    "neg_concept_score": 2.0,
                    "reference": gens.strength,
                }
            )
            for c in concepts
        ]
    )
    return join_outputs(gens, perplexity, judged)


@pytest.fixture
def parts() -> tuple[list[pd.DataFrame], pd.DataFrame]:
    steered = [
        _scored(_generations("dual", 2, "animal", [-1.0, 1.0]), ["animal"], 4.0),
        _scored(_generations("dual", 4, "animal", [-1.0, 1.0]), ["animal"], 5.0),
    ]
    base = _generations("baseline", 0, "", [0.0]).assign(
        output_id=lambda f: [f"baseline:p{p}" for p in f.prompt_id]
    )
    return steered, _scored(base, ["animal"], 3.0)


def test_baseline_rows_join_every_group_with_per_prompt_baselines(parts) -> None:
    steered, baseline = parts
    scores = scores_table(steered, baseline)
    # 2 groups x (2 prompts x 2 strengths steered + 2 baseline rows) = 12 rows
    assert len(scores) == 12
    zero = scores[scores.strength == 0]
    pairs = sorted(zip(zero.method, zero.n_examples, strict=True))
    assert pairs == [("dual", 2)] * 2 + [("dual", 4)] * 2
    assert (scores.baseline_perplexity == 3.0).all()
    assert (scores.baseline_ppl_first_k == 6.0).all()
    assert (scores.delta == scores.concept_score - scores.neg_concept_score).all()
    # the second judge pass is the reference when no ratings are given
    assert scores.reference.tolist() == scores.strength.tolist()


def test_human_ratings_replace_the_reference(parts) -> None:
    steered, baseline = parts
    ids = pd.concat([*steered, baseline]).output_id.unique()
    ratings = pd.DataFrame({"output_id": ids, "concept": "animal", "score": range(len(ids))})
    scores = scores_table(steered, baseline, ratings)
    lookup = dict(zip(ratings.output_id, ratings.score, strict=True))
    assert scores.reference.tolist() == [float(lookup[i]) for i in scores.output_id]


def test_missing_human_ratings_are_refused_naming_the_file(parts) -> None:
    steered, baseline = parts
    ratings = pd.DataFrame({"text": ["unrelated"], "concept": ["animal"], "score": [3]})
    with pytest.raises(ValueError, match=r"ratings\.csv has no rating for 12 of 12 outputs"):
        scores_table(steered, baseline, ratings, ratings_name="ratings.csv")
