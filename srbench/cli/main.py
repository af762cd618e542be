"""``srbench`` command line: run, list, report, merge, eval, export, upscale, download.

Every user error (:class:`~srbench.errors.SrbenchError`, bad flags) is one line on stderr and
exit status 2; Ctrl-C during ``run`` saves, says how to resume, and exits 130.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, NoReturn, Sequence

from ..errors import SrbenchError
from ..plugin_manager import load_plugins, set_plugin_system


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage dump) and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _add_plugin_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("plugins")
    g.add_argument("--disable-plugin", metavar="NAME", action="append", default=[],
                   help="do not load the plugin NAME (as listed by 'srbench list plugins'); repeatable")
    g.add_argument("--no-autoload", action="store_true",
                   help="load no plugins from entry points (like SRBENCH_DISABLE_PLUGIN_AUTOLOAD=1); "
                        "combine with --plugin to choose exactly what loads")
    g.add_argument("--plugin", metavar="MODULE", action="append", default=[],
                   help="also load the importable MODULE as a plugin (like SRBENCH_PLUGINS); repeatable")


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__
    from . import download_cmd, eval_cmd, export_cmd, list_cmd, merge_cmd, report_cmd, run_cmd, upscale_cmd

    parser = _Parser(prog="srbench", description="Benchmark GAN super-resolution with few or no HR training images.")
    parser.add_argument("--version", action="version", version=f"srbench {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for module in (run_cmd, list_cmd, report_cmd, merge_cmd, eval_cmd, export_cmd, upscale_cmd, download_cmd):
        p = module.add_parser(sub)
        _add_plugin_options(p)
        p.set_defaults(handler=module.main)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``srbench`` script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        system = load_plugins(disable=args.disable_plugin, autoload=False if args.no_autoload else None,
                              modules=args.plugin)
        set_plugin_system(system)
        return int(args.handler(args, system) or 0)
    except SrbenchError as exc:
        print(f"srbench {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nsrbench: interrupted", file=sys.stderr)
        return 130


@contextmanager
def one_line_warnings() -> Iterator[None]:
    """Show each Python warning as one line on stderr, above any progress bar: a plugin's
    ``warnings.warn`` reads ``srbench: warning: ...``, not a file path followed by a line of its source. Other
    categories than ``UserWarning`` keep their name and origin. (Method notes do not come this way: the trainer
    says them through its own log.)"""
    def show(message: Warning | str, category: type[Warning], filename: str, lineno: int,
             file: object = None, line: str | None = None) -> None:
        from tqdm.auto import tqdm  # only once a warning comes: `srbench list` does not pay for the import

        where = "" if category is UserWarning else f" ({category.__name__}, {Path(filename).name}:{lineno})"
        tqdm.write(f"srbench: warning: {message}{where}", file=sys.stderr)

    previous = warnings.showwarning
    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = previous


def console_main() -> None:
    """The installed script: :func:`main`, quiet when the reader of stdout goes away (``srbench list | head``),
    its warnings one line each."""
    try:
        with one_line_warnings():
            code = main()
        sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
    except BrokenPipeError:
        # Python's advice (library docs, "Note on SIGPIPE"): point stdout at devnull so the final
        # flush at exit raises nothing either; 1 as there, not a traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 1
    sys.exit(code)


if __name__ == "__main__":  # python -m srbench.cli.main
    console_main()
