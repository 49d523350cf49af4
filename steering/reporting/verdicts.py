"""The report's answer: one verdict per method, and the judge-free concept-word check."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

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
