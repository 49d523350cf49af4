"""Markdown report of a steering-effectiveness run.

The report is generated only from the numbers passed in, written atomically, and scrubbed of
secrets (see :mod:`steering.reporting.redaction`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import pandas as pd

from steering.evaluation.coherence import require_columns
from steering.evaluation.knee import Knee, KneeSpread
from steering.io import atomic_path
from steering.reporting.markdown import markdown_table
from steering.reporting.redaction import scrub, secret_values
from steering.reporting.sections import (
    conclusion_section,
    config_section,
    control_sentence,
    figures_section,
    judge_section,
    reference_section,
    se_section,
)
from steering.reporting.verdicts import knee_spread_section, lexical_section, verdict_section

AUROC_THRESHOLD: Final[float] = 0.8


def write_report(
    path: Path | str,
    *,
    config: Mapping[str, Any],
    se_table: pd.DataFrame,
    mean_table: pd.DataFrame,
    knee: Knee,
    knee_noise: Knee,
    cost: pd.DataFrame,
    judge_validation: pd.DataFrame,
    reference_source: str,
    reference_is_judge: bool,
    plots: Mapping[str, Path],
    methods_table: pd.DataFrame,
    control_table: pd.DataFrame,
    verdicts: pd.DataFrame,
    primary_method: str,
    lexical: pd.DataFrame | None = None,
    lexical_lift: pd.DataFrame | None = None,
    unchecked_concepts: Sequence[str] = (),
    auroc_threshold: float = AUROC_THRESHOLD,
    knee_spreads: Mapping[str, KneeSpread] | None = None,
    knee_spread_blocked: str = "",
    extra_sections: Sequence[Sequence[str]] = (),
) -> Path:
    """Write the Markdown report atomically.

    Args:
        path: Target ``.md`` path; its folder is created if needed.
        config: Run configuration (nested dicts allowed). Secret-looking entries are redacted;
            entries naming environment variables (``*_env``) are printed as names only.
        se_table: Output of :func:`steering.evaluation.tables.se_table`.
        mean_table: Output of :func:`steering.evaluation.tables.mean_se_table`.
        knee: Threshold knee (:func:`steering.evaluation.knee.find_knee`).
        knee_noise: Noise-aware knee (:func:`steering.evaluation.knee.find_knee_noise_aware`).
        cost: Columns ``n_examples``, ``fit_seconds``, ``peak_memory_mb``, ``memory_kind``.
        judge_validation: Columns ``concept``, ``auroc``, ``n``.
        reference_source: Where the reference of r comes from, in words, e.g.
            ``"human ratings from ratings.csv"`` or ``"second judge pass (bipolar rubric)"``.
        reference_is_judge: True when the reference is a second judge pass (r is then partly
            circular), False when it is independent human ratings.
        plots: Figure title -> PNG path; linked relative to the report's folder.
        methods_table: Ablation table, rendered as is (e.g. ``mean_table`` rows of all methods).
        control_table: Random-control table, rendered as is (e.g.
            :func:`steering.evaluation.tables.control_margin`; ``margin``/``separated`` are
            summarised).
        verdicts: One verdict per method (``method``, ``text``, ``reason``; e.g.
            :func:`steering.evaluation.verdict.verdict_table`); empty when no control was run.
        primary_method: The method the SE tables and the conclusion describe.
        lexical: The judge-free concept-word check
            (:func:`steering.evaluation.lexicon.lexical_summary` rows), or None to leave it out.
        lexical_lift: Its lift per (method, n_examples) with intervals
            (:func:`steering.evaluation.lexical_intervals.lexical_lift_table`), or None.
        unchecked_concepts: Concepts without a word list (named in that section).
        auroc_threshold: Judge AUROC below which a warning is printed.
        knee_spreads: Per method, the knees of its resamples
            (:func:`steering.evaluation.verdict.resample_knee_spreads`), or None to leave the
            section out.
        knee_spread_blocked: Why no knee per resample was sought (e.g. the judge failed).
        extra_sections: Further sections' Markdown lines (e.g. the judge-free curves, the
            judge's confusion matrix, the methods' directions), in order, before the conclusion.

    Returns:
        The written path.

    Raises:
        ValueError: If a table lacks required columns or ``primary_method`` is not in
            ``mean_table``.
    """
    require_columns(
        se_table, ["method", "n_examples", "concept", "se", "ci_low", "ci_high"], "se_table"
    )
    require_columns(
        mean_table, ["method", "n_examples", "mean_se", "ci_low", "ci_high"], "mean_table"
    )
    require_columns(cost, ["n_examples", "fit_seconds", "peak_memory_mb", "memory_kind"], "cost")
    require_columns(judge_validation, ["concept", "auroc", "n"], "judge_validation")
    require_columns(verdicts, ["method", "text", "reason"], "verdicts")
    methods = sorted(set(mean_table["method"]))
    if primary_method not in methods:
        raise ValueError(
            f"method {primary_method!r} is not in mean_table (methods: {methods}); "
            "pass primary_method=<one of those>"
        )

    target = Path(path)
    judge_lines, judge_caveat = judge_section(judge_validation, auroc_threshold)
    lines = [
        "# Steering effectiveness report",
        "",
        *config_section(config),
        *judge_lines,
        *reference_section(reference_source, reference_is_judge=reference_is_judge),
        *se_section(se_table, mean_table, primary_method),
        "## Cost",
        "",
        markdown_table(cost),
        "",
        *figures_section(plots, target.parent),
        "## Ablation: methods",
        "",
        markdown_table(methods_table),
        "",
        "## Random-direction control",
        "",
        control_sentence(control_table),
        "",
        markdown_table(control_table),
        "",
        *verdict_section(verdicts),
        *(
            knee_spread_section(knee_spreads, knee_spread_blocked)
            if knee_spreads is not None
            else []
        ),
        *(
            lexical_section(lexical, unchecked_concepts, lift=lexical_lift)
            if lexical is not None
            else []
        ),
        *(line for section in extra_sections for line in section),
        *conclusion_section(
            knee=knee,
            knee_noise=knee_noise,
            mean_table=mean_table,
            se_table=se_table,
            cost=cost,
            method=primary_method,
            judge_caveat=judge_caveat,
            reference_is_judge=reference_is_judge,
            spread=(knee_spreads or {}).get(primary_method),
        ),
    ]
    text = scrub("\n".join(lines), secret_values(config))
    with atomic_path(target, ".md") as tmp:
        tmp.write_text(text, encoding="utf-8")
    return target
