"""``srbench report OUT``: rewrite the leaderboard from the results in a run folder."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..config import RunConfig
from ..errors import UsageError
from ..plugin_manager import PluginSystem
from ..results import TRIALS_DIR
from .run_cmd import add_board_arguments

HELP = "rewrite leaderboard.csv, leaderboard.md and report.html from the results of a run folder"


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser("report", help=HELP, description=HELP + ".")
    p.add_argument("out", metavar="OUT", help="the --out folder of an earlier 'srbench run'")
    add_board_arguments(p, RunConfig())
    return p


def main(args: argparse.Namespace, system: PluginSystem) -> int:
    from ..api import report
    from ..runner.board_files import FRACTION_FIGURE

    out = Path(args.out)
    if not (out / TRIALS_DIR).is_dir():
        raise UsageError(f"{args.out}: no '{TRIALS_DIR}' folder here; expected the --out folder of 'srbench run'")
    csv_path, md_path, html_path = report(out, rank_by=args.rank_by, reference=args.reference, realism=args.realism,
                                          plugins=system)
    print(md_path.read_text())
    figure = out / FRACTION_FIGURE
    print(f"wrote {csv_path}, {md_path} and {html_path}" + (f"; the hr_fraction plot: {figure}" if figure.is_file()
                                                            else ""))
    return 0
