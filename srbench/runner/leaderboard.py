"""Aggregate trial results into the leaderboard: mean and 95% CI over seeds, ranks, checks, and
paired differences to a reference row, per table.

One table per (test dataset, scale, degradation, hr_fraction); rows are methods (one per code
version and set of options, :mod:`.board_rows`). Directions, checks and roles come from the
plugins' metadata (:mod:`.board_settings`); nothing here names a built-in metric or method.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pandas as pd

from ..plugin_manager import get_plugin_system
from ..published import published_lines
from ..result_record import as_records
from ..results import (
    KEY_INFERENCE_MS_PER_MP,
    KEY_PARAMS,
    KEY_TRAIN_CPU_SECONDS,
    KEY_TRAIN_SECONDS,
    STATUS_OK,
)
from .board_rows import (
    GROUP_KEYS,
    Records,
    image_rows,
    label_settings,
    method_labels,
    method_variants,
    result_rows,
)
from .board_settings import BoardSettings
from .numfmt import fmt_number, fmt_signed
from .paired import (
    ABLATION_COLUMNS,
    ABLATION_SUFFIXES,
    NO_PER_IMAGE,
    PAIRED_SUFFIXES,
    add_ablation_comparisons,
    add_paired_comparisons,
)
from .statistics import mean_ci

__all__ = ["GROUP_KEYS", "aggregate", "build_leaderboard", "method_labels", "method_variants", "metric_columns",
           "result_rows", "to_markdown"]

#: Columns every leaderboard.csv has, in this order; metrics, costs and intervals follow.
BASE_COLUMNS = ["method", "method_version", "test_dataset", "scale", "degradation", "hr_fraction", "hr_source",
                "seeds", "status", "reason", "flags", "dataset", "devices"]
COST_COLUMNS = [KEY_TRAIN_SECONDS, KEY_TRAIN_CPU_SECONDS, KEY_PARAMS, KEY_INFERENCE_MS_PER_MP]
#: Internal: the registered method name behind a row label (not written to the csv).
_NAME = "method_name"
_NOT_METRICS = set(BASE_COLUMNS + COST_COLUMNS + ["seed", "rank", "train_device", _NAME, "reference", "paired_basis",
                                                   "variant", *ABLATION_COLUMNS])


def default_settings() -> BoardSettings:
    """Settings from the process's plugins (tests and callers without a plugin system)."""
    return BoardSettings.from_registries(get_plugin_system().registries)


def metric_columns(agg: pd.DataFrame) -> list[str]:
    """The metric columns of an aggregated table, in table order."""
    return [c for c in agg.columns
            if c not in _NOT_METRICS and not c.endswith(("_ci95",) + PAIRED_SUFFIXES + ABLATION_SUFFIXES)]


def _status(statuses: list[str]) -> str:
    counts = Counter(statuses)
    if len(counts) == 1:
        return statuses[0]
    return ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))


