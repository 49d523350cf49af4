"""Markdown report of a steering-effectiveness run.

The report is generated only from the numbers passed in, written atomically, and scrubbed of
secrets: config entries whose name suggests a secret are redacted (names of environment
variables, such as ``api_key_env``, are kept), strings that look like API keys are redacted, and
the values of secret-looking environment variables never appear in the output.
"""

from __future__ import annotations

import math
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import pandas as pd

from steering.evaluation.metrics import Knee

AUROC_THRESHOLD: Final[float] = 0.8
PRIMARY_METHOD: Final[str] = "dual"
REDACTED: Final[str] = "[redacted]"

_SECRET_WORDS: Final[frozenset[str]] = frozenset(
    {"key", "apikey", "secret", "token", "password", "passwd", "credential", "credentials", "auth"}
)
_SECRET_VALUE = re.compile(
    r"\b(sk-[A-Za-z0-9_\-]{8,}|sk-ant-[A-Za-z0-9_\-]{8,}|hf_[A-Za-z0-9]{8,}|AKIA[0-9A-Z]{12,}"
    r"|gh[pousr]_[A-Za-z0-9]{16,}|xox[abp]-[A-Za-z0-9\-]{8,})"
)
_MIN_SECRET_LEN: Final[int] = 6

# Config summary: label -> candidate flattened keys (first match wins; suffix match allowed).
_SUMMARY_KEYS: Final[dict[str, tuple[str, ...]]] = {
    "model": ("model", "model.name", "model_name", "model.id"),
    "layer": ("layer", "model.layer", "steering.layer", "layers"),
    "scales (samples per concept)": ("scales", "train.scales", "samples_per_concept"),
    "strengths": ("strengths", "steering.strengths", "generation.strengths"),
    "concepts": ("concepts", "data.concepts"),
    "judge": ("judge", "judge.model", "judge_model", "judge.name"),
    "coherence rule": ("coherence_rule", "coherence.rule", "metrics.coherence_rule"),
    "coherence perplexity ratio": ("ratio", "coherence.ratio", "coherence_ratio"),
    "coherence distinct-2 ratio": ("distinct_ratio", "coherence.distinct_ratio"),
    "sampling (no = greedy decoding)": ("do_sample", "generation.do_sample"),
}


# --------------------------------------------------------------------------------------------
# Formatting helpers
# --------------------------------------------------------------------------------------------


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "n/a" if math.isnan(value) else f"{value:.{digits}f}"
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalar
        return _fmt(value.item(), digits)
    if isinstance(value, list | tuple):
        return ", ".join(_fmt(v, digits) for v in value)
    return str(value)


def _cell(value: Any, digits: int = 3) -> str:
    return _fmt(value, digits).replace("|", "\\|").replace("\n", " ")


def _config_cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list | tuple):
        return ", ".join(_config_cell(v) for v in value)
    return _fmt(value)


