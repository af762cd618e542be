"""The published rows under a leaderboard table (Markdown and HTML), and srbench-vs-published deltas."""

from __future__ import annotations

import html
import math
from typing import Any

from .table import (
    PublishedRow,
    canonical_test_set,
    published_rows,
    published_training_set,
)

#: Only results of the bicubic protocol are comparable with the published table.
PROTOCOL_DEGRADATION = "bicubic"
_HEADER = ["model", "trained on", "psnr_y", "ssim_y", "paper"]


def _cell(value: float, digits: int) -> str:
    return "–" if math.isnan(value) else f"{value:.{digits}f}"


def _cells(r: PublishedRow) -> list[str]:
    return [r.model, r.training_set, _cell(r.psnr_y, 2), _cell(r.ssim_y, 4), r.paper]


def _published(group: Any, test_dataset: str, scale: int, degradation: str) -> tuple[str, list[PublishedRow], list[str]]:
    """``(title, published rows, comparison sentences)``; no rows when nothing is comparable."""
    name = canonical_test_set(test_dataset)
    if name is None or degradation != PROTOCOL_DEGRADATION:
        return "", [], []
    rows = published_rows(name, scale)
    title = (f"Published, not run here ({name} x{scale}, bicubic protocol, whole images: comparable with profiles "
             "quick, standard and full, not smoke's crops; sources in srbench/published/published_sr.csv)")
    deltas = []
    for _, r in group.iterrows():
        trained_on = str(r.get("dataset") or "")
        same = [p for p in rows if p.training_set == published_training_set(trained_on) and not math.isnan(p.psnr_y)]
        psnr = r.get("psnr_y", math.nan)
        if not same or psnr is None or math.isnan(float(psnr)) or not r.get("params"):
            continue  # nothing scored, or nothing learned (0 parameters: not trained on the set)
        diffs = ", ".join(f"{p.model} {float(psnr) - p.psnr_y:+.2f} dB" for p in same)
        deltas.append(f"{r['method']} (trained here on {trained_on}, PSNR-Y {float(psnr):.2f}) vs published models "
                      f"trained on {same[0].training_set}: {diffs}.")
    return title, rows, deltas


def published_lines(group: Any, test_dataset: str, scale: int, degradation: str) -> list[str]:
    """Markdown lines to append under the leaderboard table of ``(test_dataset, scale, degradation)``.

    :param group: that table's aggregated rows (a DataFrame with ``method``, ``psnr_y``,
        ``params`` and, when known, ``dataset``: the training dataset).
    :returns: ``[]`` when the test set or the degradation has no published counterpart; else a
        "published, not run here" table and, for every srbench row with learned parameters trained
        on a set that papers also trained on (``sr291`` = 291), its PSNR-Y minus each such
        published row's, in dB.
    """
    title, rows, deltas = _published(group, test_dataset, scale, degradation)
    if not rows:
        return []
    lines = [title + ":", "", "| " + " | ".join(_HEADER) + " |", "|" + "---|" * len(_HEADER)]
    lines += ["| " + " | ".join(_cells(r)) + " |" for r in rows]
    return lines + [""] + [*deltas, ""] if deltas else lines + [""]


def published_html(group: Any, test_dataset: str, scale: int, degradation: str) -> str:
    """The same as :func:`published_lines`, as HTML (``""`` when nothing is comparable)."""
    title, rows, deltas = _published(group, test_dataset, scale, degradation)
    if not rows:
        return ""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in _HEADER)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in _cells(r)) + "</tr>" for r in rows)
    notes = "".join(f'<p class="note">{html.escape(d)}</p>' for d in deltas)
    return f'<p class="note">{html.escape(title)}:</p><table><tr>{head}</tr>{body}</table>{notes}'
