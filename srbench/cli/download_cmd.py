"""``srbench download``: fetch a named dataset into the data root, or any archive into a folder."""

from __future__ import annotations

import argparse
from typing import Any

from ..errors import UsageError
from ..plugin_manager import PluginSystem

HELP = "download a named dataset (sr291, div2k, set5, ...; see 'srbench list datasets') and verify its SHA-256"


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser("download", help=HELP, description=HELP + ". Files go to ROOT (default: the first folder "
                       "of $SRBENCH_DATA, else a per-user cache folder); run with SRBENCH_DATA=ROOT to use them.")
    p.add_argument("name", metavar="NAME", help="a named dataset (case-insensitive), or any folder name with --url")
    p.add_argument("root", metavar="ROOT", nargs="?", default=None,
                   help="data root to put it in [default: $SRBENCH_DATA's first folder, else the user cache]")
    p.add_argument("--url", default=None, help="download this archive into ROOT/NAME instead (usable as "
                                               "folder:ROOT/NAME; file:// works for a local copy)")
    p.add_argument("--sha256", default=None, help="expected SHA-256 of an archive that has no published checksum")
    p.add_argument("--unverified", action="store_true",
                   help="accept an archive that has no published checksum without one (its SHA-256 is printed)")
    return p


def main(args: argparse.Namespace, system: PluginSystem) -> int:
    from ..data.download import download_dataset, download_entry
    from ..data.root import data_roots

    root = args.root or data_roots()[0]
    if args.url is not None:
        path = download_dataset(args.name, root, url=args.url, sha256=args.sha256, unverified=args.unverified)
        print(f"folder:{path}")
        return 0
    catalog = {e.name.lower(): e for e in system.registries.datasets.entries()
               if getattr(e.factory, "catalog", None) is not None}
    entry = catalog.get(args.name.lower())
    if entry is None:
        raise UsageError(f"unknown dataset {args.name!r} to download; accepted: {', '.join(sorted(catalog))} "
                         "(or pass --url ARCHIVE for another one)")
    path = download_entry(entry.factory.catalog, root, sha256=args.sha256, unverified=args.unverified)
    in_roots = any(path.resolve() == r.expanduser().resolve() for r in data_roots())
    hint = "" if in_roots else f" (run with SRBENCH_DATA={path})"
    print(f"{entry.name}: complete in {path}; use --dataset {entry.name}{hint}")
    return 0
