"""The sections of the Markdown report, each built only from the numbers passed in.

Every function returns the section's lines; :func:`steering.reporting.report.write_report`
assembles them. ``n_examples`` is the number of training examples per concept.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import pandas as pd

from steering.evaluation.knee import Knee, KneeSpread
from steering.reporting.markdown import config_value, fmt, markdown_table, percent, with_ci
from steering.reporting.redaction import redact_config

# Config summary: label -> candidate flattened keys (first match wins; suffix match allowed).
_SUMMARY_KEYS: Final[dict[str, tuple[str, ...]]] = {
    "model": ("model", "model.name", "model_name", "model.id"),
    "layer": ("layer", "model.layer", "steering.layer", "layers"),
    "examples per concept": ("n_examples",),
    "strengths": ("strengths", "steering.strengths", "generation.strengths"),
    "concepts": ("concepts", "data.concepts"),
    "judge": ("judge", "judge.model", "judge_model", "judge.name"),
    "coherence rule": ("coherence_rule", "coherence.rule", "metrics.coherence_rule"),
    "coherence perplexity ratio": ("ratio", "coherence.ratio", "coherence_ratio"),
    "coherence distinct-2 ratio": ("distinct_ratio", "coherence.distinct_ratio"),
    "sampling (no = greedy decoding)": ("do_sample", "generation.do_sample"),
}
_PER_CONCEPT: Final[str] = "examples/concept"


def _lookup(flat: Mapping[str, Any], candidates: tuple[str, ...]) -> Any:
    for key in candidates:
        if key in flat:
            return flat[key]
    for key in candidates:
        for name, value in flat.items():
            if name.endswith(f".{key}"):
                return value
    return None


def config_section(config: Mapping[str, Any]) -> list[str]:
    """A summary of the main settings and the full (redacted) configuration, folded."""
    flat = redact_config(config)
    lines = ["## Configuration", ""]
    for label, candidates in _SUMMARY_KEYS.items():
        value = _lookup(flat, candidates)
        if value is not None:
            lines.append(f"- **{label}**: {config_value(value)}")
    lines += ["", "<details><summary>Full configuration</summary>", ""]
    values = [config_value(v) for v in flat.values()]
    lines.append(markdown_table(pd.DataFrame({"key": list(flat), "value": values})))
    lines += ["", "</details>", ""]
    return lines


def judge_section(judge_validation: pd.DataFrame, threshold: float) -> tuple[list[str], str]:
    """Judge AUROC per concept with warnings below ``threshold``, and the conclusion's caveat."""
    lines = ["## Judge validation", ""]
    caveat = "judge validation was not run"
    if judge_validation.empty:
        lines += [
            f"> **WARNING** no judge validation data: judge accuracy is unknown (target AUROC "
            f">= {threshold}).",
            "",
        ]
        return lines, caveat
    bad = [
        (str(row.concept), float(row.auroc))
        for row in judge_validation.itertuples(index=False)
        if not float(row.auroc) >= threshold  # NaN counts as failing
    ]
    for concept, value in bad:
        lines.append(
            f"> **WARNING** judge AUROC for {concept} is {fmt(value, 2)} < {threshold}: the "
            f"judge does not reliably separate on-concept from off-concept text for {concept}, "
            "so its SE is unreliable."
        )
        lines.append(">")
    if bad:
        lines[-1] = ""
    worst = float(judge_validation["auroc"].min())
    caveat = (
        f"judge AUROC is below {threshold} for {', '.join(c for c, _ in bad)}"
        if bad
        else f"judge AUROC is >= {threshold} for every concept (lowest {fmt(worst, 2)})"
    )
    lines.append(
        f"Judge AUROC per concept (its texts vs texts about the other concepts; target >= "
        f"{threshold}):"
    )
    lines += ["", markdown_table(judge_validation[["concept", "auroc", "n"]]), ""]
    return lines, caveat


