"""The Ray executor: every trial is a Ray core task, on a local instance or an existing cluster.

Ray tasks, not Ray Tune: a fixed grid needs no search machinery. Retries are the harness's
(``max_retries=0`` for Ray): a trial whose worker or node died is sent again and resumes from
its last checkpoint, up to ``retries`` times; a trial that raised is ``failed`` at once. Workers
write results and checkpoints straight into ``--out``, which must be on a filesystem every
node sees (on one machine, any folder).
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from ... import __version__
from ...errors import SrbenchError, UsageError
from ...result_record import TrialResult
from ...training.threads import available_cpus
from . import ray_tasks

if TYPE_CHECKING:
    from ..progress import Progress
    from ..runner import PlannedTrial, RunSummary
    from . import TrialRunner

INSTALL_HINT = "pip install -e '.[ray]' in a checkout, or pip install 'srbench-gan[ray]'"
#: Ray's setting of its workers' niceness (its default: 15).
RAY_WORKER_NICENESS = "RAY_worker_niceness"
#: Seconds the workers get to answer the plugin check before the run gives up.
PROBE_TIMEOUT = 180.0
#: Seconds a cancelled trial gets to write its checkpoint before its worker is killed.
CANCEL_GRACE = 20.0


def import_ray() -> Any:
    """``import ray`` with usage statistics off and workers at normal priority unless the user set either;
    one-line error without it."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    # Ray starts its workers at niceness 15: beside processes at 0 (a local srbench run, a test suite) a Ray
    # trial got 3-7% of a core on cpu2 (2026-12-03), 15-30x slower. A local instance started from here
    # reads this; a cluster started with `ray start` keeps its own setting.
    os.environ.setdefault(RAY_WORKER_NICENESS, "0")
    try:
        import ray
    except ImportError as exc:
        raise UsageError(f"--executor ray needs the 'ray' package ({exc}); install it with {INSTALL_HINT}") from None
    return ray


def check_reachable(address: str, timeout: float = 5.0) -> None:
    """Fail in seconds, not minutes, when nothing listens at ``host:port`` (``ray://host:port``).

    ``ray.init`` retries an unreachable address for minutes; ``auto`` and other forms are left to Ray.
    """
    target = address.removeprefix("ray://")
    host, sep, port = target.rpartition(":")
    if not sep or not host or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as exc:
        raise UsageError(f"--ray-address {address}: nothing answers there ({exc.strerror or exc}); start the "
                         "cluster with 'ray start --head' and pass its address, or leave --ray-address out to "
                         "start a local instance") from None


def _one_line(exc: BaseException) -> str:
    text = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    return f"{type(exc).__name__}: {text[:300]}"


