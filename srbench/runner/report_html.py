"""``report.html``: one self-contained page (inline CSS, SVG plots, base64 images) from a run folder.

Sections: the leaderboard tables; an image grid per test image (LR, every method's SR, HR, and
each method's G(HR), the "ultra-resolution" column of the SRGAN report); a perception-distortion
plot; PSNR-Y against hr_fraction when several fractions ran; training loss curves.
"""

from __future__ import annotations

import base64
import html
import math
from pathlib import Path
from typing import Any, Iterable, Sequence

import pandas as pd

from ..published import published_html
from ..results import STATUS_OK, TRIALS_DIR
from ..training.trainer import LOSS_LOG_NAME, read_loss_log
from .leaderboard import (FLAG_TEXT, GROUP_KEYS, HF_ARTEFACT_THRESHOLD, PERIODIC_ARTEFACT_THRESHOLD, REFERENCE_COLUMNS,
                          crossscale_verdict)

#: Metric -> value above which its cell is marked as an artefact.
ARTEFACT_LIMITS = {"hf_ratio": HF_ARTEFACT_THRESHOLD, "periodic_ratio": PERIODIC_ARTEFACT_THRESHOLD}

_PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
            "#17becf"]
_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em;color:#222;max-width:1400px}
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:2em;border-bottom:1px solid #ddd}h3{font-size:1.05em}
table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:.9em}
th,td{border:1px solid #ddd;padding:.25em .6em;text-align:right}th{background:#f4f4f4}
td.l,th.l{text-align:left}tr.bad td{color:#999}.warn{color:#b35c00;font-weight:600}
figure{display:inline-block;margin:.3em;text-align:center;vertical-align:top}
figure img{image-rendering:pixelated;width:160px;height:160px;object-fit:contain;border:1px solid #ccc}
figcaption{font-size:.8em;max-width:160px;overflow-wrap:anywhere}.note{color:#666;font-size:.9em}
svg{background:#fff;border:1px solid #eee;margin:.5em 1em .5em 0}
"""


def _color(i: int) -> str:
    return _PALETTE[i % len(_PALETTE)]


def _img_tag(path: Path, caption: str) -> str:
    if not path.exists():
        return ""
    data = base64.b64encode(path.read_bytes()).decode()
    return (f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def _fmt(v: Any, digits: int = 4) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if isinstance(v, float):
        return f"{v:.{digits}g}"
    return html.escape(str(v))


def _tables(agg: pd.DataFrame) -> str:
    if agg.empty:
        return "<p>No results yet.</p>"
    skip = {"method", "test_dataset", "scale", "degradation", "hr_fraction", "hr_source", "reason", "status",
            "seeds", "rank", "flags", "dataset", *REFERENCE_COLUMNS}
    metric_cols = [c for c in agg.columns if c not in skip and not c.endswith("_ci95") and agg[c].notna().any()]
    parts = []
    for keys, g in agg.groupby(GROUP_KEYS, sort=True, dropna=False):
        test, scale, deg, frac = keys
        parts.append(f"<h3>{html.escape(str(test))}, x{scale}, {html.escape(str(deg))}, hr_fraction {frac:g}</h3>")
        head = "".join(f"<th>{html.escape(c)}</th>" for c in ["rank", "method", "seeds", "status", *metric_cols])
        rows = []
        for _, r in g.iterrows():
            cells = [_fmt(r["rank"]), f'<td class="l">{html.escape(str(r["method"]))}</td>', _fmt(r["seeds"])]
            status = html.escape(str(r["status"]))
            if r["status"] != STATUS_OK and r.get("reason"):
                status += f'<br><span class="note">{html.escape(str(r["reason"]))}</span>'
            for flag in filter(None, str(r.get("flags") or "").split(";")):
                status += f'<br><span class="warn">⚠ {html.escape(FLAG_TEXT.get(flag, flag))}</span>'
            cells = [f"<td>{cells[0]}</td>", cells[1], f"<td>{cells[2]}</td>", f'<td class="l">{status}</td>']
            for c in metric_cols:
                text = _fmt(r[c])
                ci = r.get(f"{c}_ci95")
                if isinstance(ci, float) and not math.isnan(ci):
                    text += f" ± {ci:.2g}"
                limit = ARTEFACT_LIMITS.get(c)
                if limit is not None and isinstance(r[c], float) and r[c] > limit:
                    text = f'<span class="warn" title="{c} above {limit:g}: likely artefacts">{text} ⚠</span>'
                cells.append(f"<td>{text}</td>")
            cls = "" if r["status"] == STATUS_OK else ' class="bad"'
            rows.append(f"<tr{cls}>{''.join(cells)}</tr>")
        parts.append(f"<table><tr>{head}</tr>{''.join(rows)}</table>")
        parts.append(published_html(g, str(test), int(scale), str(deg)))  # "published, not run here" rows
        verdict = crossscale_verdict(g)
        if verdict:
            parts.append(f'<p class="note">{html.escape(verdict)}</p>')
    return "".join(parts)


def _image_grid(out: Path, results: Sequence[dict[str, Any]]) -> str:
    """Per test image: LR, each method's SR (first seed, each fraction), HR, then each method's G(HR)."""
    parts = []
    ok = [r for r in results if r.get("status") == STATUS_OK]
    ok.sort(key=lambda r: (r["spec"]["hr_fraction"], r["spec"]["method"], r["spec"]["seed"]))
    seen: set[tuple[str, float]] = set()
    chosen = []
    for r in ok:  # one trial per (method, fraction): the lowest seed
        key = (r["spec"]["method"], r["spec"]["hr_fraction"])
        if key not in seen:
            seen.add(key)
            chosen.append(r)
    for test_dir in sorted((out / "samples").glob("*")):
        for hr_path in sorted(test_dir.glob("*.hr.png")):
            stem = hr_path.name[: -len(".hr.png")]
            row = [_img_tag(test_dir / f"{stem}.lr.png", "LR")]
            ultra = []
            for r in chosen:
                label = f"{r['spec']['method']} (f={r['spec']['hr_fraction']:g})"
                sdir = out / TRIALS_DIR / r["trial_id"] / "samples" / test_dir.name
                row.append(_img_tag(sdir / f"{stem}.sr.png", label))
                ultra.append(_img_tag(sdir / f"{stem}.ultra.png", f"G(HR) {label}"))
            row.append(_img_tag(hr_path, "HR"))
            parts.append(f"<h3>{html.escape(test_dir.name)} / {html.escape(stem)}</h3><div>{''.join(row)}</div>"
                         f"<div>{''.join(u for u in ultra if u)}</div>")
    if not parts:
        return "<p>No image samples were saved.</p>"
    return "".join(parts)


def _svg_plot(series: Iterable[tuple[str, list[float], list[float]]], *, title: str, xlabel: str, ylabel: str,
              lines: bool, width: int = 520, height: int = 340, logx: bool = False) -> str:
    """A scatter or line plot as inline SVG (no plotting library needed)."""
    series = [(n, xs, ys) for n, xs, ys in series if xs]
    pts = [(x, y) for _, xs, ys in series for x, y in zip(xs, ys) if _finite(x) and _finite(y)]
    if not pts:
        return ""
    tx = (lambda v: math.log10(max(v, 1e-6))) if logx else (lambda v: v)
    x0, x1 = min(tx(p[0]) for p in pts), max(tx(p[0]) for p in pts)
    y0, y1 = min(p[1] for p in pts), max(p[1] for p in pts)
    if x1 == x0:
        x0, x1 = x0 - 1, x1 + 1
    if y1 == y0:
        y0, y1 = y0 - 1, y1 + 1
    ml, mr, mt, mb = 60, 150, 30, 45
    pw, ph = width - ml - mr, height - mt - mb

    def sx(v: float) -> float:
        return ml + (tx(v) - x0) / (x1 - x0) * pw

    def sy(v: float) -> float:
        return mt + ph - (v - y0) / (y1 - y0) * ph

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">',
           f'<text x="{width / 2 - mr / 2}" y="18" text-anchor="middle" font-size="14">{html.escape(title)}</text>',
           f'<line x1="{ml}" y1="{mt + ph}" x2="{ml + pw}" y2="{mt + ph}" stroke="#333"/>',
           f'<line x1="{ml}" y1="{mt}" x2="{ml}" y2="{mt + ph}" stroke="#333"/>',
           f'<text x="{ml + pw / 2}" y="{height - 8}" text-anchor="middle" font-size="12">{html.escape(xlabel)}</text>',
           f'<text x="14" y="{mt + ph / 2}" text-anchor="middle" font-size="12" '
           f'transform="rotate(-90 14 {mt + ph / 2})">{html.escape(ylabel)}</text>']
    for i in range(5):  # ticks
        fy = y0 + (y1 - y0) * i / 4
        fx = x0 + (x1 - x0) * i / 4
        xv = 10 ** fx if logx else fx
        out.append(f'<text x="{ml - 6}" y="{sy(fy) + 4}" text-anchor="end" font-size="10">{fy:.3g}</text>')
        out.append(f'<text x="{ml + pw * i / 4}" y="{mt + ph + 15}" text-anchor="middle" font-size="10">{xv:.3g}</text>')
    for k, (name, xs, ys) in enumerate(series):
        c = _color(k)
        good = [(x, y) for x, y in zip(xs, ys) if _finite(x) and _finite(y)]
        if lines and len(good) > 1:
            d = " ".join(f"{'M' if j == 0 else 'L'}{sx(x):.1f},{sy(y):.1f}" for j, (x, y) in enumerate(good))
            out.append(f'<path d="{d}" fill="none" stroke="{c}" stroke-width="1.5"/>')
        if not lines or len(good) <= 12:
            out += [f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="4" fill="{c}"><title>{html.escape(name)}: '
                    f"{x:.4g}, {y:.4g}</title></circle>" for x, y in good]
        out.append(f'<rect x="{ml + pw + 12}" y="{mt + 14 * k}" width="10" height="10" fill="{c}"/>'
                   f'<text x="{ml + pw + 26}" y="{mt + 14 * k + 9}" font-size="11">{html.escape(name)}</text>')
    out.append("</svg>")
    return "".join(out)


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and math.isfinite(v)


def _plots(out: Path, agg: pd.DataFrame, results: Sequence[dict[str, Any]]) -> str:
    parts = []
    if not agg.empty and "psnr_y" in agg.columns:
        ok = agg[agg["psnr_y"].notna()]
        perceptual = next((c for c in ("lpips", "spectral_distance", "hf_ratio") if c in ok.columns
                           and ok[c].notna().any()), None)
        if perceptual:
            series = [(m, list(g[perceptual]), list(g["psnr_y"])) for m, g in ok.groupby("method")]
            parts.append(_svg_plot(series, title="Perception-distortion", xlabel=perceptual, ylabel="PSNR-Y (dB)",
                                   lines=False))
        if agg["hr_fraction"].nunique() > 1:
            for metric in ("psnr_y", "hf_ratio"):
                if metric not in ok.columns or not ok[metric].notna().any():
                    continue
                first_test = ok["test_dataset"].iloc[0]
                sub = ok[ok["test_dataset"] == first_test].sort_values("hr_fraction")
                series = [(m, list(g["hr_fraction"]), list(g[metric])) for m, g in sub.groupby("method")]
                parts.append(_svg_plot(series, title=f"{metric} vs hr_fraction ({first_test})", xlabel="hr_fraction",
                                       ylabel=metric, lines=True))
    curves = []
    for r in sorted(results, key=lambda r: r["trial_id"]):
        if r["spec"]["seed"] != 0:
            continue
        rows = read_loss_log(out / TRIALS_DIR / r["trial_id"] / LOSS_LOG_NAME)
        if not rows:
            continue
        keys = [k for k in rows[-1] if k not in ("step", "seconds")]
        series = [(k, [row["step"] for row in rows if k in row], [row[k] for row in rows if k in row]) for k in keys]
        curves.append(_svg_plot(series, title=r["trial_id"], xlabel="step", ylabel="loss", lines=True,
                                width=440, height=260))
    if curves:
        parts.append("<h2>Training losses (seed 0)</h2>" + "".join(curves))
    return "".join(parts)


def _notes(results: Sequence[dict[str, Any]]) -> str:
    items = [f"<li><code>{html.escape(r['trial_id'])}</code>: {html.escape(n)}</li>"
             for r in results for n in r.get("notes") or []]
    return f"<h2>Notes from methods</h2><ul>{''.join(items)}</ul>" if items else ""


def render_report(out: Path, agg: pd.DataFrame, results: Sequence[dict[str, Any]]) -> str:
    """The whole page as a string."""
    n_ok = sum(r.get("status") == STATUS_OK for r in results)
    return (
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>srbench report</title>"
        f"<style>{_CSS}</style></head><body><h1>srbench report</h1>"
        f"<p class=\"note\">{len(results)} trials ({n_ok} ok) from <code>{html.escape(str(out))}</code>. "
        "Mean over seeds ± 95% confidence half-width; rank by PSNR-Y. "
        f"⚠ marks hf_ratio above {HF_ARTEFACT_THRESHOLD} (more high-frequency energy than the truth) and "
        f"periodic_ratio above {PERIODIC_ARTEFACT_THRESHOLD:g} (detail piled on the upsampling grid's "
        "frequencies): artefacts.</p>"
        f"<h2>Leaderboard</h2>{_tables(agg)}"
        f"{_notes(results)}"
        f"<h2>Plots</h2>{_plots(out, agg, results)}"
        f"<h2>Images</h2><p class=\"note\">Central crops. LR shown enlarged without interpolation. "
        "G(HR): the network applied to the HR image (the SRGAN report's ultra-resolution).</p>"
        f"{_image_grid(out, results)}</body></html>"
    )