def reference_section(reference_source: str, *, reference_is_judge: bool) -> list[str]:
    """Where the reference of r comes from, and what that means for r."""
    lines = ["## Reference ratings", "", f"Reference used for r: **{reference_source}**.", ""]
    if reference_is_judge:
        lines.append(
            "The reference comes from a second pass of the same kind of judge, so r measures "
            "agreement between two judge readings rather than agreement with people: it is "
            "partly circular and overstates validity. Treat r (and hence SE) as an upper bound."
        )
    else:
        lines.append(
            "The reference is independent of the judge, so r measures whether the judge's delta "
            "tracks human perception of the concept."
        )
    return [*lines, ""]


def se_section(se_table: pd.DataFrame, mean_table: pd.DataFrame, method: str) -> list[str]:
    """The mean SE per n_examples and the SE per (n_examples, concept) of ``method``."""
    lines = [
        "## Steering effectiveness",
        "",
        "SE = 0.5 * (rho + r) * coherence_rate, with rho = Spearman(delta, strength), "
        "r = Pearson(delta, reference). "
        + (
            "The mean's 95% CI is a hierarchical bootstrap over the resampled example subsets, "
            "then prompts; a concept's SE pools its resamples (95% CI over prompts)."
            if "n_resamples" in mean_table.columns
            else "95% CIs from a bootstrap over prompts."
        ),
        "",
        f"### Mean over concepts by examples per concept ({method})",
        "",
    ]
    mean = mean_table.loc[mean_table["method"] == method].sort_values("n_examples")
    mean_view = pd.DataFrame(
        {
            _PER_CONCEPT: mean["n_examples"].astype(int),
            "mean SE [95% CI]": [
                with_ci(v, lo, hi)
                for v, lo, hi in zip(mean["mean_se"], mean["ci_low"], mean["ci_high"], strict=True)
            ],
        }
    )
    for column, label in (
        ("coherence_rate", "coherence (chosen rule)"),
        ("coherence_rate_prototype", "coherence (prototype rule)"),
    ):
        if column in mean.columns:
            mean_view[label] = [percent(v) for v in mean[column]]
    lines += [markdown_table(mean_view), "", f"### Per examples and concept ({method})", ""]
    rows = se_table.loc[se_table["method"] == method].sort_values(["n_examples", "concept"])
    view = pd.DataFrame(
        {
            _PER_CONCEPT: rows["n_examples"].astype(int),
            "concept": rows["concept"],
            "SE [95% CI]": [
                with_ci(v, lo, hi)
                for v, lo, hi in zip(rows["se"], rows["ci_low"], rows["ci_high"], strict=True)
            ],
            "rho": rows["rho"],
            "r": rows["r"],
            "coherence (chosen rule)": [percent(v) for v in rows["coherence_rate"]],
            "coherence (prototype rule)": [percent(v) for v in rows["coherence_rate_prototype"]],
            "n": rows["n"],
            "flags": rows["flags"].fillna(""),
        }
    )
    return [*lines, markdown_table(view), ""]


def figures_section(plots: Mapping[str, Path], report_dir: Path) -> list[str]:
    """Each figure under its title, linked relative to the report's folder."""
    lines = ["## Figures", ""]
    for title, plot_path in plots.items():
        rel = Path(os.path.relpath(Path(plot_path).resolve(), report_dir.resolve())).as_posix()
        lines += [f"### {title}", "", f"![{title}]({rel})", ""]
    return lines


def control_sentence(control_table: pd.DataFrame) -> str:
    """A summary of the SE margins over the random-direction control."""
    if control_table.empty or "margin" not in control_table.columns:
        return "No random-direction control comparison is available."
    margins = control_table["margin"].astype(float)
    text = (
        f"Across {len(control_table)} (examples per concept, concept) pairs the SE margin over "
        f"the random direction ranges from {fmt(margins.min())} to {fmt(margins.max())} "
        f"(mean {fmt(margins.mean())})."
    )
    if "separated" in control_table.columns:
        n_sep = int(control_table["separated"].astype(bool).sum())
        text += (
            f" In {n_sep} of {len(control_table)} pairs the method's 95% CI lies entirely above "
            "the random direction's."
        )
    return text


