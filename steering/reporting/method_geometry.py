"""How the methods' directions relate at one n_examples: does the primary method differ from
its own steps?

Dual is contamination removal followed by a projection onto the task manifold. If its
direction is (nearly) the contamination direction, the manifold step did nothing; if it is far
from both diffmean and contamination, the manifold step changed what is steered. The table
gives, per method, the mean cosine (over resamples and concepts) of its unit direction with
each other method's, and the calibrated strength 1.0 as a multiple of the raw vector's norm.
Read with the SE verdicts and the concept-word check: a method that is the same direction as
another cannot steer differently from it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from steering.fit.vectors import SteeringVector
from steering.reporting.markdown import fmt, markdown_table

SAME_DIRECTION = 0.95
"""Mean cosine from which two methods are called the same direction."""

Resamples = Sequence[Mapping[str, SteeringVector]]
"""Per resample, concept -> vector (see ``steering.fit.vector_files.load_resampled_vectors``)."""


def mean_cosine(a: Resamples, b: Resamples) -> float:
    """Mean cosine of two methods' unit directions over the resamples and concepts both have.

    Raises:
        ValueError: When the two share no (resample, concept).
    """
    values = [
        float(np.dot(a[r][c].direction, b[r][c].direction))
        for r in range(min(len(a), len(b)))
        for c in sorted(set(a[r]) & set(b[r]))
    ]
    if not values:
        raise ValueError("the two methods share no (resample, concept) to compare")
    return float(np.mean(values))


def geometry_table(vectors: Mapping[str, Resamples]) -> pd.DataFrame:
    """Per method: cosine with every method, and the mean calibrated multiple of |v|.

    Args:
        vectors: Method -> its vectors per resample (the random control is left out: its
            directions are random by construction).

    Returns:
        One row per method: ``method``, ``cos <other>`` per method, ``multiple of |v|`` (the
        norm strength 1.0 adds over the raw diffmean norm, mean over resamples and concepts).
    """
    methods = [m for m in vectors if m != "random"]
    rows = []
    for method in methods:
        row: dict[str, object] = {"method": method}
        for other in methods:
            row[f"cos {other}"] = mean_cosine(vectors[method], vectors[other])
        row["multiple of |v|"] = float(
            np.mean(
                [
                    v.full_strength_norm / v.raw_norm
                    for resample in vectors[method]
                    for v in resample.values()
                ]
            )
        )
        rows.append(row)
    return pd.DataFrame(rows)


def method_geometry_section(
    vectors: Mapping[str, Resamples], *, primary: str, n_examples: int
) -> list[str]:
    """The report section: the methods' directions at one n, and what it says of the primary.

    Args:
        vectors: Method -> its vectors per resample, all fitted at ``n_examples``.
        primary: The report's primary method.
        n_examples: The n the vectors were fitted at.
    """
    title = f"## Directions of the methods at n = {n_examples}"
    table = geometry_table(vectors)
    if primary not in set(table["method"]) or len(table) < 2:
        return [title, "", "Only one method was fitted at this n: nothing to compare.", ""]
    row = table.set_index("method").loc[primary]
    others = [m for m in table["method"] if m != primary]
    same = [m for m in others if row[f"cos {m}"] >= SAME_DIRECTION]
    closest = max(others, key=lambda m: row[f"cos {m}"])
    if same:
        them = "it" if len(same) == 1 else "them"
        verdict = (
            f"**{primary}** points the same way as {', '.join(same)} (mean cosine >= "
            f"{SAME_DIRECTION}): it cannot steer differently from {them}, and the steps it "
            "adds change nothing here."
        )
    else:
        verdict = (
            f"**{primary}** is closest to {closest} (mean cosine {fmt(row[f'cos {closest}'])}): "
            "its steps change the direction; whether for better is what the verdicts and the "
            "concept-word check above say."
        )
    return [
        title,
        "",
        "Mean cosine of the unit directions over resamples and concepts, and the calibrated "
        "strength 1.0 as a multiple of the raw (diffmean) norm |v|. On gemma-3-270m the task "
        "manifold of generic continuations removes the component a concept needs to appear in "
        "the text, and a manifold that also covers the examples keeps everything "
        "(BENCHMARKS.md B8, B10).",
        "",
        markdown_table(table),
        "",
        verdict,
        "",
    ]
