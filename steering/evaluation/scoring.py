"""Assemble the per-output scores table from generations, perplexity and judgments.

The scores table (input to :mod:`steering.evaluation.tables`) has one row per generated output
per concept: ``method``, ``n_examples`` (training examples per concept), ``concept``,
``prompt_id``, ``strength`` (including 0.0 baseline rows), ``text``, ``concept_score``,
``neg_concept_score``, ``delta``, ``reference``, ``perplexity``, ``baseline_perplexity``,
``ppl_first_k``, ``baseline_ppl_first_k``, ``distinct2``, ``baseline_distinct2``, and any other
column of the generations, such as ``resample`` (which example subset the vector was fitted on;
missing on the shared baseline rows, which belong to every resample, see
:mod:`steering.evaluation.resampled_tables`).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

BASE_COLUMNS = ("perplexity", "ppl_first_k", "distinct2")


def join_outputs(
    generations: pd.DataFrame, perplexity: pd.DataFrame, judgments: pd.DataFrame
) -> pd.DataFrame:
    """One generations table with its perplexity and judge scores (one row per concept)."""
    gens = generations.drop(
        columns=[c for c in ("prompt_ids", "token_ids") if c in generations.columns]
    )
    gens = gens.merge(perplexity, on="output_id", validate="one_to_one")
    return gens.drop(columns="concept").merge(judgments, on="output_id", validate="one_to_many")


def scores_table(
    steered: Sequence[pd.DataFrame],
    baseline: pd.DataFrame,
    ratings: pd.DataFrame | None = None,
    *,
    ratings_name: str = "ratings",
) -> pd.DataFrame:
    """The per-output scores table (schema in the module docstring).

    Args:
        steered: Joined steered outputs (:func:`join_outputs`), one frame per
            (method, n_examples).
        baseline: Joined unsteered outputs, judged once per concept; they enter every
            (method, n_examples) group as its strength-0 rows, and give each prompt's baseline
            perplexity and distinct-2.
        ratings: Human ratings (``concept``, ``score`` and ``output_id`` or ``text``) that
            replace the second judge pass as the reference of r. Every output must be rated.
        ratings_name: How to name the ratings in errors (its file name).
    """
    frames = [frame for frame in steered if len(frame)]
    if not frames:
        raise ValueError("No steered outputs to score.")
    steered_all = pd.concat(frames, ignore_index=True)
    per_prompt = baseline.drop_duplicates("prompt_id").set_index("prompt_id")[list(BASE_COLUMNS)]
    groups = steered_all[["method", "n_examples"]].drop_duplicates().itertuples(index=False)
    parts = [steered_all] + [baseline.assign(method=m, n_examples=n) for m, n in groups]
    scores = pd.concat(parts, ignore_index=True)
    for column in BASE_COLUMNS:
        scores[f"baseline_{column}"] = scores.prompt_id.map(per_prompt[column])
    scores["delta"] = scores.concept_score - scores.neg_concept_score
    if ratings is not None:
        key = "output_id" if "output_id" in ratings.columns else "text"
        human = ratings.set_index([key, "concept"])["score"]
        scores["reference"] = [
            human.get((k, c)) for k, c in zip(scores[key], scores.concept, strict=True)
        ]
        missing = int(scores.reference.isna().sum())
        if missing:
            raise ValueError(
                f"{ratings_name} has no rating for {missing} of {len(scores)} outputs; rate "
                "every output, or set judge.ratings: null to use the second judge pass."
            )
        scores["reference"] = scores.reference.astype(float)
    order = ["method", "n_examples", "concept", "prompt_id", "strength"]
    return scores.sort_values(order).reset_index(drop=True)