def _rows_at(table: pd.DataFrame, n_examples: int, method: str) -> pd.DataFrame:
    rows = table.loc[table["n_examples"] == n_examples]
    if "method" in rows.columns:
        rows = rows.loc[rows["method"] == method]
    return rows


def _cost_sentence(cost: pd.DataFrame) -> str:
    if cost.empty:
        return "No cost measurement is available at this number of examples."
    kinds = sorted(set(cost["memory_kind"]))
    memory_name = " / ".join("GPU (CUDA)" if k == "cuda" else "process RSS" for k in kinds)
    parts = ""
    if {"direction_seconds", "calibration_seconds"} <= set(cost) and cost[
        ["direction_seconds", "calibration_seconds"]
    ].notna().all(axis=None):
        parts = (
            f" ({fmt(float(cost['direction_seconds'].mean()), 2)} s of it the directions of every "
            f"resample, {fmt(float(cost['calibration_seconds'].mean()), 1)} s the strength "
            "calibration)"
        )
    return (
        f"Fitting with this many examples took {fmt(float(cost['fit_seconds'].mean()), 1)} s"
        f"{parts} with a peak {memory_name} memory of "
        f"{fmt(float(cost['peak_memory_mb'].max()), 0)} MB."
    )


def conclusion_section(
    *,
    knee: Knee,
    knee_noise: Knee,
    mean_table: pd.DataFrame,
    se_table: pd.DataFrame,
    cost: pd.DataFrame,
    method: str,
    judge_caveat: str,
    reference_is_judge: bool,
    spread: KneeSpread | None = None,
) -> list[str]:
    """The knee, SE, coherence and cost there, and the caveats, in one paragraph (with
    ``spread``, whether the resamples' knees agree)."""
    parts: list[str] = []
    mean = mean_table.loc[mean_table["method"] == method]
    if knee.n_examples is not None:
        parts.append(
            f"The knee of the training curve is at **{knee.n_examples} examples per concept** "
            f"({knee.reason})."
        )
        focus: int | None = knee.n_examples
        where = "At the knee"
    else:
        parts.append(f"No knee was found ({knee.reason}).")
        focus = int(mean["n_examples"].max()) if not mean.empty else None
        where = f"At the most examples ({focus} per concept)"
    if knee_noise.n_examples is not None:
        parts.append(
            f"The noise-aware knee, where the next step stops being a significant improvement, "
            f"is at {knee_noise.n_examples} examples per concept ({knee_noise.reason})."
        )
    else:
        parts.append(f"The noise-aware criterion finds no knee ({knee_noise.reason}).")
    if spread is not None and spread.reason.startswith("none: "):
        parts.append(
            "Across the resampled example subsets **no resample has a knee** "
            f"({spread.reason.removeprefix('none: ')})."
        )
    elif spread is not None:
        word = "stable" if spread.stable else "unstable"
        parts.append(
            f"Across the resampled example subsets the knee is **{word}** ({spread.reason})."
        )
    if focus is not None:
        at = _rows_at(mean, focus, method)
        if not at.empty:
            row = at.iloc[0]
            parts.append(
                f"{where} the mean SE over concepts is {fmt(float(row['mean_se']))} "
                f"(95% CI {fmt(float(row['ci_low']))} to {fmt(float(row['ci_high']))})."
            )
        if "coherence_rate" in at.columns and not at.empty:
            coherence = float(at.iloc[0]["coherence_rate"])
        else:
            coherence = float(_rows_at(se_table, focus, method)["coherence_rate"].mean())
        parts.append(f"The coherence rate there is {percent(coherence)} under the chosen rule.")
        parts.append(_cost_sentence(_rows_at(cost, focus, method)))
    reference = (
        "the reference is a second judge pass, so r is partly circular"
        if reference_is_judge
        else "the reference is independent human ratings"
    )
    parts.append(
        f"Caveats: {judge_caveat}; {reference}; results come from a single model and a single "
        "layer; outputs were generated with greedy decoding, so they show one continuation per "
        "prompt and strength, not the spread a sampling decoder would produce."
    )
    return ["## Conclusion", "", " ".join(parts), ""]
