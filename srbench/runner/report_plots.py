"""The report's plots as inline SVG: the perception-distortion plane (first figure), metrics
against hr_fraction, training losses. No plotting library needed.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..result_record import TrialResult
from ..results import TRIALS_DIR
from ..training.trainer import LOSS_LOG_NAME, read_loss_log
from .board_rows import GROUP_KEYS
from .board_settings import DEFAULT_RANK_BY, BoardSettings
from .numfmt import fmt_number

_PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
            "#17becf"]


@dataclass
class Series:
    """One named set of points; ``xerr``/``yerr``: half-widths drawn as error bars; ``marked``: ringed."""

    name: str
    xs: list[float]
    ys: list[float]
    xerr: list[float] | None = None
    yerr: list[float] | None = None
    marked: bool = False


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and math.isfinite(v)


def _err(errs: list[float] | None, j: int) -> float:
    e = errs[j] if errs is not None and j < len(errs) else float("nan")
    return float(e) if _finite(e) else 0.0


def _tick_digits(lo: float, hi: float) -> int:
    """Significant digits that tell apart ticks a quarter of ``hi - lo`` apart (28.38 and 28.41, not 28.4 twice)."""
    top = max(abs(lo), abs(hi))
    if not top or hi <= lo:
        return 3
    return max(3, math.ceil(math.log10(top / ((hi - lo) / 4))) + 1)


def _legend_width(series: Sequence[Series]) -> int:
    # the legend's column is as wide as its longest name (6 px a character at font-size 11)
    longest = max(len(s.name) + (12 if s.marked else 0) for s in series if s.xs)
    return max(170, 32 + 6 * longest)


def plot_size(series: Sequence[Series], width: int, height: int) -> tuple[int, int]:
    """The ``(width, height)`` :func:`svg_plot` draws ``series`` at when asked for ``width`` x ``height``:
    wider when the legend needs it (60 px of axis margin and at least 240 of plot area beside it)."""
    return max(width, 60 + _legend_width(series) + 240), height


def svg_plot(series: Sequence[Series], *, title: str, xlabel: str, ylabel: str, lines: bool, width: int = 520,
             height: int = 340, x_ticks: Sequence[float] | None = None, log_x: bool = False) -> str:
    """A scatter (with error bars where given) or line plot as inline SVG; ``""`` without finite points.

    ``x_ticks``: label the x axis at these values instead of at quarters of its range. ``log_x``: a
    logarithmic x axis (points with x <= 0 are left out; x error bars are not drawn).
    """
    series = [s for s in series if s.xs]

    def shown(x: Any, y: Any) -> bool:
        return _finite(x) and _finite(y) and (not log_x or x > 0)

    pts = [(x, y, 0.0 if log_x else _err(s.xerr, j), _err(s.yerr, j)) for s in series
           for j, (x, y) in enumerate(zip(s.xs, s.ys)) if shown(x, y)]
    if not pts:
        return ""

    def tx(v: float) -> float:  # data x -> axis position
        return math.log10(v) if log_x else v

    x0, x1 = min(tx(p[0] - p[2]) for p in pts), max(tx(p[0] + p[2]) for p in pts)
    y0, y1 = min(p[1] - p[3] for p in pts), max(p[1] + p[3] for p in pts)
    pad_x, pad_y = (x1 - x0) * 0.05 or 1.0, (y1 - y0) * 0.05 or 1.0
    x0, x1, y0, y1 = x0 - pad_x, x1 + pad_x, y0 - pad_y, y1 + pad_y
    ml, mr, mt, mb = 60, _legend_width(series), 30, 45
    width, height = plot_size(series, width, height)
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
           (f'<text x="14" y="{mt + ph / 2}" text-anchor="middle" font-size="12" '
           f'transform="rotate(-90 14 {mt + ph / 2})">{html.escape(ylabel)}</text>')]
    dx, dy = _tick_digits(x0, x1), _tick_digits(y0, y1)
    for i in range(5):  # ticks
        fy = y0 + (y1 - y0) * i / 4
        out.append(f'<text x="{ml - 6}" y="{sy(fy) + 4}" text-anchor="end" font-size="10">{fmt_number(fy, dy)}</text>')
    if x_ticks is not None:
        ticks = [(sx(v), fmt_number(v)) for v in sorted(set(x_ticks)) if shown(v, 0.0)]
    else:
        ticks = [(ml + pw * i / 4, fmt_number(10 ** (x0 + (x1 - x0) * i / 4) if log_x else x0 + (x1 - x0) * i / 4, dx))
                 for i in range(5)]
    for x, text in ticks:
        out.append(f'<text x="{x:.1f}" y="{mt + ph + 15}" text-anchor="middle" font-size="10">{text}</text>')
    for k, s in enumerate(series):
        c = _PALETTE[k % len(_PALETTE)]
        good = [(x, y, 0.0 if log_x else _err(s.xerr, j), _err(s.yerr, j)) for j, (x, y) in enumerate(zip(s.xs, s.ys))
                if shown(x, y)]
        if lines and len(good) > 1:
            d = " ".join(f"{'M' if j == 0 else 'L'}{sx(x):.1f},{sy(y):.1f}" for j, (x, y, _, _) in enumerate(good))
            out.append(f'<path d="{d}" fill="none" stroke="{c}" stroke-width="1.5"/>')
        if lines and len(good) > 12:
            good = []
        for x, y, ex, ey in good:
            if ex:
                out.append(f'<line x1="{sx(x - ex):.1f}" y1="{sy(y):.1f}" x2="{sx(x + ex):.1f}" y2="{sy(y):.1f}" '
                           f'stroke="{c}" stroke-width="1.2"/>')
            if ey:
                out.append(f'<line x1="{sx(x):.1f}" y1="{sy(y - ey):.1f}" x2="{sx(x):.1f}" y2="{sy(y + ey):.1f}" '
                           f'stroke="{c}" stroke-width="1.2"/>')
            if s.marked:
                out.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="8" fill="none" stroke="#000" '
                           'stroke-width="1.5"/>')
            tip = f"{s.name}: {fmt_number(x)} ± {fmt_number(ex, 2)}, {fmt_number(y)} ± {fmt_number(ey, 2)}"
            out.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="4" fill="{c}"><title>{html.escape(tip)}'
                       "</title></circle>")
        name, bold = (s.name + " (reference)", ' font-weight="bold"') if s.marked else (s.name, "")
        out.append(f'<rect x="{ml + pw + 12}" y="{mt + 14 * k}" width="10" height="10" fill="{c}"/>'
                   f'<text x="{ml + pw + 26}" y="{mt + 14 * k + 9}" font-size="11"{bold}>{html.escape(name)}</text>')
    out.append("</svg>")
    return "".join(out)


def realism_axis(agg: pd.DataFrame, settings: BoardSettings) -> str | None:
    """``settings.realism``, else the first registered realism metric with values; ``None`` if none has."""
    if settings.realism:
        return settings.realism
    return next((m for m, info in settings.metrics.items()
                 if info.realism and m in agg.columns and agg[m].notna().any()), None)


def distortion_axis(settings: BoardSettings) -> str:
    """The rank metric, unless it is a realism metric: then the default rank metric."""
    return DEFAULT_RANK_BY if settings.metric(settings.rank_by).realism else settings.rank_by


#: Characters of an unavailable metric's reason quoted in the plane's place (result.json has it whole).
_REASON_CHARS = 160


def _unavailable(results: Sequence[TrialResult], metric: str) -> str:
    for r in results:
        for test in r.metrics.values():
            reason = str(test.unavailable.get(metric) or "")
            if reason:
                return reason if len(reason) <= _REASON_CHARS else reason[:_REASON_CHARS - 1] + "…"
    return "no values in these results"


def perception_distortion(agg: pd.DataFrame, results: Sequence[TrialResult], settings: BoardSettings) -> str:
    """One plane per table: the distortion metric against the realism one, a point per row with
    both 95% intervals as error bars, the reference row ringed; or a note saying why there is none."""
    realism = realism_axis(agg, settings)
    distortion = distortion_axis(settings)
    if realism is None or realism not in agg.columns or not agg[realism].notna().any():
        kinds = [m for m, info in settings.metrics.items() if info.realism]
        why = "; ".join(f"{m}: {_unavailable(results, m)}" for m in ([realism] if realism else kinds))
        return (f'<p class="note">No perception-distortion plane: no realism metric has values here'
                f"{' (' + html.escape(why) + ')' if why else ' (no registered metric is marked realism)'}.</p>")
    if distortion not in agg.columns or not agg[distortion].notna().any():
        return f'<p class="note">No perception-distortion plane: {html.escape(distortion)} has no values here.</p>'
    rx, ry = settings.metric(realism), settings.metric(distortion)
    parts = []
    for keys, g in agg.groupby(GROUP_KEYS, sort=True, dropna=False):
        ref = next((x for x in g.get("reference", []) if x), "")
        series = [Series(r["method"], [r[realism]], [r[distortion]], [r.get(f"{realism}_ci95")],
                         [r.get(f"{distortion}_ci95")], marked=r["method"] == ref) for _, r in g.iterrows()]
        test, scale, deg, frac = keys
        parts.append(svg_plot(series, title=f"Perception-distortion: {test}, x{scale}, {deg}, f={frac:g}",
                              xlabel=f"{realism} ({rx.direction_text})", ylabel=f"{distortion} ({ry.direction_text})",
                              lines=False, width=620, height=380))
    return "".join(parts)


@dataclass(frozen=True)
class Panel:
    """One plot of a figure: its SVG and the size it was drawn at."""

    svg: str
    width: int
    height: int


def fraction_panels(agg: pd.DataFrame, settings: BoardSettings, variants: Mapping[str, str]) -> list[Panel]:
    """The sweep's plots: one per test set and metric (the rank metric, then the realism axis), mean over
    seeds against hr_fraction, a line per row label, 95% intervals as bars; log x when no fraction is 0.
    Empty when fewer than two fractions ran."""
    if agg.empty or agg["hr_fraction"].nunique() < 2:
        return []
    fractions = sorted(float(f) for f in agg["hr_fraction"].dropna().unique())
    log_x = fractions[0] > 0 and fractions[-1] / fractions[0] >= 10  # 0.01, 0.05 and 1 apart, not squeezed
    panels = []
    for test in sorted(agg["test_dataset"].dropna().unique()):
        rows = agg[agg["test_dataset"] == test].sort_values("hr_fraction")
        for metric in dict.fromkeys([settings.rank_by, realism_axis(agg, settings)]):
            if metric is None or metric not in rows.columns or not rows[metric].notna().any():
                continue
            ok = rows[rows[metric].notna()]
            ci = f"{metric}_ci95"
            series = [Series(_series_name(label, variants), list(g["hr_fraction"]), list(g[metric]),
                             yerr=list(g[ci]) if ci in g.columns else None)
                      for label, g in ok.groupby("method", sort=True)]
            direction = settings.metric(metric).direction_text
            svg = svg_plot(series, title=f"{metric} vs hr_fraction ({test})", xlabel="hr_fraction"
                           + (" (log scale)" if log_x else ""), ylabel=f"{metric} ({direction})",
                           lines=True, x_ticks=fractions, log_x=log_x, width=_PANEL_WIDTH, height=_PANEL_HEIGHT)
            if svg:
                panels.append(Panel(svg, *plot_size(series, _PANEL_WIDTH, _PANEL_HEIGHT)))
    return panels


_PANEL_WIDTH, _PANEL_HEIGHT = 660, 340


def _series_name(label: str, variants: Mapping[str, str]) -> str:
    """``fewhr (term=none)`` for the row label ``fewhr[f80ab4]``: the legend says what the variant is."""
    variant = variants.get(label, "")
    return f"{label.split('[', 1)[0]} ({variant})" if variant else label


def fraction_figure(panels: Sequence[Panel], per_row: int = 2) -> str:
    """The sweep's plot (:func:`fraction_panels`) as one standalone SVG document, ``per_row`` panels a row
    (a test set's rank metric and realism axis side by side); ``""`` without panels."""
    if not panels:
        return ""
    col_w = [max(p.width for p in panels[c::per_row]) for c in range(min(per_row, len(panels)))]
    body, y = [], 0
    for start in range(0, len(panels), per_row):
        x = 0
        for c, panel in enumerate(panels[start:start + per_row]):
            body.append(f'<g transform="translate({x},{y})">{panel.svg}</g>')
            x += col_w[c]
        y += max(p.height for p in panels[start:start + per_row])
    width = sum(col_w)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{y}" font-family="sans-serif">'
            f'<rect width="{width}" height="{y}" fill="#fff"/>{"".join(body)}</svg>\n')


def loss_curves(out: Path, results: Sequence[TrialResult]) -> str:
    """Training losses of every seed-0 trial that logged any."""
    curves = []
    for r in sorted(results, key=lambda r: r.trial_id):
        if r.spec["seed"] != 0:
            continue
        rows = read_loss_log(out / TRIALS_DIR / r.trial_id / LOSS_LOG_NAME)
        if not rows:
            continue
        keys = [k for k in rows[-1] if k not in ("step", "seconds")]
        series = [Series(k, [row["step"] for row in rows if k in row], [row[k] for row in rows if k in row])
                  for k in keys]
        curves.append(svg_plot(series, title=r.trial_id, xlabel="step", ylabel="loss", lines=True, width=440,
                               height=260))
    return "<h2>Training losses (seed 0)</h2>" + "".join(curves) if curves else ""
