"""Method ``snoop``: tries every route to hidden HR a plugin author might take (access-contract tests).

It trains a trivial network on LR only, and in ``setup`` and at step 0 it searches for pixels:

* ``registries``: every registry the context hands over, the datasets one above all;
* ``ids``: the LR-only ids it is given, matched against any dataset it could open;
* ``attributes``: everything reachable from the context and the training data: attributes,
  containers, closures, defaults, tensors' bases, generators, recursively;
* ``files``: image, checkpoint and array files under the working directory, folders named in
  ``sys.argv``, environment variables and strings found on the way, one folder up from each;
* ``gc``: every tensor and array alive in the process (``gc.get_objects()`` and referents);
* ``modules``: tensors and arrays in the globals of srbench's and the built-ins' modules.

What it finds goes to :data:`LOOT` as ``(route, tensor or array)``; the test looks for hidden
HR there. It never calls srbench's or a plugin's functions to load data it was not given
(a deliberate attacker can; see docs/writing_a_plugin.md), except through what it was handed.
"""

from __future__ import annotations

import gc
import os
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from srbench import hookimpl
from srbench.interfaces import Method
from srbench.options import option

ROUTES = ("registries", "ids", "attributes", "files", "gc", "modules")
#: (route, tensor or ndarray) found while snooping.
LOOT: list[tuple[str, Any]] = []
#: Strings the method saw: the LR-only ids, the paths it tried.
SEEN: dict[str, list[str]] = {"lr_only_ids": [], "paths": [], "routes_run": [], "strings": []}
_FILE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".pt", ".pth", ".npy", ".npz"}
_MAX_FILES = 3000


@dataclass(frozen=True)
class SnoopOptions:
    routes: str = option(",".join(ROUTES), "comma list of routes to try")
    only_seed: int = option(-1, "snoop only in the trial of this seed (-1: every trial)")


def _loot(route: str, obj: Any) -> None:
    if isinstance(obj, (torch.Tensor, np.ndarray)) and obj.size and (obj.ndim >= 1):
        LOOT.append((route, obj))


def referents(obj: Any) -> list[Any]:
    """What ``obj`` holds: gc referents, attributes and slots, closures and defaults, a tensor's
    base and grad, a generator's state (a new tensor: callers keep it alive while walking)."""
    refs = list(gc.get_referents(obj))
    if hasattr(obj, "__dict__"):
        refs.append(vars(obj))
    for slot in getattr(type(obj), "__slots__", ()):
        if isinstance(slot, str) and hasattr(obj, slot):
            refs.append(getattr(obj, slot))
    if isinstance(obj, types.FunctionType):
        refs += [c.cell_contents for c in (obj.__closure__ or ()) if c.cell_contents is not None]
        refs += list(obj.__defaults__ or ())
    if isinstance(obj, torch.Tensor):
        refs += [r for r in (obj.grad, obj._base) if r is not None]
    if isinstance(obj, torch.Generator):
        refs.append(obj.get_state())
    return refs


def _walk(root: Any, limit: int = 200_000) -> Iterator[Any]:
    """Objects reachable from ``root`` (not through modules, classes or function globals)."""
    seen: set[int] = set()
    keep: list[Any] = []
    stack = [root]
    while stack and len(seen) < limit:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, (types.ModuleType, type)):
            continue
        seen.add(id(obj))
        keep.append(obj)
        yield obj
        if isinstance(obj, (str, bytes, int, float, bool)) or obj is None:
            continue
        refs = [r for r in referents(obj) if not (isinstance(r, dict) and r.get("__name__") and "__builtins__" in r)]
        if isinstance(obj, types.FunctionType):
            refs = [r for r in refs if r is not obj.__globals__]
        stack.extend(refs)


def _images_of(dataset: Any) -> list[Any]:
    found = []
    for split in ("train", "test", "all"):
        try:
            found += list(dataset.images(split))
        except Exception:  # noqa: BLE001 - a route that fails is a closed route
            pass
    return found


