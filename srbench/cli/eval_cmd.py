"""``srbench eval``: score a training-free method or a trained checkpoint on a dataset."""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

from ..config import ACCEPTED_SCALES
from ..errors import UsageError
from ..plugin_manager import PluginSystem

HELP = "score a training-free method or a saved checkpoint on a dataset"


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser("eval", help=HELP, description=HELP + ".")
    p.add_argument("--method", metavar="NAME", default=None, help="method name (e.g. bicubic)")
    p.add_argument("--dataset", metavar="NAME", default=None,
                   help="dataset: NAME or folder:PATH [default: the checkpoint's training set, else default]")
    p.add_argument("--scale", metavar="S", default=None, help="SR factor: 2, 3 or 4 [default: the checkpoint's, else 4]")
    p.add_argument("--checkpoint", metavar="PATH", default=None,
                   help="a trial folder (OUT/trials/<id>) or its checkpoint.pt")
    p.add_argument("--degradation", metavar="NAME", default=None,
                   help="HR-to-LR operator [default: the checkpoint's (no other is accepted with one), else bicubic]")
    p.add_argument("--split", default="auto", choices=["auto", "test", "val", "all"],
                   help="images to score: auto = the test split of the checkpoint's training set, else all; "
                        "val = the validation split")
    p.add_argument("--metrics", metavar="LIST", default=None, help="comma list [default: every registered metric]")
    p.add_argument("--device", metavar="DEV", default="auto", help="auto, cpu, cuda or cuda:N")
    p.add_argument("--max-side", metavar="PX", type=int, default=None,
                   help="centre-crop images to this side, 0: whole [default: the checkpoint's profile eval_max_side, "
                        "so the numbers match its result.json; else 0]")
    p.add_argument("--format", choices=["table", "json"], default="table", help="output format [default: table]")
    return p


def main(args: argparse.Namespace, system: PluginSystem) -> int:
    from ..api import evaluate_method

    try:
        scale = None if args.scale is None else int(args.scale)
    except ValueError:
        scale = -1
    if scale is not None and scale not in ACCEPTED_SCALES:
        raise UsageError(f"--scale {args.scale}: accepted values are {', '.join(map(str, ACCEPTED_SCALES))}")
    metrics = [m.strip() for m in args.metrics.split(",") if m.strip()] if args.metrics else None
    res = evaluate_method(args.method, args.dataset, scale, checkpoint=args.checkpoint, degradation=args.degradation,
                          split=args.split, device=args.device, metrics=metrics, max_side=args.max_side,
                          plugins=system)
    if args.format == "json":
        print(json.dumps(res, default=lambda v: None if isinstance(v, float) and math.isnan(v) else v))
        return 0
    print(f"{res['method']} on {res['dataset']} ({res['split']}, {len(res['per_image'])} images), x{res['scale']}, "
          f"{res['degradation']}, max side {res['max_side'] or 'whole'}")
    skip = {"method", "dataset", "scale", "split", "per_image", "unavailable", "degradation", "max_side"}
    for k, v in res.items():
        if k not in skip:
            print(f"  {k:<20} {v:.4f}" if isinstance(v, float) else f"  {k:<20} unavailable: {res['unavailable'].get(k, '')}")
    return 0
