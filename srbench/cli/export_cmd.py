"""``srbench export``: a trained trial's generator as safetensors + JSON, usable without srbench's runner."""

from __future__ import annotations

import argparse
from typing import Any

from ..plugin_manager import PluginSystem

HELP = "export a trained trial's generator (safetensors weights + JSON spec) for 'srbench upscale'"


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser("export", help=HELP, description=HELP + ".")
    p.add_argument("trial", metavar="TRIAL", help="a trial folder (OUT/trials/<id>) or a trial id (or its prefix)")
    p.add_argument("--out", metavar="DIR", default="srbench-out",
                   help="the run folder a trial id is looked up in [default: srbench-out]")
    p.add_argument("--to", metavar="DIR", default=None, help="where to write the export [default: TRIAL/export]")
    return p


def main(args: argparse.Namespace, system: PluginSystem) -> int:
    from ..export import SPEC_FILE, WEIGHTS_FILE, export_trial

    dest = export_trial(args.trial, args.to, out=args.out, plugins=system)
    print(f"{dest / WEIGHTS_FILE}\n{dest / SPEC_FILE}")
    return 0
