"""Aggregate trial results into the leaderboard: mean and 95% CI over seeds, ranks per table.

One table per (test dataset, scale, degradation, hr_fraction); methods are rows.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from ..results import STATUS_OK, read_results

GROUP_KEYS = ["test_dataset", "scale", "degradation", "hr_fraction"]
#: Columns every leaderboard.csv has, in this order; other metrics follow.
BASE_COLUMNS = ["method", "test_dataset", "scale", "degradation", "hr_fraction", "hr_source", "seeds", "status",
                "reason", "flags"]
METRIC_COLUMNS = ["psnr_y", "ssim_y", "lr_psnr", "hf_ratio", "spectral_distance", "lpips", "fid", "kid"]
COST_COLUMNS = ["train_seconds", "params", "inference_ms_per_megapixel"]
#: Metric used to rank rows within a table.
RANK_METRIC = "psnr_y"
#: hf_ratio above this means more high-frequency energy than the ground truth: artefacts, not detail
#: (a pixel-shuffle checkerboard reached 2.2 in a 3-minute CPU experiment).
HF_ARTEFACT_THRESHOLD = 1.2

# Two-sided 95% Student-t quantiles for n-1 degrees of freedom (n seeds); 1.96 beyond 30.
_T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228,
        15: 2.131, 20: 2.086, 30: 2.042}


def t95(dof: int) -> float:
    if dof <= 0:
        return float("nan")
    keys = [k for k in sorted(_T95) if k >= dof]
    return _T95[keys[0]] if keys else 1.96


def _method_labels(results: list[dict[str, Any]]) -> dict[str, str]:
    """Trial id -> row label: the method name, plus a short options hash when one folder holds
    trials of the same method with different options (so they are not averaged together)."""
    variants: dict[str, set[str]] = {}
    keys: dict[str, tuple[str, str]] = {}
    for r in results:
        spec = r.get("spec", {})
        opts = json.dumps(spec.get("method_options") or {}, sort_keys=True)
        keys[r.get("trial_id", "")] = (spec.get("method"), opts)
        variants.setdefault(spec.get("method"), set()).add(opts)
    labels = {}
    for tid, (method, opts) in keys.items():
        if len(variants[method]) > 1:
            labels[tid] = f"{method}[{hashlib.sha256(opts.encode()).hexdigest()[:6]}]"
        else:
            labels[tid] = method
    return labels


def result_rows(results: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """One row per (trial, test dataset) with spec fields, status, mean metrics and costs."""
    results = list(results)
    labels = _method_labels(results)
    rows = []
    for r in results:
        spec = r.get("spec", {})
        base = {"method": labels.get(r.get("trial_id", ""), spec.get("method")), "scale": spec.get("scale"), "degradation": spec.get("degradation"),
                "hr_fraction": spec.get("hr_fraction"), "hr_source": spec.get("hr_source"), "seed": spec.get("seed"),
                "status": r.get("status"), "reason": r.get("reason", ""), **(r.get("cost") or {})}
        tests = spec.get("test_datasets") or list((r.get("metrics") or {}).keys())
        for test in tests:
            metrics = ((r.get("metrics") or {}).get(test) or {}).get("mean") or {}
            rows.append({**base, "test_dataset": test, **metrics})
    return pd.DataFrame(rows)


def _status(statuses: list[str]) -> str:
    counts = Counter(statuses)
    if len(counts) == 1:
        return statuses[0]
    return ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))


def aggregate(df: pd.DataFrame) -> pd.DataFrame:
    """Mean and 95% CI over seeds for every (method, table) group; ``rank`` by psnr_y within each table."""
    if df.empty:
        return pd.DataFrame(columns=BASE_COLUMNS + METRIC_COLUMNS + COST_COLUMNS)
    value_cols = [c for c in df.columns if c not in BASE_COLUMNS + ["seed"] and pd.api.types.is_numeric_dtype(df[c])]
    out = []
    for keys, g in df.groupby(["method", *GROUP_KEYS], dropna=False, sort=True):
        row: dict[str, Any] = dict(zip(["method", *GROUP_KEYS], keys))
        ok = g[g["status"] == STATUS_OK]
        row["hr_source"] = g["hr_source"].iloc[0]
        row["seeds"] = int(g["seed"].nunique())
        row["status"] = _status(list(g["status"]))
        row["reason"] = "; ".join(sorted({str(x) for x in g["reason"] if x}))
        for c in value_cols:
            vals = pd.to_numeric(ok[c], errors="coerce").dropna()
            row[c] = float(vals.mean()) if len(vals) else float("nan")
            if c not in COST_COLUMNS:
                n = len(vals)
                row[f"{c}_ci95"] = float(t95(n - 1) * vals.std(ddof=1) / math.sqrt(n)) if n > 1 else float("nan")
        out.append(row)
    agg = pd.DataFrame(out)
    agg["flags"] = ""
    if "hf_ratio" in agg.columns:
        agg.loc[agg["hf_ratio"] > HF_ARTEFACT_THRESHOLD, "flags"] = "hf_artefact"
    agg["rank"] = float("nan")
    if RANK_METRIC in agg.columns:
        agg["rank"] = agg.groupby(GROUP_KEYS, dropna=False)[RANK_METRIC].rank(ascending=False, method="min")
    metric_cols = [c for c in METRIC_COLUMNS if c in agg.columns] + sorted(
        c for c in value_cols if c not in METRIC_COLUMNS + COST_COLUMNS)
    for c in METRIC_COLUMNS:
        if c not in agg.columns:
            agg[c] = float("nan")
    metric_cols = METRIC_COLUMNS + [c for c in metric_cols if c not in METRIC_COLUMNS]
    ci_cols = [f"{c}_ci95" for c in metric_cols if f"{c}_ci95" in agg.columns]
    cost_cols = [c for c in COST_COLUMNS if c in agg.columns]
    cols = BASE_COLUMNS + ["rank"] + metric_cols + cost_cols + ci_cols
    return agg[cols].sort_values(GROUP_KEYS + ["rank", "method"], na_position="last").reset_index(drop=True)


def _fmt(v: Any, ci: Any = None) -> str:
    if isinstance(v, float):
        if math.isnan(v):
            return "–"
        s = f"{v:.4g}" if abs(v) < 1000 else f"{v:.0f}"
        if isinstance(ci, float) and not math.isnan(ci):
            s += f" ± {ci:.2g}"
        return s
    return str(v)


def to_markdown(agg: pd.DataFrame) -> str:
    """One Markdown table per (test dataset, scale, degradation, hr_fraction)."""
    lines = ["# srbench leaderboard", "",
             "Mean over seeds ± 95% confidence half-width; rank by PSNR-Y within each table. hf_ratio: 1 is as "
             f"detailed as the truth; above {HF_ARTEFACT_THRESHOLD} is flagged as artefacts.", ""]
    if agg.empty:
        return "\n".join(lines + ["(no results)", ""])
    skip = set(BASE_COLUMNS + COST_COLUMNS + ["rank"])
    shown = [c for c in agg.columns if c not in skip and not c.endswith("_ci95") and agg[c].notna().any()]
    for keys, g in agg.groupby(GROUP_KEYS, sort=True, dropna=False):
        test, scale, deg, frac = keys
        lines += [f"## {test}, x{scale}, {deg}, hr_fraction {frac:g}", ""]
        header = ["rank", "method", "seeds", "status", *shown, "train s", "params"]
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "---|" * len(header))
        for _, r in g.iterrows():
            status = r["status"] + (f" ({r['reason']})" if r["reason"] and r["status"] != STATUS_OK else "")
            if r.get("flags") == "hf_artefact":
                status += f" ⚠ hf_ratio > {HF_ARTEFACT_THRESHOLD}: artefacts"
            cells = [_fmt(r["rank"]) if not pd.isna(r["rank"]) else "–", r["method"], str(r["seeds"]), status,
                     *(_fmt(r[c], r.get(f"{c}_ci95")) for c in shown),
                     _fmt(r.get("train_seconds", float("nan"))), _fmt(r.get("params", float("nan")))]
            lines.append("| " + " | ".join(str(c).replace("|", "/") for c in cells) + " |")
        lines.append("")
    return "\n".join(lines)


def write_leaderboard(out: Path) -> tuple[Path, Path, Path]:
    """(Re)write ``leaderboard.csv``, ``leaderboard.md`` and ``report.html`` in ``out`` from its results."""
    from .report_html import render_report

    out = Path(out)
    results = read_results(out)
    agg = aggregate(result_rows(results))
    csv_path, md_path, html_path = out / "leaderboard.csv", out / "leaderboard.md", out / "report.html"
    agg.to_csv(csv_path, index=False)
    md_path.write_text(to_markdown(agg))
    tmp = html_path.with_name(html_path.name + ".tmp")
    tmp.write_text(render_report(out, agg, results))
    tmp.replace(html_path)
    return csv_path, md_path, html_path
