"""``srbench run``: train and score methods, write the leaderboard."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from ..config import RunConfig, apply_set_overrides, load_config_file, update_config
from ..plugin_manager import PluginSystem
from ..results import STATUS_FAILED

HELP = "train and score methods on a dataset, then write the leaderboard"


def add_board_arguments(p: argparse.ArgumentParser, d: RunConfig) -> None:
    """``--rank-by``, ``--reference`` and ``--realism``: how the leaderboard and report read the results."""
    g = p.add_argument_group("leaderboard")
    g.add_argument("--rank-by", metavar="METRIC", default=None,
                   help=f"rank each table by METRIC in its own direction [default: {d.rank_by}]")
    g.add_argument("--reference", metavar="METHOD", default=None,
                   help="compare every row with METHOD's row, paired on images and seeds [default: the method "
                        "with the highest leaderboard_reference_priority present]")
    g.add_argument("--realism", metavar="METRIC", default=None,
                   help="realism axis of the report's perception-distortion plane [default: the first metric "
                        "marked realism that has values]")


def add_parser(sub: Any) -> argparse.ArgumentParser:
    d = RunConfig()
    # Each help text states its default: argparse's own "(default: None)" would be wrong, since None
    # means "not given" and the value comes from --config or RunConfig.
    p = sub.add_parser("run", help=HELP, description=HELP + ". Flags override --config; --set overrides both.")
    a = p.add_argument
    a("--methods", metavar="LIST", default=None,
      help=f"comma list of methods, or 'all' (see 'srbench list methods') [default: {','.join(d.methods)}]")
    a("--hr-fraction", metavar="F[,F...]", default=None,
      help="fraction of training images that keep their HR, in [0, 1]; a comma list runs a sweep "
           f"[default: {','.join(map(str, d.hr_fraction))}]")
    a("--dataset", metavar="NAME", default=None,
      help="training dataset: 'default' (embedded photos), a named set under $SRBENCH_DATA (sr291, div2k, ...; "
           f"see 'srbench list datasets'), 'synthetic', or folder:PATH [default: {d.dataset}]")
    a("--test-datasets", metavar="LIST", default=None,
      help="comma list of test datasets [default: the test split of --dataset; for a named training set, "
           "every named test set present]")
    a("--eval-split", metavar="SPLIT", default=None,
      help="score on 'test' (the test datasets) or 'val' (the validation split of --dataset only, reported as "
           f"DATASET/val; choose settings there, never on test) [default: {d.eval_split}]")
    a("--scale", metavar="S", default=None, help=f"SR factor: 2, 3 or 4 [default: {d.scale}]")
    a("--degradation", metavar="NAME", default=None,
      help=f"HR-to-LR operator (see 'srbench list degradations') [default: {d.degradation}]")
    a("--paired-degradation", metavar="NAME", default=None,
      help="HR-to-LR operator of the paired images only (its options: --set paired_degradation.OPTION=VALUE): a "
           "domain gap between the paired and the LR-only images (e.g. bicubic beside --degradation blind; the "
           "test LR follows --degradation) [default: --degradation]")
    a("--hr-source", metavar="SRC", default=None,
      help="unpaired HR for discriminators: 'paired' (the paired subset's HR), 'none', or a dataset such as "
           f"folder:PATH [default: {d.hr_source}]")
    a("--seeds", metavar="N", default=None, help=f"run N seeds, from --first-seed on [default: {d.seeds}]")
    a("--first-seed", metavar="K", default=None,
      help="first seed, to spread one sweep's seeds over machines: --first-seed 2 --seeds 1 runs seed 2 alone, "
           f"and its trials are those a --seeds 3 run would make [default: {d.first_seed}]")
    a("--profile", metavar="NAME", default=None,
      help="budget: smoke (seconds), quick (minutes on CPU), standard (about 10 minutes a method on 2 CPU cores, "
           f"for named datasets), full (paper scale, GPU) [default: {d.profile}]")
    a("--out", metavar="DIR", default=None, help=f"output folder [default: {d.out}]")
    a("--device", metavar="DEV", default=None, help=f"auto, cpu, cuda or cuda:N [default: {d.device}]")
    a("--metrics", metavar="LIST", default=None, help="comma list of metrics [default: every registered metric]")
    a("--deterministic", default=None, action=argparse.BooleanOptionalAction,
      help=f"cuDNN deterministic mode [default: {d.deterministic}]")
    a("--amp", default=None, action=argparse.BooleanOptionalAction,
      help=f"bfloat16 mixed precision on CUDA (no effect on CPU) [default: {d.amp}]")
    add_board_arguments(p, d)
    g = p.add_argument_group("executor")
    g.add_argument("--executor", metavar="NAME", default=None,
                   help=f"where trials run: local (one after another, here) or ray (Ray tasks; "
                        f"pip install -e '.[ray]') [default: {d.executor}]")
    g.add_argument("--ray-address", metavar="ADDR", default=None,
                   help="Ray cluster address for --executor ray, e.g. ray://head:10001 or auto "
                        "[default: $RAY_ADDRESS, else a local Ray instance sized to this machine]")
    g.add_argument("--trials-per-gpu", metavar="N", default=None,
                   help="trials that share one GPU (each asks Ray for 1/N of it): the quick and standard profiles' "
                        f"small networks leave most of a GPU idle [default: {d.trials_per_gpu}]")
    g.add_argument("--retries", metavar="N", default=None,
                   help=f"resume a trial whose Ray worker crashed up to N times from its checkpoint "
                        f"[default: {d.retries}]")
    a("--set", metavar="TARGET.OPTION=VALUE", action="append", default=[], dest="overrides",
      help="set a method option (srgan.adversarial_weight=1e-3), a metric option (swd.levels=2), a degradation "
           "option (degradation.sigma=1,2; paired_degradation.X for --paired-degradation's), a profile field "
           "(profile.iterations=50) or a logging plugin's setting (log.KEY=VALUE; an unknown KEY lists the "
           "accepted ones); repeatable; see 'srbench list --options NAME'")
    a("--config", metavar="FILE.toml", default=None, help="read settings from a TOML file (flags override it)")
    a("--no-progress", action="store_true", help="no progress bars")
    a("--dry-run", action="store_true",
      help="list the planned trials and what a run would do with each (reuse, score, resume or train), from "
           "--out alone; trains and writes nothing")
    return p


FLAGS = ("methods", "hr_fraction", "dataset", "test_datasets", "eval_split", "scale", "degradation",
         "paired_degradation", "hr_source", "seeds", "first_seed", "profile", "out", "device", "metrics",
         "deterministic", "amp", "executor", "ray_address", "trials_per_gpu", "retries", "rank_by", "reference", "realism")


def config_from_args(args: argparse.Namespace) -> RunConfig:
    """Defaults, then the config file, then flags, then ``--set``."""
    config = load_config_file(args.config) if args.config else RunConfig()
    for name in FLAGS:
        value = getattr(args, name)
        if value is not None:
            config = update_config(config, {name: value}, "--" + name.replace("_", "-"))
    return apply_set_overrides(config, args.overrides).validate()


def main(args: argparse.Namespace, system: PluginSystem) -> int:
    from ..api import run

    config = config_from_args(args)
    if args.dry_run:
        return dry_run(config, system)
    summary = run(config, plugins=system, progress=not args.no_progress)
    counts: dict[str, int] = {}
    for r in summary.records:
        counts[r.status] = counts.get(r.status, 0) + 1
    done = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no trial finished"
    reused = ""
    if summary.skipped:
        rescored = f", {summary.rescored} of them scored for metrics they lacked" if summary.rescored else ""
        reused = f" ({summary.skipped} reused from earlier runs{rescored})"
    print(f"srbench: {done}{reused}", file=sys.stderr)
    print(f"srbench: leaderboard: {summary.out / 'leaderboard.md'}", file=sys.stderr)
    if summary.interrupted:
        print("srbench: interrupted; finished trials and checkpoints are saved. Run the same command again "
              "to resume.", file=sys.stderr)
    elif summary.failed:
        for r in summary.records:
            if r.status == STATUS_FAILED:
                print(f"srbench: failed: {r.trial_id}: {r.reason}", file=sys.stderr)
    md = summary.out / "leaderboard.md"
    if md.exists() and not summary.interrupted:
        print(md.read_text())
    return summary.exit_code


def dry_run(config: RunConfig, system: PluginSystem) -> int:
    """Print what ``srbench run`` would do with each planned trial in ``config.out``, and how long the
    training left should take (from the folder's finished trials); nothing is written."""
    from ..result_record import read_records
    from ..runner.estimates import training_estimates
    from ..runner.runner import ACTION_RESUME, ACTION_TRAIN, Runner

    runner = Runner(config, system, progress=False)
    actions = runner.planned_actions()
    counts = Counter(planned.action for planned in actions)
    summary = ", ".join(f"{counts[a]} to {a}" for a in ("train", "resume", "score", "reuse") if a in counts)
    print(f"srbench: {len(actions)} planned trials in {config.out}: {summary}; nothing run (--dry-run)")
    to_train = [p for p in actions if p.action in (ACTION_TRAIN, ACTION_RESUME)]
    records = read_records(config.out) if to_train and Path(config.out).is_dir() else []
    estimates = dict(zip((p.trial.trial_id for p in to_train),
                         training_estimates((p.trial.spec.to_dict() for p in to_train), records,
                                            str(runner.device) if to_train else "")))
    known = [e for e in estimates.values() if e is not None]
    if to_train and not known:
        print(f"srbench: training left: {len(to_train)} trials, no estimate (no finished trial of their method "
              "in this folder)")
    elif to_train:
        hours = sum(e.seconds for e in known) / 3600
        unknown = len(to_train) - len(known)
        print(f"srbench: training left: about {hours:.1f} h, one trial at a time, for the {len(known)} of "
              f"{len(to_train)} trials with an estimate (the mean train_seconds of this folder's finished trials "
              f"of their method on this kind of device; a resumed trial counted whole)"
              + (f"; {unknown} without: no finished trial of their method here" if unknown else ""))
    width = max((len(p.trial.trial_id) for p in actions), default=0)
    for planned in actions:
        spec = planned.trial.spec
        detail = f"  {planned.detail}" if planned.detail else ""
        estimate = estimates.get(planned.trial.trial_id)
        if estimate is not None:
            detail += f"  ~{estimate.seconds:.0f} s ({estimate.basis})"
        print(f"{planned.action:<7} {planned.trial.trial_id:<{width}}  {spec.method} hr_fraction {spec.hr_fraction:g} "
              f"seed {spec.seed}{detail}")
    return 0
