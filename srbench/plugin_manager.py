"""Loading plugins: entry points, explicit modules, disabling, and broken-plugin isolation.

Every plugin, built-in or third-party, comes through :func:`load_plugins`:

* entry points of the ``srbench`` group (unless autoloading is off: ``--no-autoload`` or
  ``SRBENCH_DISABLE_PLUGIN_AUTOLOAD=1``, as pytest's ``PYTEST_DISABLE_PLUGIN_AUTOLOAD``);
* modules named explicitly (``--plugin MODULE`` or ``SRBENCH_PLUGINS=mod1,mod2``);
* plugin objects passed in by code (tests).

``--disable-plugin NAME`` skips the entry point (or module) called ``NAME``. A plugin that
fails to import or to register is recorded as broken; the others load normally.
"""

from __future__ import annotations

import difflib
import functools
import importlib
import os
import traceback
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Iterable, Sequence

import pluggy

from . import hookspecs
from .errors import SrbenchError
from .registry import BrokenPlugin, Registries

ENTRY_POINT_GROUP = "srbench"
AUTOLOAD_ENV = "SRBENCH_DISABLE_PLUGIN_AUTOLOAD"
PLUGINS_ENV = "SRBENCH_PLUGINS"


@dataclass
class PluginInfo:
    """What ``srbench list`` shows about one plugin."""

    name: str
    source: str  # "entry point", "module", "object"
    distribution: str = ""
    version: str = ""
    status: str = "loaded"  # "loaded", "broken", "disabled", "duplicate" (same module as another plugin)
    error: str = ""
    components: list[tuple[str, str]] = field(default_factory=list)  # (kind, name)


@dataclass(frozen=True)
class PluginLoadSettings:
    """How a plugin system was loaded, environment variables resolved: enough for another
    process (a Ray worker) to load the same plugins with :func:`load_plugins`.

    :param objects: names of plugins registered as Python objects, which no other process can load.
    """

    disable: tuple[str, ...] = ()
    autoload: bool = True
    modules: tuple[str, ...] = ()
    objects: tuple[str, ...] = ()


@dataclass
class PluginSystem:
    """The loaded plugins and the registries they filled."""

    manager: pluggy.PluginManager
    registries: Registries
    plugins: list[PluginInfo]
    settings: PluginLoadSettings = field(default_factory=PluginLoadSettings)

    @property
    def hook(self) -> Any:
        return self.manager.hook

    def broken(self) -> list[PluginInfo]:
        return [p for p in self.plugins if p.status == "broken"]

    def versions(self) -> dict[str, str]:
        """Plugin name -> version of its distribution, for results."""
        return {p.name: p.version for p in self.plugins if p.status == "loaded"}


def _short_error(exc: BaseException) -> str:
    """The error on one line (pluggy's validation errors span several)."""
    return " ".join(line.strip() for line in f"{type(exc).__name__}: {exc}".splitlines() if line.strip())


