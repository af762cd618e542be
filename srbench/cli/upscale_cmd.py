"""``srbench upscale``: super-resolve image files or folders with an exported generator."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..plugin_manager import PluginSystem

HELP = "upscale an image file or a folder of images with a generator written by 'srbench export'"


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser("upscale", help=HELP, description=HELP + ". A folder's outputs are PNG (lossless); an OUT file "
                       "takes the format of its extension.")
    p.add_argument("--model", metavar="EXPORTED", required=True,
                   help="an export folder, or its generator.json or generator.safetensors")
    p.add_argument("input", metavar="IN", help="an image file or a folder (searched recursively)")
    p.add_argument("output", metavar="OUT", help="an output file, or a folder (created; keeps IN's relative paths)")
    p.add_argument("--device", metavar="DEV", default="auto", help="auto, cpu, cuda or cuda:N [default: auto]")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def main(args: argparse.Namespace, system: PluginSystem) -> int:
    from ..export import load_generator
    from ..upscale import upscale_paths

    device = system.hook.srbench_resolve_device(requested=args.device)
    model = load_generator(args.model, device=device if device is not None else args.device, plugins=system)
    written = upscale_paths(model, args.input, args.output, progress=not args.no_progress)
    print(f"srbench upscale: {len(written)} image(s) at x{model.scale} -> {args.output}", file=sys.stderr)
    return 0
