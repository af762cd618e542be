"""Write a results folder's leaderboard files: ``leaderboard.csv``, ``leaderboard.md``, ``report.html`` and,
when several hr_fractions ran, the sweep's plot ``hr_fraction.svg``.

Its own module: the tables (:mod:`.leaderboard`) and the page (:mod:`.report_html`, which uses
the tables' cells) are both built here, so neither imports the other's writer.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..plugin_manager import get_plugin_system
from ..result_record import read_records
from .board_rows import method_variants
from .board_settings import BoardSettings
from .leaderboard import _NAME, build_leaderboard, metric_columns, to_markdown
from .report_html import render_report
from .report_plots import fraction_figure, fraction_panels

if TYPE_CHECKING:
    from ..registry import Registries

#: the sweep's plot: the rank metric and the realism axis against hr_fraction, per test set
FRACTION_FIGURE = "hr_fraction.svg"


def write_leaderboard(out: Path, registries: Registries | None = None, *, rank_by: str | None = None,
                      reference: str | None = None, realism: str | None = None) -> tuple[Path, Path, Path]:
    """(Re)write ``leaderboard.csv``, ``leaderboard.md`` and ``report.html`` in ``out`` from its results,
    and ``hr_fraction.svg`` (:data:`FRACTION_FIGURE`) when they hold several hr_fractions (removed when not).

    :param registries: where metric and method metadata come from (default: the process's plugins).
    :raises UsageError: ``rank_by``, ``realism`` or ``reference`` not in these results (nothing is written).
    """
    out = Path(out)
    results = read_records(out)
    settings = BoardSettings.from_registries(registries or get_plugin_system().registries, rank_by=rank_by,
                                             reference=reference, realism=realism)
    agg = build_leaderboard(results, settings)
    if results and metric_columns(agg):  # a folder of failed trials only has no metric to check against
        labels = set(agg["method"]) | set(agg[_NAME])
        settings.check_choices(metric_columns(agg), labels, "in these results")
    variants = method_variants(results)
    csv_path, md_path, html_path = out / "leaderboard.csv", out / "leaderboard.md", out / "report.html"
    agg.drop(columns=[_NAME]).assign(variant=[variants.get(m, "") for m in agg["method"]]).to_csv(
        csv_path, index=False)
    md_path.write_text(to_markdown(agg, variants, settings=settings))
    panels = fraction_panels(agg, settings, variants)
    tmp = html_path.with_name(html_path.name + ".tmp")
    tmp.write_text(render_report(out, agg, results, settings, variants, panels))
    tmp.replace(html_path)
    figure, figure_path = fraction_figure(panels), out / FRACTION_FIGURE
    if figure:
        figure_path.write_text(figure)
    else:
        figure_path.unlink(missing_ok=True)  # a figure of an earlier, larger set of results would mislead
    return csv_path, md_path, html_path