class RayExecutor:
    """Runs trials as Ray tasks and collects their records as they finish.

    :param address: cluster address (``ray://host:10001``, ``host:6379``, ``auto``); empty:
        ``$RAY_ADDRESS``, else a new local instance sized to this machine. When Ray is already
        initialised in this process (a notebook, the tests) that connection is used.
    :param retries: times a crashed trial is resumed from its checkpoint before it is ``failed``.
    """

    name = "ray"

    def __init__(self, *, address: str = "", retries: int = 2, log: Callable[[str], None] = print,
                 probe_timeout: float = PROBE_TIMEOUT, cancel_grace: float = CANCEL_GRACE) -> None:
        self.ray = import_ray()
        self.address = address
        self.retries = retries
        self.log = log
        self.probe_timeout = probe_timeout
        self.cancel_grace = cancel_grace
        self._connected_here = False

    # -- cluster ----------------------------------------------------------------------------
    def connect(self) -> None:
        ray = self.ray
        if ray.is_initialized():
            return
        address = self.address or os.environ.get("RAY_ADDRESS") or None
        if address:
            check_reachable(address)
        kwargs: dict[str, Any] = {"include_dashboard": False, "logging_level": logging.WARNING}
        where = f"the Ray cluster at {address}" if address else "a local Ray instance"
        try:
            if address is None:
                try:  # not os.cpu_count(): a container may allow fewer
                    ray.init(num_cpus=available_cpus(), **kwargs)
                except ValueError as exc:
                    if "existing cluster" not in str(exc):
                        raise
                    # `ray start` already runs on this machine: ray.init() joins it, sized as it is.
                    ray.init(**kwargs)
                    where = "the Ray cluster already running on this machine"
            else:
                ray.init(address=address, **kwargs)
        except (ConnectionError, ValueError, RuntimeError, TimeoutError) as exc:
            what = f"--ray-address {address}: cannot connect to a Ray cluster" if address else \
                "--executor ray: cannot start a local Ray instance"
            raise UsageError(f"{what} ({_one_line(exc)})") from None
        self._connected_here = True
        self.log(f"srbench: using {where}: {self._describe(ray.cluster_resources())}")

    def disconnect(self) -> None:
        if self._connected_here and self.ray.is_initialized():
            self.ray.shutdown()
        self._connected_here = False

    @staticmethod
    def _describe(resources: dict[str, float]) -> str:
        return ", ".join(f"{resources.get(k, 0):g} {k}" for k in ("CPU", "GPU"))

    def task_resources(self, runner: "TrialRunner") -> dict[str, float]:
        """CPUs from the profile; a GPU, or ``1 / trials_per_gpu`` of one, when the trials run on CUDA (``auto``
        does on a GPU cluster)."""
        device = runner.config.device
        nodes = [n["Resources"] for n in self.ray.nodes() if n.get("Alive")]
        most_cpus = max((r.get("CPU", 0.0) for r in nodes), default=0.0)
        has_gpu = any(r.get("GPU", 0.0) >= 1 for r in nodes)
        if device.startswith("cuda:"):
            raise UsageError(f"--device {device}: with --executor ray each trial is given its own GPU; "
                             "use --device cuda or auto")
        if device == "cuda" and not has_gpu:
            raise UsageError(f"--device cuda: the Ray cluster has no GPU "
                             f"({self._describe(self.ray.cluster_resources())})")
        cpus = runner.profile.cpus
        if cpus > most_cpus:
            raise UsageError(f"profile {runner.profile.name!r} asks for {cpus} CPUs per trial but no Ray node has "
                             f"more than {most_cpus:g}; set --set profile.cpus=N")
        gpus = 1.0 / runner.config.trials_per_gpu if device == "cuda" or (device == "auto" and has_gpu) else 0.0
        return {"num_cpus": float(cpus), "num_gpus": gpus}

    def check_workers(self, runner: "TrialRunner") -> None:
        """Fail before any training when a node cannot load srbench or a plugin loaded here."""
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        ray = self.ray
        settings = runner.plugins.settings
        if settings.objects:
            raise UsageError(f"plugins registered as Python objects ({', '.join(settings.objects)}) cannot be "
                             "loaded by Ray workers; make them importable modules and use --plugin MODULE")
        probe = ray.remote(ray_tasks.probe)
        nodes = [n for n in ray.nodes() if n.get("Alive") and n["Resources"].get("CPU", 0) >= 1]
        refs = [probe.options(num_cpus=0, max_retries=0,
                              scheduling_strategy=NodeAffinitySchedulingStrategy(n["NodeID"], soft=False))
                .remote(settings) for n in nodes]
        try:
            answers = ray.get(refs, timeout=self.probe_timeout)
        except ray.exceptions.GetTimeoutError:
            raise UsageError(f"Ray workers did not answer within {self.probe_timeout:g} s; is the cluster busy "
                             "or short of CPUs?") from None
        except ray.exceptions.RayError as exc:
            cause = getattr(exc, "cause", None) or exc
            raise UsageError(f"a Ray worker cannot load srbench ({_one_line(cause)}); install srbench and its "
                             "plugins on every node") from None
        expected = sorted(p.name for p in runner.plugins.plugins if p.status == "loaded")
        for answer in answers:
            for name in expected:
                status, error = answer["plugins"].get(name, ["missing", ""])
                if status != "loaded":
                    why = "not installed there" if status == "missing" else f"{status} there: {error}"
                    raise UsageError(f"plugin {name!r} is loaded here but not on Ray node {answer['host']} ({why}); "
                                     f"install it on every node, or pass --disable-plugin {name} if the grid does "
                                     "not use it")
            if answer["srbench"] != __version__:
                self.log(f"srbench: warning: Ray node {answer['host']} has srbench {answer['srbench']}, "
                         f"this driver {__version__}")

    # -- running ----------------------------------------------------------------------------
    def run(self, runner: "TrialRunner", trials: "list[PlannedTrial]", summary: "RunSummary",
            progress: "Progress") -> None:
        self.connect()
        try:
            self._run(runner, trials, summary, progress)
        finally:
            self.disconnect()

    def _run(self, runner: "TrialRunner", trials: "list[PlannedTrial]", summary: "RunSummary",
             progress: "Progress") -> None:
        ray = self.ray
        resources = self.task_resources(runner)
        self.check_workers(runner)
        # Workers may start elsewhere: give them an absolute --out.
        config = replace(runner.config, out=str(Path(runner.config.out).resolve()))
        settings = runner.plugins.settings
        task = ray.remote(ray_tasks.run_trial)

        def submit(trial: "PlannedTrial", attempt: int) -> Any:
            return task.options(max_retries=0, retry_exceptions=False, name=f"srbench:{trial.trial_id}",
                                **resources).remote(config, settings, trial.spec.to_dict(), attempt)

        pending = {submit(t, 0): (t, 0) for t in trials}
        self.log(f"srbench: {len(trials)} trials sent to Ray, each with {resources['num_cpus']:g} CPU"
                 + (f" and {resources['num_gpus']:g} GPU" if resources["num_gpus"] else ""))
        try:
            while pending:
                progress.set_status(f"{len(pending)} queued or running on Ray")
                ready, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
                for ref in ready:
                    trial, attempt = pending.pop(ref)
                    result = self._collect(ref, trial, attempt, runner)
                    if result is None:
                        pending[submit(trial, attempt + 1)] = (trial, attempt + 1)
                        continue
                    summary.records.append(result)
                    progress.end_trial(result.status)
        except BaseException:  # Ctrl-C, or a usage error raised by a worker: stop what still runs
            self._cancel(list(pending), runner)
            raise

    def _collect(self, ref: Any, trial: "PlannedTrial", attempt: int, runner: "TrialRunner") -> TrialResult | None:
        """The trial's record; ``None`` when its worker crashed and it should be sent again."""
        ray = self.ray
        tdir = runner.trial_dir(trial)
        try:
            return TrialResult.from_dict(ray.get(ref))
        except ray.exceptions.RayTaskError as exc:  # the task raised: no retry
            cause = exc.cause if isinstance(getattr(exc, "cause", None), BaseException) else exc
            if isinstance(cause, SrbenchError):
                raise cause from None  # bad user data or settings: the local executor stops too
            reason = f"remote error: {_one_line(cause)}"
            tdir.mkdir(parents=True, exist_ok=True)
            (tdir / "error.txt").write_text(str(exc))
        except ray.exceptions.TaskCancelledError as exc:
            reason = f"cancelled from outside this run ({_one_line(exc)})"
        except ray.exceptions.RayError as exc:  # the worker process or its node died
            if attempt < self.retries:
                self.log(f"srbench: trial {trial.trial_id}: Ray worker lost ({_one_line(exc)[:160]}); resuming "
                         f"from its checkpoint, retry {attempt + 1} of {self.retries}")
                return None
            reason = (f"Ray worker lost {attempt + 1} times, last: {_one_line(exc)[:300]}; its checkpoint is kept: "
                      "run the same command again to resume")
        record = runner.new_record(trial)
        record.reason = reason
        record.executor = {"name": "ray", "attempt": attempt}
        runner.write_record(trial, record)
        self.log(f"srbench: trial {trial.trial_id} failed: {reason}")
        return record

    def _cancel(self, refs: list[Any], runner: "TrialRunner") -> None:
        """Cancel queued and running tasks; running ones first get a KeyboardInterrupt (and checkpoint)."""
        if not refs:
            return
        ray = self.ray
        self.log(f"\nsrbench: stopping {len(refs)} Ray tasks; running trials save a checkpoint first "
                 f"(up to {self.cancel_grace:g} s)")
        for ref in refs:
            ray.cancel(ref, force=False)
        rest = refs
        try:
            _, rest = ray.wait(refs, num_returns=len(refs), timeout=self.cancel_grace)
        except KeyboardInterrupt:  # a second Ctrl-C: do not wait
            pass
        for ref in rest:
            ray.cancel(ref, force=True)
        if rest:
            ray.wait(rest, num_returns=len(rest), timeout=10.0)
        self.log(f"srbench: finished trials are kept in {runner.config.out}; run the same command again to resume "
                 "the others from their checkpoints")