def aggregate(df: pd.DataFrame, settings: BoardSettings | None = None) -> pd.DataFrame:
    """Mean and 95% CI over seeds for every (row label, table); ``flags``; ``rank`` by ``settings.rank_by``."""
    settings = settings or default_settings()
    if df.empty:
        return pd.DataFrame(columns=BASE_COLUMNS + ["rank"] + COST_COLUMNS + [_NAME])
    df = df.copy()
    if _NAME not in df:
        df[_NAME] = df["method"]
    if "method_version" not in df:
        df["method_version"] = ""
    value_cols = [c for c in df.columns if (c in COST_COLUMNS or c not in _NOT_METRICS)
                  and pd.api.types.is_numeric_dtype(df[c])]
    out = []
    for keys, g in df.groupby(["method", *GROUP_KEYS], dropna=False, sort=True):
        row: dict[str, Any] = dict(zip(["method", *GROUP_KEYS], keys))
        ok = g[g["status"] == STATUS_OK]
        row.update({_NAME: g[_NAME].iloc[0], "method_version": g["method_version"].iloc[0],
                    "hr_source": g["hr_source"].iloc[0], "seeds": int(g["seed"].nunique()),
                    "dataset": ", ".join(sorted({str(d) for d in g["dataset"].dropna()})) if "dataset" in g else "",
                    "status": _status(list(g["status"])),
                    "reason": "; ".join(sorted({str(x) for x in g["reason"] if x})),
                    # where the row's trials trained: its train seconds average over them
                    "devices": "+".join(sorted({str(d) for d in ok.get("train_device", pd.Series(dtype=str)).dropna()
                                                if d}))})
        for c in value_cols:
            vals = pd.to_numeric(ok[c], errors="coerce").dropna().to_numpy(float)
            row[c], half = mean_ci(vals)
            if c not in COST_COLUMNS:
                row[f"{c}_ci95"] = half
        out.append(row)
    agg = _add_checks(pd.DataFrame(out), settings)
    metrics = settings.order_metrics(c for c in value_cols if c not in COST_COLUMNS)
    agg["rank"] = float("nan")
    if settings.rank_by in agg.columns:
        info = settings.metric(settings.rank_by)
        key = info.transform(agg[settings.rank_by])
        agg["rank"] = key.groupby([agg[k] for k in GROUP_KEYS], dropna=False).rank(
            ascending=info.better_sign < 0, method="min")
    cols = (BASE_COLUMNS + ["rank"] + metrics + [c for c in COST_COLUMNS if c in agg.columns]
            + [f"{c}_ci95" for c in metrics] + [_NAME])
    return agg[cols].sort_values(GROUP_KEYS + ["rank", "method"], na_position="last").reset_index(drop=True)


def _add_checks(agg: pd.DataFrame, settings: BoardSettings) -> pd.DataFrame:
    """``flags``: the metrics' :class:`~srbench.interfaces.metric.Check` each row fails, table by table.

    Bounds apply to every scored row; ``beat_floor`` checks compare with the row of the table's
    floor method (``Method.leaderboard_floor``) and skip that row itself.
    """
    checked = [m for m in agg.columns if settings.metric(m).checks]
    flags: dict[int, list[str]] = {i: [] for i in agg.index}
    for _, g in agg.groupby(GROUP_KEYS, dropna=False):
        floors = g[g[_NAME].isin(settings.floors) & (g["status"] == STATUS_OK)]
        floor = floors.iloc[0] if len(floors) else None
        for i, r in g.iterrows():
            if not checked or all(pd.isna(r[m]) for m in checked):
                continue  # nothing scored (incompatible, failed)
            is_floor = r[_NAME] in settings.floors
            for m in checked:
                info, v = settings.metric(m), r[m]
                for c in info.checks:
                    if is_floor and not c.applies_to_floor:
                        continue
                    failed = (c.above is not None and v > c.above) or (c.below is not None and v < c.below)
                    if c.beat_floor and floor is not None and not is_floor:
                        fv = floor[m]
                        failed = failed or bool(v <= fv if info.higher_is_better else v >= fv)
                    if failed:
                        flags[i].append(c.name.format(floor=floor[_NAME] if floor is not None else "floor"))
    agg["flags"] = pd.Series({i: ";".join(f) for i, f in flags.items()}, dtype=object)
    return agg


def build_leaderboard(results: Records, settings: BoardSettings | None = None) -> pd.DataFrame:
    """The whole leaderboard frame: :func:`aggregate` plus the paired comparisons (:mod:`.paired`):
    with the table's reference row, and of each row with its own ablation."""
    results = as_records(results)
    settings = settings or default_settings()
    agg = aggregate(result_rows(results), settings)
    images, metrics = image_rows(results), metric_columns(agg)
    agg = add_paired_comparisons(agg, images, settings, metrics)
    return add_ablation_comparisons(agg, images, settings, metrics, label_settings(results))


