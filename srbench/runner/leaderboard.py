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

from ..published import published_lines
from ..results import STATUS_OK, read_results

GROUP_KEYS = ["test_dataset", "scale", "degradation", "hr_fraction"]
#: Columns every leaderboard.csv has, in this order; other metrics follow.
BASE_COLUMNS = ["method", "test_dataset", "scale", "degradation", "hr_fraction", "hr_source", "seeds", "status",
                "reason", "flags", "dataset"]
METRIC_COLUMNS = ["psnr_y", "ssim_y", "lr_psnr", "hf_ratio", "spectral_distance", "periodic_ratio", "lpips", "fid",
                  "kid"]
COST_COLUMNS = ["train_seconds", "params", "inference_ms_per_megapixel"]
#: Metric used to rank rows within a table.
RANK_METRIC = "psnr_y"
#: hf_ratio above this means more high-frequency energy than the ground truth: artefacts, not detail
#: (a pixel-shuffle checkerboard reached 2.2 in a 3-minute CPU experiment).
HF_ARTEFACT_THRESHOLD = 1.2
#: periodic_ratio above this: the output's detail sits on the x-scale grid lines at 1.5 times the
#: truth's share or more: stripes or checkerboards, even when too faint for the hf_ratio bar. On
#: ``default`` at x4 (quick profile; means over the 3 test photos) outputs without visible
#: patterns scored 0.02 (bicubic) to 1.02, a checkerboard visible on coffee 1.9 (hf_ratio 0.14),
#: faint horizontal stripes 4.6 (hf_ratio 0.034, just above bicubic's 0.032), plain stripes 13 to 37.
PERIODIC_ARTEFACT_THRESHOLD = 1.5
#: lr_psnr below this: the output no longer explains its own LR input. Bicubic upsampling scores
#: ~37-41 dB here; models trained with a consistency loss reach 45-48 dB.
LR_CONSISTENCY_THRESHOLD = 40.0
#: Rows every other row of a table is checked against, when the table has them.
BICUBIC, CROSSSCALE = "bicubic", "crossscale"
#: Flag -> what the Markdown and HTML tables say. A flag is a failed check, not an error.
FLAG_TEXT = {
    "hf_artefact": f"hf_ratio > {HF_ARTEFACT_THRESHOLD}: artefacts",
    "periodic_artefact": f"periodic_ratio > {PERIODIC_ARTEFACT_THRESHOLD:g}: stripes/checkerboard",
    "psnr_not_above_bicubic": "PSNR-Y not above bicubic",
    "not_sharper_than_bicubic": "hf_ratio not above bicubic",
    "lr_inconsistent": f"lr_psnr < {LR_CONSISTENCY_THRESHOLD:g} dB",
}

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


def _option_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def method_variants(results: Iterable[dict[str, Any]]) -> dict[str, str]:
    """Row label -> the options that tell it from the other variants of its method (``name=value, ...``).

    Only for labels with an options hash (:func:`_method_labels`): ``fewhr[fd879d]`` means little
    until the reader learns it is ``term=pairwise`` against ``fewhr[f5d526]``'s ``term=none``.
    """
    results = list(results)
    labels = _method_labels(results)
    by_method: dict[str, dict[str, dict[str, Any]]] = {}  # method -> label -> options
    for r in results:
        spec = r.get("spec", {})
        label = labels.get(r.get("trial_id", ""), spec.get("method"))
        if label != spec.get("method"):
            by_method.setdefault(spec.get("method"), {})[label] = spec.get("method_options") or {}
    legend = {}
    for variants in by_method.values():
        differing = sorted(k for k in set().union(*variants.values())
                           if len({json.dumps(o.get(k), sort_keys=True) for o in variants.values()}) > 1)
        for label, opts in variants.items():
            legend[label] = ", ".join(f"{k}={_option_text(opts.get(k))}" for k in differing)
    return dict(sorted(legend.items()))