def _env_truthy(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no", "off")


def load_plugins(
    *,
    disable: Iterable[str] = (),
    autoload: bool | None = None,
    modules: Sequence[str] = (),
    objects: Sequence[tuple[str, object]] = (),
    read_env: bool = True,
) -> PluginSystem:
    """Discover, load and register every plugin; fill fresh registries.

    :param disable: plugin names to skip (entry-point names or module names).
    :param autoload: load ``srbench`` entry points; ``None`` reads ``SRBENCH_DISABLE_PLUGIN_AUTOLOAD``.
    :param modules: importable module names to load as plugins, in addition (plus ``SRBENCH_PLUGINS``).
    :param objects: ``(name, plugin)`` pairs to register directly (tests).
    :param read_env: read ``SRBENCH_PLUGINS`` and ``SRBENCH_DISABLE_PLUGIN_AUTOLOAD``; a Ray
        worker passes ``False`` and gets the driver's resolved :class:`PluginLoadSettings` instead.
    """
    disabled = {d.strip() for d in disable if d.strip()}
    if autoload is None:
        autoload = not _env_truthy(AUTOLOAD_ENV) if read_env else True
    env_modules = [m.strip() for m in os.environ.get(PLUGINS_ENV, "").split(",") if m.strip()] if read_env else []
    settings = PluginLoadSettings(disable=tuple(sorted(disabled)), autoload=autoload,
                                  modules=tuple(dict.fromkeys([*modules, *env_modules])),
                                  objects=tuple(name for name, _ in objects))

    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    infos: list[PluginInfo] = []
    candidates: list[tuple[PluginInfo, Any]] = []  # (info, loader) where loader() -> plugin object

    if autoload:
        seen: set[str] = set()
        for ep in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            if ep.name in seen:  # the same distribution visible twice on sys.path
                continue
            seen.add(ep.name)
            dist = getattr(ep, "dist", None)
            info = PluginInfo(ep.name, "entry point", getattr(dist, "name", "") or "",
                              getattr(dist, "version", "") or "")
            candidates.append((info, ep.load))
    for mod in [*modules, *env_modules]:
        info = PluginInfo(mod, "module", mod.split(".")[0], _module_version(mod))
        candidates.append((info, lambda mod=mod: importlib.import_module(mod)))
    for name, obj in objects:
        candidates.append((PluginInfo(name, "object"), lambda obj=obj: obj))

    for info, loader in candidates:
        infos.append(info)
        if info.name in disabled:
            info.status = "disabled"
            continue
        if pm.has_plugin(info.name):
            info.status = "broken"
            info.error = f"a plugin named {info.name!r} is already loaded"
            continue
        try:
            plugin = loader()
            already = pm.get_name(plugin)
            if already is not None:  # pip install -e'd and also named with --plugin: load once
                info.status = "duplicate"
                info.error = f"the same module as plugin {already!r}, loaded once under that name"
                continue
            pm.register(plugin, name=info.name)
            _check_hook_names(pm, plugin, info.name)
        except Exception as exc:  # noqa: BLE001 - any import error must not break the others
            info.status = "broken"
            info.error = _short_error(exc)
            info.traceback = traceback.format_exc()  # type: ignore[attr-defined]

    unknown = disabled - {i.name for i in infos}
    if unknown:
        from .errors import UsageError

        names = ", ".join(sorted(i.name for i in infos)) or "(none)"
        raise UsageError(f"--disable-plugin: no plugin named {sorted(unknown)[0]!r}; loaded plugins: {names}")

    registries = Registries()
    by_name = {i.name: i for i in infos}
    for hook_name, kind in hookspecs.REGISTRATION_HOOKS.items():
        registry = registries.by_kind(kind)
        for impl in getattr(pm.hook, hook_name).get_hookimpls():
            if impl.plugin_name not in by_name or by_name[impl.plugin_name].status != "loaded":
                continue
            info = by_name[impl.plugin_name]
            registry._current_plugin = impl.plugin_name
            registry._current_version = info.version
            before = set(registry.names())
            try:
                impl.function(**{kind: registry})
            except Exception as exc:  # noqa: BLE001
                _mark_broken(registries, info, exc)
                continue
            finally:
                registry._current_plugin = "<direct>"
                registry._current_version = ""
            info.components += [(kind, n) for n in sorted(set(registry.names()) - before)]

    for info in infos:
        if info.status == "broken":
            for registry in registries.all().values():
                registry.mark_broken(BrokenPlugin(info.name, info.error, info.version))
            if pm.has_plugin(info.name):
                pm.unregister(name=info.name)
    return PluginSystem(pm, registries, infos, settings)


def _mark_broken(registries: Registries, info: PluginInfo, exc: BaseException) -> None:
    """Roll back what a plugin registered before it raised, and remember why."""
    if isinstance(exc, SrbenchError):
        info.error = str(exc)
    else:
        info.error = _short_error(exc)
    info.status = "broken"
    for kind, name in info.components:
        registries.by_kind(kind)._entries.pop(name, None)
    for registry in registries.all().values():
        for name in [n for n, e in registry._entries.items() if e.plugin == info.name]:
            registry._entries.pop(name)
    info.components = []


def _check_hook_names(pm: pluggy.PluginManager, plugin: object, name: str) -> None:
    """A misspelt hook (``srbench_register_method``) would be silently ignored: refuse it."""
    known = set(vars(hookspecs))
    for attr in dir(plugin):
        if attr.startswith("srbench_") and attr not in known and callable(getattr(plugin, attr, None)):
            pm.unregister(name=name)
            close = difflib.get_close_matches(attr, [k for k in known if k.startswith("srbench_")], n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise SrbenchError(f"plugin {name!r} defines {attr!r}, which is not a srbench hook{hint}")


@functools.lru_cache(maxsize=1)
def _packages_distributions() -> dict[str, list[str]]:
    return dict(metadata.packages_distributions())  # scans every installed distribution: 0.3-0.6 s


def _module_version(module: str) -> str:
    top = module.split(".")[0]
    try:
        dists = _packages_distributions().get(top, [])
        return metadata.version(dists[0]) if dists else ""
    except Exception:  # noqa: BLE001
        return ""


_DEFAULT: PluginSystem | None = None


def get_plugin_system() -> PluginSystem:
    """The process-wide plugin system with default settings (loaded on first use)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = load_plugins()
    return _DEFAULT


def set_plugin_system(system: PluginSystem | None) -> None:
    """Replace the process-wide plugin system (the CLI does after applying its options)."""
    global _DEFAULT
    _DEFAULT = system