def train_seconds_cell(r: pd.Series) -> str:
    """Mean train seconds, naming the devices when the row's seeds trained on more than one kind (a CPU
    seed and a GPU seed average to a time that neither took)."""
    devices = str(r.get("devices") or "")
    return fmt_number(r.get(KEY_TRAIN_SECONDS)) + (f" ({devices})" if "+" in devices else "")


def _cell(r: pd.Series, c: str) -> str:
    return fmt_number(r[c]) + (f" ± {fmt_number(r[f'{c}_ci95'], 2)}" if not pd.isna(r.get(f"{c}_ci95")) else "")


def paired_cell(r: pd.Series, m: str, suffixes: tuple[str, ...] = PAIRED_SUFFIXES) -> str:
    """``+0.012 ± 0.004 better``, or the verdict alone when there is no difference; ``suffixes``:
    which comparison (:data:`~.paired.PAIRED_SUFFIXES`, or :data:`~.paired.ABLATION_SUFFIXES`)."""
    diff, half, verdict = (f"{m}{s}" for s in suffixes)
    if pd.isna(r.get(diff)):
        return str(r.get(verdict) or "–")
    ci = r.get(half)
    return fmt_signed(r[diff]) + ("" if pd.isna(ci) else f" ± {fmt_number(ci, 2)}") + f" {r[verdict]}"


def shown_metrics(agg: pd.DataFrame) -> list[str]:
    """Metric columns with at least one value (what the Markdown and HTML tables show)."""
    return [c for c in metric_columns(agg) if agg[c].notna().any()]


def paired_metrics(g: pd.DataFrame) -> tuple[list[str], list[str]]:
    """Metrics of table ``g`` with a paired difference, and those with means but no per-image values."""
    ms = metric_columns(g)
    with_diff = [m for m in ms if f"{m}_diff" in g and g[f"{m}_diff"].notna().any()]
    without = [m for m in ms if f"{m}_verdict" in g and (g[f"{m}_verdict"] == NO_PER_IMAGE).any()]
    return with_diff, without


def compared_rows(g: pd.DataFrame) -> pd.DataFrame:
    """The rows of a table that were compared with its reference (not the reference, not a row without a basis)."""
    if "paired_basis" not in g:
        return g.iloc[0:0]
    return g[~g["paired_basis"].astype(str).isin(["reference", ""])]


def paired_note(g: pd.DataFrame, settings: BoardSettings) -> str:
    """The sentence above a table's paired comparison (or why there is none)."""
    ref = next((x for x in g.get("reference", []) if x), "")
    if not ref:
        if len(g) < 2:
            return ""
        why = f"no {settings.reference} row in this table" if settings.reference else "no reference row"
        return f"No paired comparison: {why} (--reference METHOD chooses one)."
    _with_diff, without = paired_metrics(g)
    text = (f"Paired differences to **{ref}** (row minus {ref} on the same test images and seeds; mean ± 95% "
            "half-width; a metric with a target compares distances to it; better/worse: the interval excludes 0)")
    if without:
        text += f". No paired comparison for {', '.join(without)}: {NO_PER_IMAGE}"
    return text + "."


#: The sentence above a table's comparisons of rows with their own ablations.
ABLATION_NOTE = ("Each row against its own ablation: the same method and settings with its term switched off "
                 "(`Method.ablation`), on the same test images and seeds; row minus ablation, mean ± 95% "
                 "half-width, better/worse when the interval excludes 0.")