def result_rows(results: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """One row per (trial, test dataset) with spec fields, status, mean metrics and costs."""
    results = list(results)
    labels = _method_labels(results)
    rows = []
    for r in results:
        spec = r.get("spec", {})
        base = {"method": labels.get(r.get("trial_id", ""), spec.get("method")), "dataset": spec.get("dataset"),
                "scale": spec.get("scale"), "degradation": spec.get("degradation"),
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
        row["dataset"] = ", ".join(sorted({str(d) for d in g.get("dataset", pd.Series(dtype=object)).dropna()}))
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
    agg = _add_reference_checks(pd.DataFrame(out))
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
    ref_cols = [c for c in REFERENCE_COLUMNS if c in agg.columns]
    cols = BASE_COLUMNS + ["rank"] + metric_cols + cost_cols + ci_cols + ref_cols
    return agg[cols].sort_values(GROUP_KEYS + ["rank", "method"], na_position="last").reset_index(drop=True)


#: Differences to the cross-scale (no-HR) reference of the same table; positive hf: sharper,
#: negative spectral distance: closer to the truth's spectrum.
REFERENCE_COLUMNS = ["hf_ratio_minus_crossscale", "spectral_distance_minus_crossscale"]


def _reference_row(g: pd.DataFrame, method: str) -> "pd.Series | None":
    rows = g[(g["method"] == method) & (g["status"] == STATUS_OK)]
    return rows.iloc[0] if len(rows) else None


def _add_reference_checks(agg: pd.DataFrame) -> pd.DataFrame:
    """``flags`` (see :data:`FLAG_TEXT`) and the differences to ``crossscale``, table by table.

    Few-HR methods must show their worth in sharpness and spectral fidelity without losing LR
    consistency: at CPU budgets PSNR hardly separates them from the no-HR reference, so the table
    says when a row is no sharper than bicubic, less consistent than 40 dB, or full of artefacts.
    """
    flags: dict[int, list[str]] = {i: [] for i in agg.index}
    for c in REFERENCE_COLUMNS:
        agg[c] = float("nan")
    for _, g in agg.groupby(GROUP_KEYS, dropna=False):
        bicubic, cross = _reference_row(g, BICUBIC), _reference_row(g, CROSSSCALE)
        for i, r in g.iterrows():
            hf, psnr, lr = (r.get(k, float("nan")) for k in ("hf_ratio", "psnr_y", "lr_psnr"))
            if pd.isna(hf) and pd.isna(psnr) and pd.isna(lr):
                continue  # nothing scored (incompatible, failed)
            if hf > HF_ARTEFACT_THRESHOLD:
                flags[i].append("hf_artefact")
            if r.get("periodic_ratio", float("nan")) > PERIODIC_ARTEFACT_THRESHOLD:
                flags[i].append("periodic_artefact")
            if r["method"] == BICUBIC:
                continue
            if bicubic is not None and psnr <= bicubic.get("psnr_y", float("nan")):
                flags[i].append("psnr_not_above_bicubic")
            if bicubic is not None and hf <= bicubic.get("hf_ratio", float("nan")):
                flags[i].append("not_sharper_than_bicubic")
            if lr < LR_CONSISTENCY_THRESHOLD:
                flags[i].append("lr_inconsistent")
            if cross is not None and r["method"] != CROSSSCALE:
                agg.loc[i, "hf_ratio_minus_crossscale"] = hf - cross.get("hf_ratio", float("nan"))
                agg.loc[i, "spectral_distance_minus_crossscale"] = (r.get("spectral_distance", float("nan"))
                                                                    - cross.get("spectral_distance", float("nan")))
    agg["flags"] = pd.Series({i: ";".join(f) for i, f in flags.items()}, dtype=object)
    return agg


def _fmt(v: Any, ci: Any = None) -> str:
    if isinstance(v, float):
        if math.isnan(v):
            return "–"
        s = f"{v:.4g}" if abs(v) < 1000 else f"{v:.0f}"
        if isinstance(ci, float) and not math.isnan(ci):
            s += f" ± {ci:.2g}"
        return s
    return str(v)


def to_markdown(agg: pd.DataFrame, variants: dict[str, str] | None = None) -> str:
    """One Markdown table per (test dataset, scale, degradation, hr_fraction), then the variants' legend.

    :param variants: row label -> the options that set it apart (:func:`method_variants`).
    """
    lines = ["# srbench leaderboard", "",
             "Mean over seeds ± 95% confidence half-width; rank by PSNR-Y within each table. hf_ratio: 1 is as "
             f"detailed as the truth; above {HF_ARTEFACT_THRESHOLD} is flagged as artefacts. periodic_ratio: 1 "
             f"has the truth's share of detail on the upsampling grid's frequencies; above "
             f"{PERIODIC_ARTEFACT_THRESHOLD:g} is flagged as stripes/checkerboard. ⚠ marks a failed "
             f"check: PSNR-Y or hf_ratio not above bicubic's, lr_psnr below {LR_CONSISTENCY_THRESHOLD:g} dB, "
             "or an artefact flag.", ""]
    if agg.empty:
        return "\n".join(lines + ["(no results)", ""])
    skip = set(BASE_COLUMNS + COST_COLUMNS + REFERENCE_COLUMNS + ["rank"])
    shown = [c for c in agg.columns if c not in skip and not c.endswith("_ci95") and agg[c].notna().any()]
    for keys, g in agg.groupby(GROUP_KEYS, sort=True, dropna=False):
        test, scale, deg, frac = keys
        lines += [f"## {test}, x{scale}, {deg}, hr_fraction {frac:g}", ""]
        header = ["rank", "method", "seeds", "status", *shown, "train s", "params"]
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "---|" * len(header))
        for _, r in g.iterrows():
            status = r["status"] + (f" ({r['reason']})" if r["reason"] and r["status"] != STATUS_OK else "")
            for flag in filter(None, str(r.get("flags") or "").split(";")):
                status += f" ⚠ {FLAG_TEXT.get(flag, flag)}"
            cells = [_fmt(r["rank"]) if not pd.isna(r["rank"]) else "–", r["method"], str(r["seeds"]), status,
                     *(_fmt(r[c], r.get(f"{c}_ci95")) for c in shown),
                     _fmt(r.get("train_seconds", float("nan"))), _fmt(r.get("params", float("nan")))]
            lines.append("| " + " | ".join(str(c).replace("|", "/") for c in cells) + " |")
        lines.append("")
        lines += published_lines(g, str(test), int(scale), str(deg))  # "published, not run here" rows
        verdict = crossscale_verdict(g)
        if verdict:
            lines += [verdict, ""]
    if variants:
        lines += ["## Variants", "", "Rows of one method run with different options; what sets each apart:", ""]
        lines += [f"- `{label}`: {text or '(same options, other settings)'}" for label, text in variants.items()]
        lines.append("")
    return "\n".join(lines)


def crossscale_verdict(g: pd.DataFrame) -> str:
    """One sentence: which rows are ahead of the no-HR reference in sharpness and spectral distance.

    Ahead means by more than the two rows' 95% half-widths together (intervals that do not
    overlap), so a difference the seeds do not resolve is not called a win.
    """
    rows = g[g["hf_ratio_minus_crossscale"].notna()] if "hf_ratio_minus_crossscale" in g else g.iloc[0:0]
    rows = rows[rows["method"] != BICUBIC]
    cross = _reference_row(g, CROSSSCALE)
    if rows.empty or cross is None:
        return ""

    def margin(r: pd.Series, metric: str) -> float:
        cis = (r.get(f"{metric}_ci95", float("nan")), cross.get(f"{metric}_ci95", float("nan")))
        return sum(0.0 if pd.isna(c) else float(c) for c in cis)

    sharper = [r["method"] for _, r in rows.iterrows()
               if r["hf_ratio_minus_crossscale"] > margin(r, "hf_ratio")]
    closer = [r["method"] for _, r in rows.iterrows()
              if r["spectral_distance_minus_crossscale"] < -margin(r, "spectral_distance")]
    neither = [m for m in rows["method"] if m not in sharper and m not in closer]
    parts = [f"sharper (hf_ratio): {', '.join(sharper) or 'none'}",
             f"closer spectrum (spectral distance): {', '.join(closer) or 'none'}"]
    if neither:
        parts.append(f"neither: {', '.join(neither)}")
    single = cross.get("seeds", 1) < 2 or (rows["seeds"] < 2).any()
    basis = ("one seed, no interval: any difference counts and may be noise" if single
             else "ahead = beyond both 95% intervals")
    return f"Against crossscale (no HR, same budget; {basis}): " + "; ".join(parts) + "."


def write_leaderboard(out: Path) -> tuple[Path, Path, Path]:
    """(Re)write ``leaderboard.csv``, ``leaderboard.md`` and ``report.html`` in ``out`` from its results."""
    from .report_html import render_report

    out = Path(out)
    results = read_results(out)
    agg = aggregate(result_rows(results))
    variants = method_variants(results)
    csv_path, md_path, html_path = out / "leaderboard.csv", out / "leaderboard.md", out / "report.html"
    agg.assign(variant=[variants.get(m, "") for m in agg["method"]]).to_csv(csv_path, index=False)
    md_path.write_text(to_markdown(agg, variants))
    tmp = html_path.with_name(html_path.name + ".tmp")
    tmp.write_text(render_report(out, agg, results))
    tmp.replace(html_path)
    return csv_path, md_path, html_path
