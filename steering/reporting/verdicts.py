"""The report's answer: one verdict per method, and the judge-free concept-word check."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from steering.evaluation.knee import KneeSpread
from steering.reporting.markdown import markdown_table


def verdict_section(verdicts: pd.DataFrame) -> list[str]:
    """One verdict per method (``method``, ``text``, ``reason``), with the evidence."""
    lines = ["## Verdicts", ""]
    if verdicts.empty:
        return [*lines, "No verdict: no random control was run, so no method can be told "
                "apart from chance. Set `ablation.random_control: true`.", ""]
    lines += [
        "Per method, from its mean-SE curve with 95% intervals, the random control and the "
        "judge's validation: no knee is claimed on a curve that is flat within its intervals "
        "or indistinguishable from the control, nor when the judge failed its validation.",
        "",
    ]
    for row in verdicts.itertuples():
        # An inconclusive verdict's text already is its reason; say only what it adds.
        extra = row.reason.removeprefix(row.text.removeprefix("inconclusive: ")).lstrip("; ")
        lines.append(f"- **{row.method}**: {row.text}" + (f" ({extra})." if extra else "."))
    return [*lines, ""]


def knee_spread_section(spreads: Mapping[str, KneeSpread], blocked: str = "") -> list[str]:
    """Per method, the knee of each resample's curve and whether they agree.

    Args:
        spreads: Method -> :func:`~steering.evaluation.knee.knee_spread` of its resamples'
            knees (methods measured at several n).
        blocked: Why no knee per resample was sought (e.g. the judge failed), or "".
    """
    lines = ["## Knee per resample", ""]
    if blocked:
        return [*lines, f"No knee per resample is claimed: {blocked}.", ""]
    if not spreads:
        return [*lines, "No method was measured at several n_examples: no knee to compare.", ""]
    lines += [
        "Each resample (one seeded random subset of the examples per n, nested within the "
        "resample) has its own curve and knee; no knee is claimed on a resample's curve that "
        "is flat within its intervals or at the control. The knee is **stable** only if every "
        "resample's knee is within one n step of the others; otherwise it is unstable, and the "
        "curve's knee depends on which examples were picked.",
        "",
    ]
    for method, spread in sorted(spreads.items()):
        knees = ", ".join("none" if k is None else str(k) for k in spread.knees)
        word = spread.reason.split(":", 1)[0]
        reason = spread.reason.split(": ", 1)[-1]
        verdict = "no knee in any resample" if word == "none" else word
        lines.append(f"- **{method}**: knees per resample [{knees}]: {verdict} ({reason}).")
    return [*lines, ""]


def lexical_section(lexical: pd.DataFrame, unchecked: Sequence[str]) -> list[str]:
    """The judge-free check: how often the steered concept's own words appear, by strength.

    Args:
        lexical: :func:`steering.evaluation.lexicon.lexical_summary` rows per (method,
            n_examples, concept): ``rate_base``, ``rate_max``, ``rho``.
        unchecked: Concepts without a word list (not checked; said so).
    """
    lines = ["## Judge-free check: concept words", ""]
    if lexical.empty:
        return [*lines, "No concept has a word list (`data.lexicons_dir`): nothing checked.", ""]
    lines += [
        "Share of a text's words that are in the steered concept's word list "
        "(`data/lexicons/<concept>.txt`), without any judge: at strength 0 (`rate_base`), at "
        "the largest strength (`rate_max`), and the Spearman correlation of the rate with "
        "strength (`rho`), averaged over concepts. A method that steers toward the concept "
        "raises the rate with strength.",
        "",
    ]
    table = (
        lexical.groupby(["method", "n_examples"], sort=True)[["rate_base", "rate_max", "rho"]]
        .mean()
        .reset_index()
    )
    lines += [markdown_table(table), ""]
    if unchecked:
        lines += [f"Not checked (no word list): {', '.join(sorted(unchecked))}.", ""]
    return lines
