"""``srbench download``: fetch a standard SR dataset (needs internet) into a folder usable as folder:PATH."""

from __future__ import annotations

import argparse
from typing import Any

from ..plugin_manager import PluginSystem

HELP = "download a standard dataset (DIV2K, Set5, Set14, BSD100, Urban100) and verify its checksum"


def add_parser(sub: Any) -> argparse.ArgumentParser:
    from ..data.download import SOURCES

    p = sub.add_parser("download", help=HELP, description=HELP + ". Prints the folder to pass as --dataset folder:PATH.")
    p.add_argument("name", metavar="NAME", help="one of: " + ", ".join(sorted(SOURCES)))
    p.add_argument("root", metavar="ROOT", nargs="?", default="datasets", help="where to put it [default: datasets]")
    p.add_argument("--url", default=None, help="download from this URL instead (a mirror, or file:// for a local copy)")
    p.add_argument("--sha256", default=None, help="expected SHA-256 of the archive; a mismatch is an error")
    return p


def main(args: argparse.Namespace, system: PluginSystem) -> int:
    from ..data.download import download_dataset

    path = download_dataset(args.name, args.root, url=args.url, sha256=args.sha256)
    print(f"folder:{path}")
    return 0
