"""Typed registries of named components, filled by plugins through hooks.

One :class:`Registry` per kind of component (methods, generators, ...). Plugins add entries
from their ``srbench_register_*`` hook; users and the runner look them up with
:meth:`Registry.create` / :meth:`Registry.get`. Modelled on timm's ``list_models`` /
``create_model``: an unknown name lists what exists, a duplicate name names both plugins.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any, Generic, Iterator, TypeVar

from .errors import DuplicateComponentError, PluginLoadError, UnknownComponentError

T = TypeVar("T")


def singular(kind: str) -> str:
    """``"adversarial_losses"`` -> ``"adversarial_loss"``, ``"methods"`` -> ``"method"``."""
    if kind.endswith("sses"):
        return kind[:-2]
    return kind[:-1] if kind.endswith("s") else kind


@dataclass(frozen=True)
class Entry(Generic[T]):
    """One registered component.

    :param name: the name users type (``--methods srgan``).
    :param factory: what :meth:`Registry.create` calls (a class or a function).
    :param plugin: the name of the plugin that registered it.
    :param doc: a one-line description shown by ``srbench list``.
    :param version: version of the distribution that ships the plugin.
    """

    name: str
    factory: T
    plugin: str
    doc: str = ""
    version: str = ""


@dataclass
class BrokenPlugin:
    """A plugin that failed to load; kept so ``srbench list`` can show why."""

    name: str
    error: str
    version: str = ""


class Registry(Generic[T]):
    """Named components of one kind.

    :param kind: plural noun used in messages (``"methods"``, ``"metrics"``).
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Entry[T]] = {}
        self._broken: list[BrokenPlugin] = []
        # Set by the plugin manager while a plugin's hook runs, so entries know their owner.
        self._current_plugin: str = "<direct>"
        self._current_version: str = ""

    # -- registration (called from plugins' hooks) -------------------------------------
    def register(self, name: str, factory: T, doc: str | None = None) -> T:
        """Register ``factory`` under ``name``; returns ``factory`` so it works as a decorator body.

        :raises DuplicateComponentError: when ``name`` already exists, naming both plugins.
        """
        if not isinstance(name, str) or not name or any(c in name for c in " ,=:"):
            raise ValueError(f"invalid {self.kind} name {name!r}: use letters, digits, '-', '_' or '.'")
        if name in self._entries:
            first = self._entries[name]
            raise DuplicateComponentError(
                f"{self.kind} name {name!r} is registered twice: by plugin {first.plugin!r} "
                f"and by plugin {self._current_plugin!r}; disable one with --disable-plugin"
            )
        if doc is None:
            lines = (getattr(factory, "__doc__", None) or "").strip().splitlines()
            doc = lines[0] if lines else ""
        self._entries[name] = Entry(name, factory, self._current_plugin, doc, self._current_version)
        return factory

    def mark_broken(self, plugin: BrokenPlugin) -> None:
        self._broken.append(plugin)

    # -- lookup ---------------------------------------------------------------------------
    def names(self) -> list[str]:
        """Sorted names of every registered component."""
        return sorted(self._entries)

    def entries(self) -> list[Entry[T]]:
        return [self._entries[n] for n in self.names()]

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, name: str) -> Entry[T]:
        """The entry for ``name``.

        :raises UnknownComponentError: listing the available names (and broken plugins).
        """
        try:
            return self._entries[name]
        except KeyError:
            pass
        available = ", ".join(self.names()) or "(none)"
        hint = difflib.get_close_matches(name, self.names(), n=1)
        msg = f"unknown {singular(self.kind)} {name!r}"
        if hint:
            msg += f" (did you mean {hint[0]!r}?)"
        msg += f"; available: {available}"
        if self._broken:
            broken = "; ".join(f"{b.name}: {b.error}" for b in self._broken)
            msg += f". Plugins that failed to load: {broken}"
            raise PluginLoadError(msg)
        raise UnknownComponentError(msg)

    def create(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Call the factory registered as ``name`` with the given arguments."""
        factory = self.get(name).factory
        if not callable(factory):
            raise TypeError(f"{self.kind} {name!r} is not callable")
        return factory(*args, **kwargs)


@dataclass
class Registries:
    """Every registry, one attribute per kind; what the plugin manager fills."""

    methods: Registry = field(default_factory=lambda: Registry("methods"))
    generators: Registry = field(default_factory=lambda: Registry("generators"))
    discriminators: Registry = field(default_factory=lambda: Registry("discriminators"))
    adversarial_losses: Registry = field(default_factory=lambda: Registry("adversarial_losses"))
    degradations: Registry = field(default_factory=lambda: Registry("degradations"))
    datasets: Registry = field(default_factory=lambda: Registry("datasets"))
    metrics: Registry = field(default_factory=lambda: Registry("metrics"))

    KINDS = ("methods", "generators", "discriminators", "adversarial_losses", "degradations", "datasets", "metrics")

    def by_kind(self, kind: str) -> Registry:
        if kind not in self.KINDS:
            raise UnknownComponentError(f"unknown component kind {kind!r}; available: {', '.join(self.KINDS)}")
        return getattr(self, kind)

    def all(self) -> dict[str, Registry]:
        return {k: getattr(self, k) for k in self.KINDS}



class ReadOnlyRegistry:
    """Lookup-only face of one :class:`Registry`: ``get``, ``create``, ``names``, ``entries``; no ``register``."""

    __slots__ = ("_registry",)

    def __init__(self, registry: Registry) -> None:
        self._registry = registry

    @property
    def kind(self) -> str:
        return self._registry.kind

    def names(self) -> list[str]:
        return self._registry.names()

    def entries(self) -> list[Entry[Any]]:
        return self._registry.entries()

    def get(self, name: str) -> Entry[Any]:
        return self._registry.get(name)

    def create(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return self._registry.create(name, *args, **kwargs)

    def __contains__(self, name: object) -> bool:
        return name in self._registry

    def __iter__(self) -> Iterator[str]:
        return iter(self._registry)

    def __len__(self) -> int:
        return len(self._registry)


class ComponentsView:
    """What a method may build by name (:attr:`MethodContext.registries`): generators,
    discriminators, adversarial losses and degradations, read-only.

    Datasets are left out on purpose: a method that could open the training dataset could read
    the HR of its LR-only images and of the test images (the few-HR access contract; see
    docs/writing_a_plugin.md). Methods and metrics are left out too: a method builds networks
    and losses, not other methods or scores.
    """

    KINDS = ("generators", "discriminators", "adversarial_losses", "degradations")
    __slots__ = KINDS

    def __init__(self, registries: "Registries") -> None:
        for kind in self.KINDS:
            object.__setattr__(self, kind, ReadOnlyRegistry(getattr(registries, kind)))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only")

    def __copy__(self) -> "ComponentsView":
        return self  # read-only: a copy of a method shares it

    def __deepcopy__(self, memo: dict[int, Any]) -> "ComponentsView":
        return self

    @classmethod
    def of(cls, registries: "Registries | ComponentsView") -> "ComponentsView":
        """``registries`` itself when it is a view already, else a view of it."""
        return registries if isinstance(registries, ComponentsView) else cls(registries)

    def by_kind(self, kind: str) -> ReadOnlyRegistry:
        if kind not in self.KINDS:
            raise UnknownComponentError(f"component kind {kind!r} is not available to methods; available: "
                                        f"{', '.join(self.KINDS)}")
        return getattr(self, kind)

    def all(self) -> dict[str, ReadOnlyRegistry]:
        return {k: getattr(self, k) for k in self.KINDS}