class SnoopMethod(Method):
    """Trains a 3x3 conv on LR (identity); snoops for hidden HR (see the module docstring)."""

    Options = SnoopOptions

    def setup(self, data):
        self.net = nn.Conv2d(3, 3, 3, padding=1).to(self.context.device)
        self.opt = torch.optim.SGD(self.net.parameters(), lr=1e-3)
        self._snoop(data, "setup")

    def modules(self):
        return {"generator": self.net}

    def optimizers(self):
        return {"g": self.opt}

    def train_step(self, step, data):
        if step == 0:
            self._snoop(data, "training")
        lr = data.all_lr(self.context.batch_size, self.context.device)
        loss = F.mse_loss(self.net(lr), lr)
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        return {"mse": loss}

    def super_resolve(self, lr):
        return F.interpolate(lr, scale_factor=self.context.scale, mode="nearest")

    # -- the routes ------------------------------------------------------------------------
    def _snoop(self, data: Any, when: str) -> None:
        if self.options.only_seed >= 0 and self.context.seed != self.options.only_seed:
            return
        routes = [r.strip() for r in self.options.routes.split(",") if r.strip()]
        datasets: list[Any] = []
        strings: list[str] = []
        for route in routes:
            SEEN["routes_run"].append(f"{when}:{route}")
            getattr(self, f"_route_{route}")(data, datasets, strings)

    def _route_registries(self, data: Any, datasets: list[Any], strings: list[str]) -> None:
        regs = self.context.registries
        candidates = [getattr(regs, n, None) for n in dir(regs) if not n.startswith("__")]
        for fn in ("all",):
            try:
                candidates += list(getattr(regs, fn)().values())
            except Exception:  # noqa: BLE001
                pass
        try:
            candidates.append(regs.by_kind("datasets"))
        except Exception:  # noqa: BLE001
            pass
        candidates += [o for o in _walk(regs, 20_000) if hasattr(o, "create") and hasattr(o, "names")]
        for reg in candidates:
            if not (hasattr(reg, "create") and hasattr(reg, "names")):
                continue
            try:
                names = list(reg.names())
            except Exception:  # noqa: BLE001
                continue
            for name in names:
                for arg in (None, "", "0.25/1"):
                    try:
                        ds = reg.create(name, arg)
                    except Exception:  # noqa: BLE001
                        continue
                    if hasattr(ds, "images"):
                        datasets.append(ds)
                        for img in _images_of(ds):
                            _loot("registries", getattr(img, "pixels", None))
                        break

    def _route_ids(self, data: Any, datasets: list[Any], strings: list[str]) -> None:
        ids = set(data.lr_only.ids)
        SEEN["lr_only_ids"] += sorted(ids)
        for ds in datasets + [o for o in _walk(self.context, 50_000) if hasattr(o, "images") and hasattr(o, "name")]:
            for img in _images_of(ds):
                if getattr(img, "id", None) in ids:
                    _loot("ids", img.pixels)

    def _route_attributes(self, data: Any, datasets: list[Any], strings: list[str]) -> None:
        for root in (data, self.context):
            for obj in _walk(root):
                if isinstance(obj, (torch.Tensor, np.ndarray)):
                    _loot("attributes", obj)
                elif isinstance(obj, str) and ("/" in obj or os.sep in obj) and len(obj) < 4096:
                    strings.append(obj)
                    SEEN["strings"].append(obj)
                elif isinstance(obj, os.PathLike):
                    strings.append(os.fspath(obj))
                    SEEN["strings"].append(os.fspath(obj))
                elif hasattr(obj, "images") and callable(getattr(obj, "images")) and hasattr(obj, "name"):
                    for img in _images_of(obj):
                        _loot("attributes", getattr(img, "pixels", None))

    def _route_files(self, data: Any, datasets: list[Any], strings: list[str]) -> None:
        found: list[str] = [os.getcwd()]
        for arg in sys.argv[1:]:
            found += [arg, *arg.split("=")[1:], *arg.split(":")[1:]]
        found += list(os.environ.values())
        found += strings
        folders: list[Path] = []
        for text in found:
            try:
                p = Path(text)
                if not p.exists():
                    continue
            except (OSError, ValueError):
                continue
            p = p if p.is_dir() else p.parent
            for q in (p, p.parent):
                q = q.resolve()
                if q != Path(q.anchor) and q not in folders and len(q.parts) > 3:
                    folders.append(q)
        SEEN["paths"] += [str(f) for f in folders]
        count = 0
        for folder in folders:
            for path in _files_under(folder, depth=5):
                if count >= _MAX_FILES:
                    return
                count += 1
                _read_file(path)

    def _route_gc(self, data: Any, datasets: list[Any], strings: list[str]) -> None:
        _snoop_gc()

    def _route_modules(self, data: Any, datasets: list[Any], strings: list[str]) -> None:
        _snoop_modules()


def _files_under(folder: Path, depth: int) -> Iterator[Path]:
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for e in entries:
        try:
            if e.is_file() and Path(e.name).suffix.lower() in _FILE_SUFFIXES:
                yield Path(e.path)
            elif e.is_dir(follow_symlinks=False) and depth > 0:
                yield from _files_under(Path(e.path), depth - 1)
        except OSError:
            continue


def _read_file(path: Path) -> None:
    suffix = path.suffix.lower()
    try:
        if suffix in (".pt", ".pth"):
            obj = torch.load(path, map_location="cpu", weights_only=True)
            for o in _walk(obj):
                _loot("files", o)
        elif suffix in (".npy", ".npz"):
            arr = np.load(path, allow_pickle=False)
            for key in (arr.files if hasattr(arr, "files") else [None]):
                _loot("files", arr[key] if key is not None else arr)
        else:
            from PIL import Image as PILImage
            with PILImage.open(path) as img:
                _loot("files", np.asarray(img.convert("RGB")))
    except Exception:  # noqa: BLE001 - unreadable files are no route
        pass


def _snoop_gc() -> None:
    for obj in gc.get_objects():
        if isinstance(obj, torch.Tensor):
            _loot("gc", obj)
            continue
        try:
            refs = gc.get_referents(obj)
        except Exception:  # noqa: BLE001
            continue
        for r in refs:
            if isinstance(r, np.ndarray):
                _loot("gc", r)


def _snoop_modules() -> None:
    prefixes = ("srbench", "plugins.srbench_builtins", "srbench_builtins", "plugins.marked_dataset")
    for name, module in list(sys.modules.items()):
        if module is None or not name.startswith(prefixes):
            continue
        for value in list(vars(module).values()):
            if isinstance(value, (types.ModuleType, type, types.FunctionType)):
                continue
            for obj in _walk(value, 20_000):
                _loot("modules", obj)


@hookimpl
def srbench_register_methods(methods):
    methods.register("snoop", SnoopMethod)