def ablation_rows(g: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The rows of table ``g`` compared with an ablation, and the metrics with a difference there."""
    if "ablation" not in g:
        return g.iloc[0:0], []
    rows = g[g["ablation"].astype(str).ne("")]
    metrics = [m for m in metric_columns(g) if f"{m}_vs_ablation" in rows and rows[f"{m}_vs_ablation"].notna().any()]
    return rows, metrics


def comparison_lines(rows: pd.DataFrame, label_columns: dict[str, str], metrics: list[str],
                     suffixes: tuple[str, ...]) -> list[str]:
    """Markdown: a table of paired comparisons, the ``label_columns`` (heading -> column) then one cell
    per metric (:func:`paired_cell` of that comparison), and a blank line."""
    head = [*label_columns, *metrics]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for _, r in rows.iterrows():
        cells = [*(r[c] for c in label_columns.values()), *(paired_cell(r, m, suffixes) for m in metrics)]
        lines.append("| " + " | ".join(str(c).replace("|", "/") for c in cells) + " |")
    return lines + [""]


def ablation_lines(g: pd.DataFrame) -> list[str]:
    """Markdown: the table of rows against their own ablations (nothing when no row has one here)."""
    rows, metrics = ablation_rows(g)
    if rows.empty or not metrics:
        return []
    labels = {"row": "method", "vs its ablation": "ablation", "basis": "ablation_basis"}
    return [ABLATION_NOTE, "", *comparison_lines(rows, labels, metrics, ABLATION_SUFFIXES)]


def _table_title(keys: tuple[Any, ...]) -> str:
    test, scale, deg, frac = keys
    return f"{test}, x{scale}, {deg}, hr_fraction {frac:g}"


def to_markdown(agg: pd.DataFrame, variants: dict[str, str] | None = None, *,
                settings: BoardSettings | None = None) -> str:
    """One Markdown table per (test dataset, scale, degradation, hr_fraction), each followed by
    its paired comparison with the reference row, then the variants' legend.

    :param variants: row label -> what sets it apart (:func:`method_variants`).
    """
    settings = settings or default_settings()
    rank = settings.metric(settings.rank_by)
    lines = ["# srbench leaderboard", "",
             f"Mean over seeds ± 95% confidence half-width (Student t); rank by {settings.rank_by} "
             f"({rank.direction_text}) within each table. ⚠ marks a failed check of a metric: "
             + "; ".join(sorted(set(settings.flag_texts().values()))) + ".", ""]
    if agg.empty:
        return "\n".join(lines + ["(no results)", ""])
    shown = shown_metrics(agg)
    texts = settings.flag_texts()
    for keys, g in agg.groupby(GROUP_KEYS, sort=True, dropna=False):
        lines += [f"## {_table_title(keys)}", ""]
        header = ["rank", "method", "seeds", "status", *shown, "train s", "params"]
        lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for _, r in g.iterrows():
            status = r["status"] + (f" ({r['reason']})" if r["reason"] and r["status"] != STATUS_OK else "")
            for flag in filter(None, str(r.get("flags") or "").split(";")):
                status += f" ⚠ {texts.get(flag, flag)}"
            cells = [fmt_number(r["rank"]), r["method"], str(r["seeds"]), status, *(_cell(r, c) for c in shown),
                     train_seconds_cell(r), fmt_number(r.get(KEY_PARAMS))]
            lines.append("| " + " | ".join(str(c).replace("|", "/") for c in cells) + " |")
        lines.append("")
        note = paired_note(g, settings)
        if note:
            lines += [note, ""]
        with_diff, _ = paired_metrics(g)
        others = compared_rows(g)
        if with_diff and len(others):
            labels = {f"vs {g['reference'].iloc[0]}": "method", "basis": "paired_basis"}
            lines += comparison_lines(others, labels, with_diff, PAIRED_SUFFIXES)
        lines += ablation_lines(g)
        test, scale, deg, _ = keys
        lines += published_lines(g, str(test), int(scale), str(deg))  # "published, not run here" rows
    if variants:
        lines += ["## Variants", "", ("Rows of one method with different options or code versions; what sets "
                  "each apart:"), ""]
        lines += [f"- `{label}`: {text or '(same options, other settings)'}" for label, text in variants.items()]
        lines.append("")
    return "\n".join(lines)
