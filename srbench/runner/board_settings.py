"""What the leaderboard reads from the plugins (metric directions, checks, realism; method roles)
and from the user (``--rank-by``, ``--reference``, ``--realism``), so it names no built-in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..config import RunConfig
from ..errors import UsageError
from ..interfaces.metric import Check

if TYPE_CHECKING:
    from ..registry import Registries

#: The rank metric when none is given; the report's distortion axis when the rank metric is a realism one.
DEFAULT_RANK_BY = RunConfig().rank_by


@dataclass(frozen=True)
class MetricInfo:
    """A metric's leaderboard metadata (its ClassVars; defaults for a metric no plugin registers now)."""

    name: str
    higher_is_better: bool = True
    target: float | None = None
    checks: tuple[Check, ...] = ()
    realism: bool = False

    @property
    def better_sign(self) -> int:
        """+1 when a larger (transformed) value is better, -1 when a smaller one is."""
        return -1 if self.target is not None or not self.higher_is_better else 1

    def transform(self, value: Any) -> Any:
        """The value compared across rows: the distance to :attr:`target` when there is one."""
        return abs(value - self.target) if self.target is not None else value

    @property
    def direction_text(self) -> str:
        if self.target is not None:
            return f"closest to {self.target:g} is best"
        return "higher is better" if self.higher_is_better else "lower is better"

    @classmethod
    def of(cls, name: str, metric_cls: Any) -> MetricInfo:
        return cls(name, bool(getattr(metric_cls, "higher_is_better", True)), getattr(metric_cls, "target", None),
                   tuple(getattr(metric_cls, "checks", ()) or ()), bool(getattr(metric_cls, "realism", False)))


@dataclass(frozen=True)
class BoardSettings:
    """Everything that decides how results become tables, besides the results.

    :param metrics: name -> metadata, in registry order.
    :param reference_priority: method name -> ``Method.leaderboard_reference_priority`` (set ones only).
    :param floors: methods with ``Method.leaderboard_floor``.
    :param rank_by: metric ranking the rows of each table.
    :param reference: explicit reference (method name or row label); ``""``: by priority.
    :param realism: explicit realism axis; ``""``: the first metric marked realism with values.
    :param ablations: method name -> ``Method.ablation`` (the options that switch its term off; set ones only).
    """

    metrics: Mapping[str, MetricInfo] = field(default_factory=dict)
    reference_priority: Mapping[str, int] = field(default_factory=dict)
    floors: frozenset[str] = frozenset()
    rank_by: str = DEFAULT_RANK_BY
    reference: str = ""
    realism: str = ""
    ablations: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @classmethod
    def from_registries(cls, registries: Registries, *, rank_by: str | None = None, reference: str | None = None,
                        realism: str | None = None) -> BoardSettings:
        metrics = {e.name: MetricInfo.of(e.name, e.factory) for e in registries.metrics.entries()}
        priority: dict[str, int] = {}
        floors = set()
        ablations: dict[str, Mapping[str, Any]] = {}
        for e in registries.methods.entries():
            if getattr(e.factory, "ablation", None):
                ablations[e.name] = dict(e.factory.ablation)
            p = getattr(e.factory, "leaderboard_reference_priority", None)
            if p is not None:
                priority[e.name] = int(p)
            if getattr(e.factory, "leaderboard_floor", False):
                floors.add(e.name)
        return cls(metrics, priority, frozenset(floors), rank_by or DEFAULT_RANK_BY, reference or "", realism or "",
                   ablations)

    def metric(self, name: str) -> MetricInfo:
        return self.metrics.get(name) or MetricInfo(name)

    def order_metrics(self, names: Iterable[str]) -> list[str]:
        """The rank metric first, then realism metrics (beside it, the perception-distortion pair),
        then the other registered ones in registry order, then metrics no plugin registers (sorted)."""
        names = set(names)
        known = [m for m in self.metrics if m in names and m != self.rank_by]
        known = [m for m in known if self.metrics[m].realism] + [m for m in known if not self.metrics[m].realism]
        return ([self.rank_by] if self.rank_by in names else []) + known + sorted(names - set(known) - {self.rank_by})

    def flag_texts(self) -> dict[str, str]:
        """Flag name -> the text tables show, for every check with each floor method filled in."""
        texts = {}
        for info in self.metrics.values():
            for c in info.checks:
                for floor in sorted(self.floors) or ["the floor method"]:
                    texts[c.name.format(floor=floor)] = c.text.format(floor=floor)
        return texts

    def check_choices(self, metric_names: Iterable[str], method_names: Iterable[str], where: str) -> None:
        """One-line :class:`UsageError` for a ``--rank-by``/``--realism`` that is not among
        ``metric_names`` or a ``--reference`` not among ``method_names`` (method names and row labels).

        :param where: what the names are (``"in these results"``, ``"in this run"``).
        """
        metrics, methods = sorted(set(metric_names)), sorted(set(method_names))
        # the default rank metric may be absent (--metrics without it): its rank column stays empty
        rank_by = self.rank_by if self.rank_by != DEFAULT_RANK_BY else ""
        for flag, value in (("--rank-by", rank_by), ("--realism", self.realism)):
            if value and value not in metrics:
                raise UsageError(f"{flag} {value}: no such metric {where}; available: {', '.join(metrics) or '(none)'}")
        if self.reference and self.reference not in methods:
            raise UsageError(f"--reference {self.reference}: no such method {where}; methods: "
                             f"{', '.join(methods) or '(none)'}")
