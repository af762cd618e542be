"""``srbench list``: plugins and their components; ``--options NAME`` for a method's or metric's options."""

from __future__ import annotations

import argparse
from typing import Any

from ..errors import UsageError
from ..options import describe_options
from ..plugin_manager import PluginSystem
from ..registry import Registries, Registry

HELP = "list plugins and the components they registered"
_ALIASES = {"method": "methods", "generator": "generators", "discriminator": "discriminators",
            "loss": "adversarial_losses", "losses": "adversarial_losses", "adversarial_loss": "adversarial_losses",
            "adversarial-losses": "adversarial_losses", "degradation": "degradations", "dataset": "datasets",
            "metric": "metrics", "plugin": "plugins"}


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser("list", help=HELP, description=HELP + ".")
    p.add_argument("kind", nargs="?", default=None,
                   help="plugins, or one kind: " + ", ".join(Registries.KINDS) + " [default: everything]")
    p.add_argument("--options", metavar="NAME", default=None,
                   help="show the options of method or metric NAME (or of a component of KIND NAME) with type, "
                        "default, doc; set them with --set NAME.OPTION=VALUE")
    return p


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [fmt.format(*header), fmt.format(*("-" * w for w in widths))]
    lines += [fmt.format(*map(str, r)) for r in rows]
    return "\n".join(line.rstrip() for line in lines)


def _kind(name: str | None) -> str | None:
    if name is None:
        return None
    kind = _ALIASES.get(name, name)
    if kind != "plugins" and kind not in Registries.KINDS:
        raise UsageError(f"unknown kind {name!r}; accepted: plugins, {', '.join(Registries.KINDS)}")
    return kind


def _options_registry(kind: str | None, name: str, registries: Registries) -> Registry:
    """The registry to look ``name`` up in: ``kind``'s, else the first kind that has it (methods first)."""
    if kind not in (None, "plugins"):
        return registries.by_kind(kind)
    for k in ("methods", "metrics", *Registries.KINDS):
        if name in registries.by_kind(k):
            return registries.by_kind(k)
    raise UsageError(f"--options {name}: no method or metric {name!r}; methods: "
                     f"{', '.join(registries.methods.names()) or '(none)'}; metrics: "
                     f"{', '.join(registries.metrics.names()) or '(none)'} (or give a kind: srbench list KIND "
                     f"--options NAME)")


def main(args: argparse.Namespace, system: PluginSystem) -> int:
    kind = _kind(args.kind)
    if args.options:
        registry = _options_registry(kind, args.options, system.registries)
        entry = registry.get(args.options)
        opts_cls = getattr(entry.factory, "Options", None)
        infos = describe_options(opts_cls) if opts_cls is not None else []
        print(f"{entry.name} ({registry.kind}, plugin {entry.plugin} {entry.version}): {entry.doc}")
        if not infos:
            print("(no options)")
        else:
            print(_table([[i.name, i.type, repr(i.default), i.doc] for i in infos], ["option", "type", "default", "doc"]))
        for profile, values in getattr(entry.factory, "profile_defaults", {}).items():  # methods only
            print(f"profile {profile}: " + ", ".join(f"{k}={v!r}" for k, v in values.items()))
        return 0
    if kind in (None, "plugins"):
        rows = [[p.name, p.distribution or "-", p.version or "-", p.status,
                 p.error or ", ".join(sorted({k for k, _ in p.components}))] for p in system.plugins]
        print(_table(rows, ["plugin", "package", "version", "status", "components / error"]))
        if kind == "plugins":
            return 0
        print()
    if kind == "datasets":
        return _list_datasets(system)
    kinds = Registries.KINDS if kind is None else (kind,)
    rows = []
    for k in kinds:
        for e in system.registries.by_kind(k).entries():
            rows.append([k, e.name, e.plugin, e.version or "-", e.doc])
    print(_table(rows, ["kind", "name", "plugin", "version", "description"]) if rows else "(nothing registered)")
    return 0


def _list_datasets(system: PluginSystem) -> int:
    """Datasets, with whether each named one is complete under the data root (files checked)."""
    from ..data.catalog import check_entry
    from ..data.root import data_roots, describe_roots

    roots = data_roots()
    rows = []
    for e in system.registries.datasets.entries():
        catalog = getattr(e.factory, "catalog", None)
        status = check_entry(catalog, roots).line() if catalog is not None else "-"
        rows.append([e.name, e.plugin, e.doc, status])
    print(f"data root: {describe_roots(roots)}")
    print(_table(rows, ["name", "plugin", "description", "status"]) if rows else "(nothing registered)")
    return 0
