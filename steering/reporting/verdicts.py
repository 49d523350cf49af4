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


def lexical_sentence(method: str, lift: pd.DataFrame) -> str:
    """One method's reading of its lift intervals (rows ``n_examples``, ``lift``, ``ci_low``,
    ``ci_high``): which n raise (or lower) its concept's words, else no measurable effect."""
    rows = lift.sort_values("n_examples")
    finite = rows[rows.ci_low.notna() & rows.ci_high.notna()]
    if finite.empty:
        return f"- **{method}**: no interval (no rates at strength 0 and at the largest strength)."

    def at(part: pd.DataFrame) -> str:
        return "; ".join(
            f"lift {r.lift:.3g} [{r.ci_low:.3g}, {r.ci_high:.3g}] at n = {r.n_examples}"
            for r in part.itertuples()
        )

    up, down = finite[finite.ci_low > 0], finite[finite.ci_high < 0]
    claims = [f"{word} its concept's words: {at(part)}"
              for word, part in (("raises", up), ("lowers", down)) if not part.empty]
    if not claims:
        return (f"- **{method}**: no measurable lexical effect (every interval covers 0, "
                f"n = {', '.join(map(str, finite.n_examples))}).")
    covered = finite[(finite.ci_low <= 0) & (finite.ci_high >= 0)]
    rest = (f"; the interval covers 0 at n = {', '.join(map(str, covered.n_examples))}"
            if not covered.empty else "")
    return f"- **{method}**: {'; '.join(claims)}{rest}."


def lexical_section(
    lexical: pd.DataFrame, unchecked: Sequence[str], lift: pd.DataFrame | None = None
) -> list[str]:
    """The judge-free check: how often the steered concept's own words appear, by strength.

    Args:
        lexical: :func:`steering.evaluation.lexicon.lexical_summary` rows per (method,
            n_examples, concept): ``rate_base``, ``rate_max``, ``rho``.
        unchecked: Concepts without a word list (not checked; said so).
        lift: :func:`steering.evaluation.lexical_intervals.lexical_lift_table` rows per (method,
            n_examples), shown with their intervals and one sentence per method; None shows
            only the per-concept averages.
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
    if lift is not None and not lift.empty:
        lines += [
            "`lift` is `rate_max` minus `rate_base` per resample and concept, averaged over "
            "concepts and resamples, with a 95% hierarchical bootstrap interval (resamples, "
            "then prompts within each); `rate_min` is the rate at the most negative strength, "
            "where a steerer should lower or not raise it.",
            "",
        ]
        shown = ["method", "n_examples", "rate_base", "rate_max", "rate_min", "lift", "ci_low",
                 "ci_high", "n_resamples"]
        if lift["rate_min"].isna().all():
            shown.remove("rate_min")
        rho = table[["method", "n_examples", "rho"]]
        table = lift[shown].merge(rho, on=["method", "n_examples"], how="left")
        lines += [markdown_table(table), ""]
        lines += [lexical_sentence(m, part) for m, part in lift.groupby("method", sort=True)]
        lines += [""]
    else:
        lines += [markdown_table(table), ""]
    if unchecked:
        lines += [f"Not checked (no word list): {', '.join(sorted(unchecked))}.", ""]
    return lines