def markdown_table(df: pd.DataFrame) -> str:
    """Render a DataFrame as a GitHub-flavoured Markdown table (floats to 3 decimals).

    Args:
        df: The table; its index is dropped.

    Returns:
        The Markdown text, or ``"_(no rows)_"`` for an empty table.
    """
    if df.empty:
        return "_(no rows)_"
    header = "| " + " | ".join(_cell(c) for c in df.columns) + " |"
    sep = "| " + " | ".join("---" for _ in df.columns) + " |"
    body = ["| " + " | ".join(_cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([header, sep, *body])


def _ci(value: float, low: float, high: float) -> str:
    return f"{_fmt(value)} [{_fmt(low)}, {_fmt(high)}]"


def _pct(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{100 * value:.0f}%"


# --------------------------------------------------------------------------------------------
# Secrets
# --------------------------------------------------------------------------------------------


def _flatten(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def _has_secret_word(name: str) -> bool:
    return any(part in _SECRET_WORDS for part in re.split(r"[_\-.\s]+", name.lower()))


def _is_secret_name(name: str) -> bool:
    last = name.rsplit(".", 1)[-1].lower()
    if last.endswith(("_env", "_var")):
        return False  # the NAME of an environment variable, not its value
    return _has_secret_word(last)


def _redact_config(config: Mapping[str, Any]) -> dict[str, Any]:
    return {
        name: REDACTED if _is_secret_name(name) and value not in (None, "") else value
        for name, value in _flatten(config).items()
    }


def _secret_values(config: Mapping[str, Any]) -> list[str]:
    """Values that must never be printed: env vars named by the config or secret-like."""
    names = {
        str(value)
        for name, value in _flatten(config).items()
        if isinstance(value, str) and name.rsplit(".", 1)[-1].lower().endswith(("_env", "_var"))
    }
    names |= {n for n in os.environ if _has_secret_word(n)}
    values = {os.environ.get(n, "") for n in names}
    values |= {
        str(v) for n, v in _flatten(config).items() if _is_secret_name(n) and isinstance(v, str)
    }
    return sorted((v for v in values if len(v) >= _MIN_SECRET_LEN), key=len, reverse=True)


def _scrub(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return _SECRET_VALUE.sub(REDACTED, text)


# --------------------------------------------------------------------------------------------
# Sections
# --------------------------------------------------------------------------------------------


def _lookup(flat: Mapping[str, Any], candidates: tuple[str, ...]) -> Any:
    for key in candidates:
        if key in flat:
            return flat[key]
    for key in candidates:
        for name, value in flat.items():
            if name.endswith(f".{key}"):
                return value
    return None


def _config_section(config: Mapping[str, Any]) -> list[str]:
    flat = _redact_config(config)
    lines = ["## Configuration", ""]
    for label, candidates in _SUMMARY_KEYS.items():
        value = _lookup(flat, candidates)
        if value is not None:
            lines.append(f"- **{label}**: {_config_cell(value)}")
    lines += ["", "<details><summary>Full configuration</summary>", ""]
    values = [_config_cell(v) for v in flat.values()]
    lines.append(markdown_table(pd.DataFrame({"key": list(flat), "value": values})))
    lines += ["", "</details>", ""]
    return lines


def _judge_section(judge_validation: pd.DataFrame, threshold: float) -> tuple[list[str], str]:
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
            f"> **WARNING** judge AUROC for {concept} is {_fmt(value, 2)} < {threshold}: the "
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
        else f"judge AUROC is >= {threshold} for every concept (lowest {_fmt(worst, 2)})"
    )
    lines.append(
        f"Judge AUROC per concept (on-concept vs off-concept texts; target >= {threshold}):"
    )
    lines += ["", markdown_table(judge_validation[["concept", "auroc", "n"]]), ""]
    return lines, caveat


def _is_circular(reference_source: str) -> bool:
    lowered = reference_source.lower()
    return "circular" in lowered or "second judge" in lowered


def _reference_section(reference_source: str) -> list[str]:
    lines = ["## Reference ratings", "", f"Reference used for r: **{reference_source}**.", ""]
    if _is_circular(reference_source):
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


def _se_section(se_table: pd.DataFrame, mean_table: pd.DataFrame, method: str) -> list[str]:
    lines = [
        "## Steering effectiveness",
        "",
        "SE = 0.5 * (rho + r) * coherence_rate, with rho = Spearman(delta, strength), "
        "r = Pearson(delta, reference); 95% CIs from a bootstrap over prompts.",
        "",
        f"### Mean over concepts by scale ({method})",
        "",
    ]
    mean = mean_table.loc[mean_table["method"] == method].sort_values("scale")
    mean_view = pd.DataFrame(
        {
            "samples/concept": mean["scale"].astype(int),
            "mean SE [95% CI]": [
                _ci(v, lo, hi)
                for v, lo, hi in zip(mean["mean_se"], mean["ci_low"], mean["ci_high"], strict=True)
            ],
        }
    )
    for column, label in (
        ("coherence_rate", "coherence (chosen rule)"),
        ("coherence_rate_prototype", "coherence (prototype rule)"),
    ):
        if column in mean.columns:
            mean_view[label] = [_pct(v) for v in mean[column]]
    lines += [markdown_table(mean_view), "", f"### Per scale and concept ({method})", ""]
    rows = se_table.loc[se_table["method"] == method].sort_values(["scale", "concept"])
    view = pd.DataFrame(
        {
            "samples/concept": rows["scale"].astype(int),
            "concept": rows["concept"],
            "SE [95% CI]": [
                _ci(v, lo, hi)
                for v, lo, hi in zip(rows["se"], rows["ci_low"], rows["ci_high"], strict=True)
            ],
            "rho": rows["rho"],
            "r": rows["r"],
            "coherence (chosen rule)": [_pct(v) for v in rows["coherence_rate"]],
            "coherence (prototype rule)": [_pct(v) for v in rows["coherence_rate_prototype"]],
            "n": rows["n"],
            "flags": rows["flags"].fillna(""),
        }
    )
    return [*lines, markdown_table(view), ""]


def _plots_section(plots: Mapping[str, Path], report_dir: Path) -> list[str]:
    lines = ["## Figures", ""]
    for title, plot_path in plots.items():
        rel = Path(os.path.relpath(Path(plot_path).resolve(), report_dir.resolve())).as_posix()
        lines += [f"### {title}", "", f"![{title}]({rel})", ""]
    return lines


def _control_sentence(control_table: pd.DataFrame) -> str:
    if control_table.empty or "margin" not in control_table.columns:
        return "No random-direction control comparison is available."
    margins = control_table["margin"].astype(float)
    text = (
        f"Across {len(control_table)} (scale, concept) pairs the SE margin over the random "
        f"direction ranges from {_fmt(margins.min())} to {_fmt(margins.max())} "
        f"(mean {_fmt(margins.mean())})."
    )
    if "separated" in control_table.columns:
        n_sep = int(control_table["separated"].astype(bool).sum())
        text += (
            f" In {n_sep} of {len(control_table)} pairs the method's 95% CI lies entirely above "
            "the random direction's."
        )
    return text


def _row_at(table: pd.DataFrame, scale: int, method: str | None) -> pd.DataFrame:
    rows = table.loc[table["scale"] == scale]
    if method is not None and "method" in rows.columns:
        rows = rows.loc[rows["method"] == method]
    return rows


def _conclusion(
    *,
    knee: Knee,
    knee_noise: Knee,
    mean_table: pd.DataFrame,
    se_table: pd.DataFrame,
    cost: pd.DataFrame,
    method: str,
    judge_caveat: str,
    reference_source: str,
) -> list[str]:
    parts: list[str] = []
    mean = mean_table.loc[mean_table["method"] == method]
    if knee.scale is not None:
        parts.append(
            f"The knee of the training curve is at **{knee.scale} samples per concept** "
            f"({knee.reason})."
        )
        focus: int | None = knee.scale
        where = "At the knee"
    else:
        parts.append(f"No knee was found ({knee.reason}).")
        focus = int(mean["scale"].max()) if not mean.empty else None
        where = f"At the largest scale ({focus} samples per concept)"
    if knee_noise.scale is not None:
        parts.append(
            f"The noise-aware knee, where the next step stops being a significant improvement, "
            f"is at {knee_noise.scale} samples per concept ({knee_noise.reason})."
        )
    else:
        parts.append(f"The noise-aware criterion finds no knee ({knee_noise.reason}).")
    if focus is not None:
        at = _row_at(mean, focus, method)
        if not at.empty:
            row = at.iloc[0]
            parts.append(
                f"{where} the mean SE over concepts is {_fmt(float(row['mean_se']))} "
                f"(95% CI {_fmt(float(row['ci_low']))} to {_fmt(float(row['ci_high']))})."
            )
        per_concept = _row_at(se_table, focus, method)
        if "coherence_rate" in at.columns and not at.empty:
            coherence = float(at.iloc[0]["coherence_rate"])
        else:
            coherence = float(per_concept["coherence_rate"].mean())
        parts.append(f"The coherence rate there is {_pct(coherence)} under the chosen rule.")
        costs = _row_at(cost, focus, method)
        if not costs.empty:
            kinds = sorted(set(costs["memory_kind"]))
            memory_name = " / ".join("GPU (CUDA)" if k == "cuda" else "process RSS" for k in kinds)
            parts.append(
                f"Fitting at this scale took {_fmt(float(costs['fit_seconds'].mean()), 1)} s with "
                f"a peak {memory_name} memory of "
                f"{_fmt(float(costs['peak_memory_mb'].max()), 0)} MB."
            )
        else:
            parts.append("No cost measurement is available at this scale.")
    circular = (
        "the reference is a second judge pass, so r is partly circular"
        if _is_circular(reference_source)
        else "the reference is independent human ratings"
    )
    parts.append(
        f"Caveats: {judge_caveat}; {circular}; results come from a single model and a single "
        "layer; outputs were generated with greedy decoding, so they show one continuation per "
        "prompt and strength, not the spread a sampling decoder would produce."
    )
    return ["## Conclusion", "", " ".join(parts), ""]


def _default_mode() -> int:
    """File mode an ordinary ``open()`` would give (mkstemp creates files as 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


# --------------------------------------------------------------------------------------------
# Public entry point
# --------------------------------------------------------------------------------------------


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
    plots: Mapping[str, Path],
    methods_table: pd.DataFrame,
    control_table: pd.DataFrame,
    method: str = PRIMARY_METHOD,
    auroc_threshold: float = AUROC_THRESHOLD,
) -> Path:
    """Write the Markdown report atomically.

    Args:
        path: Target ``.md`` path; its folder is created if needed.
        config: Run configuration (nested dicts allowed). Secret-looking entries are redacted;
            entries naming environment variables (``*_env``) are printed as names only.
        se_table: Output of :func:`steering.evaluation.metrics.se_table`.
        mean_table: Output of :func:`steering.evaluation.metrics.mean_se_by_scale`.
        knee: Threshold knee (:func:`steering.evaluation.metrics.find_knee`).
        knee_noise: Noise-aware knee (:func:`steering.evaluation.metrics.find_knee_noise_aware`).
        cost: Columns ``scale``, ``fit_seconds``, ``peak_memory_mb``, ``memory_kind``.
        judge_validation: Columns ``concept``, ``auroc``, ``n``.
        reference_source: ``"human ratings from <file>"`` or
            ``"second judge pass (bipolar rubric), partly circular"``.
        plots: Figure title -> PNG path; linked relative to the report's folder.
        methods_table: Ablation table, rendered as is (e.g. ``mean_table`` rows of all methods).
        control_table: Random-control table, rendered as is (e.g.
            :func:`steering.evaluation.metrics.control_margin`; ``margin``/``separated`` are
            summarised).
        method: The primary method the SE tables and conclusion describe.
        auroc_threshold: Judge AUROC below which a warning is printed.

    Returns:
        The written path.

    Raises:
        ValueError: If a table lacks required columns or ``method`` is not in ``mean_table``.
    """
    required = {
        "se_table": (se_table, ["method", "scale", "concept", "se", "ci_low", "ci_high"]),
        "mean_table": (mean_table, ["method", "scale", "mean_se", "ci_low", "ci_high"]),
        "cost": (cost, ["scale", "fit_seconds", "peak_memory_mb", "memory_kind"]),
        "judge_validation": (judge_validation, ["concept", "auroc", "n"]),
    }
    for name, (table, columns) in required.items():
        missing = [c for c in columns if c not in table.columns]
        if missing:
            raise ValueError(f"{name} is missing column(s) {missing}; it has {list(table.columns)}")
    if method not in set(mean_table["method"]):
        raise ValueError(
            f"method {method!r} is not in mean_table (methods: {sorted(set(mean_table['method']))})"
            "; pass method=<one of those>"
        )

    target = Path(path)
    judge_lines, judge_caveat = _judge_section(judge_validation, auroc_threshold)
    lines = [
        "# Steering effectiveness report",
        "",
        *_config_section(config),
        *judge_lines,
        *_reference_section(reference_source),
        *_se_section(se_table, mean_table, method),
        "## Cost",
        "",
        markdown_table(cost),
        "",
        *_plots_section(plots, target.parent),
        "## Ablation: methods",
        "",
        markdown_table(methods_table),
        "",
        "## Random-direction control",
        "",
        _control_sentence(control_table),
        "",
        markdown_table(control_table),
        "",
        *_conclusion(
            knee=knee,
            knee_noise=knee_noise,
            mean_table=mean_table,
            se_table=se_table,
            cost=cost,
            method=method,
            judge_caveat=judge_caveat,
            reference_source=reference_source,
        ),
    ]
    text = _scrub("\n".join(lines), _secret_values(config))

    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=".md", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp_name, _default_mode())
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return target
