"""``srbench merge SRC... --into OUT``: the finished trials of several run folders in one."""

from __future__ import annotations

import argparse
from typing import Any

from ..plugin_manager import PluginSystem

HELP = "copy the finished trials of run folders (one per machine or seed lane) into one run folder"


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser("merge", help=HELP, description=HELP + (
        ". A record is copied under its trial id with its trial folder; one the target already holds is never "
        "replaced (a 'failed' one excepted). Then 'srbench report OUT' writes the board of all of them."))
    p.add_argument("sources", nargs="+", metavar="SRC", help="the --out folder of a 'srbench run'")
    p.add_argument("--into", required=True, metavar="OUT",
                   help="the run folder to merge into (made when missing); a 'srbench run' over it then reuses them")
    p.add_argument("--records-only", action="store_true",
                   help="copy result.json alone, without checkpoints and loss logs (a board to commit); such "
                        "trials cannot be re-scored for metrics they lack")
    return p


def main(args: argparse.Namespace, system: PluginSystem) -> int:
    from ..runner.merge import merge_runs

    summary = merge_runs(args.sources, args.into, records_only=args.records_only)
    print(summary.line())
    for trial_id in summary.kept:
        print(f"srbench: kept {trial_id} as {args.into} had it: a source holds a different record of it")
    for trial_id in summary.blocked:
        print(f"srbench: not copied {trial_id}: {args.into} holds an unfinished training of it (its checkpoint); "
              "merge without --records-only, or delete that trial folder")
    if summary.added:
        print(f"srbench: write its board with: srbench report {args.into}")
    return 0
