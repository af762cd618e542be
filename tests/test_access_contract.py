"""The few-HR access contract: nothing reachable from TrainingData holds hidden HR pixels.

Hidden images (LR-only training images and test images) are marked with rows of pixels that
alternate between 17 and 239. Averaging 2x2 or 4x4 blocks (the degradation used here) can never
reproduce eight such alternating values in a row, so finding that run anywhere (in any tensor,
in the whole storage behind any view, in float or uint8 form) means hidden HR leaked.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from srbench.data.datasets import open_dataset
from srbench.data.pipeline import build_test_set, build_training_data
from srbench.data.split import split_by_hr_fraction
from srbench.interfaces import Degradation, Image
from srbench.plugin_manager import load_plugins
from srbench.training.profiles import PROFILES

LOW, HIGH = 17, 239
RUN = 8
PROFILE = PROFILES["smoke"].with_overrides(patch_size=24, patches_per_image=6)


class AvgPool(Degradation):
    def apply(self, hr: torch.Tensor, params: dict) -> torch.Tensor:
        return F.avg_pool2d(hr, self.scale)


def mark(img: Image) -> Image:
    """Copy of ``img`` with every 4th row (1, 5, 9, ...) replaced by the 17/239 alternation."""
    pixels = img.pixels.clone()
    pattern = torch.tensor([LOW, HIGH], dtype=torch.uint8).repeat((pixels.shape[2] + 1) // 2)[: pixels.shape[2]]
    pixels[:, 1::4, :] = pattern
    return Image(img.id, pixels)


def _has_run(flat: torch.Tensor, low: int = LOW, high: int = HIGH) -> bool:
    """True when ``flat`` (1-D) holds low, high, low, ... (RUN values) at stride 1 or 3."""
    if flat.is_floating_point():
        candidates = [flat.double(), flat.double() * 255.0]
    else:
        candidates = [flat.to(torch.int64)]
    for values in candidates:
        is_low, is_high = (values - low).abs() < 1e-3, (values - high).abs() < 1e-3
        if int(is_low.sum()) < RUN // 2 or int(is_high.sum()) < RUN // 2:  # too few marker values for a run
            continue
        for stride in (1, 3):  # rows contiguous, or channel-interleaved (H, W, C) storage
            n = values.numel() - stride
            if n < RUN * stride:
                continue
            # alternation between i and i + stride, then RUN - 1 such links in a row
            link = (is_low[:n] & is_high[stride:]) | (is_high[:n] & is_low[stride:])
            run = link
            for j in range(1, RUN - 1):
                m = run.numel() - stride
                if m <= 0:
                    break
                run = run[:m] & link[j * stride: j * stride + m]
            else:
                if bool(run.any()):
                    return True
    return False


def holds_marker(t: Any, low: int = LOW, high: int = HIGH) -> bool:
    """Marker in the tensor (or numpy array) as seen, along its last two dims, or anywhere in its storage."""
    if isinstance(t, np.ndarray):
        if t.dtype.kind not in "uif":
            return False
        t = torch.from_numpy(np.ascontiguousarray(t).astype(np.float64 if t.dtype.kind == "f" else np.int64))
    if t.numel() == 0 or t.is_complex() or t.dtype == torch.bool or t.is_meta:
        return False
    t = t.detach().cpu()
    storage = torch.empty(0, dtype=t.dtype).set_(t.untyped_storage())
    views = [storage, t.reshape(-1)]
    if t.dim() >= 2:
        views.append(t.transpose(-1, -2).reshape(-1))
    return any(_has_run(v.reshape(-1), low, high) for v in views)


def reachable(root: Any) -> Iterator[Any]:
    """Every object reachable from ``root``: gc referents, attributes, closures, tensors' bases
    and grads, generators' states. Modules, classes and module globals are not followed (they
    are shared code, not data the object holds)."""
    from plugins.snooper import referents

    module_dicts = {id(vars(m)) for m in list(sys.modules.values()) if m is not None and hasattr(m, "__dict__")}
    seen: set[int] = set()
    keep: list[Any] = []  # keep synthesised objects (generator states) alive while walking
    stack = [root]
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        keep.append(obj)
        if isinstance(obj, (types.ModuleType, type)) or id(obj) in module_dicts:
            continue
        yield obj
        stack.extend(referents(obj))


def tensors_of(root: Any) -> list[torch.Tensor]:
    return [o for o in reachable(root) if isinstance(o, torch.Tensor)]


@pytest.fixture(scope="module")
def setting():
    """Synthetic images, 25% paired; LR-only and test images marked."""
    registries = load_plugins().registries
    ds = open_dataset("synthetic:12x72", registries)
    train = ds.images("train")
    manifest = split_by_hr_fraction([i.id for i in train], 0.25, seed=5)
    hidden = set(manifest.lr_only_ids)
    train = [mark(i) if i.id in hidden else i for i in train]
    test = [mark(i) for i in ds.images("test")]
    return train, test, manifest


def test_marker_detector_works(setting) -> None:
    train, test, manifest = setting
    marked = [i for i in train if i.id in manifest.lr_only_ids]
    assert marked and all(holds_marker(i.pixels) for i in marked + test)
    # Detected after cropping, in float, transposed, channels-last, and through a view's storage.
    patch = marked[0].pixels[:, 8:32, 8:32].contiguous()
    assert holds_marker(patch) and holds_marker(patch.float() / 255)
    assert holds_marker(patch.transpose(-1, -2).contiguous())
    assert holds_marker(patch.permute(1, 2, 0).contiguous())
    assert holds_marker(marked[0].pixels[:, ::4, :][:, 2:3, :5])  # tiny view, big storage
    assert holds_marker(torch.stack([patch] * 2)[0])
    # Unmarked and degraded images are clean.
    assert not any(holds_marker(i.pixels) for i in train if i.id in manifest.paired_ids)
    assert not holds_marker(F.avg_pool2d(marked[0].pixels[None].float() / 255, 4))
    # The walker finds a tensor hidden in a closure inside a dataclass field.
    secret = marked[0].pixels.clone()
    holder = types.SimpleNamespace(fn=lambda: secret)
    assert any(holds_marker(t) for t in tensors_of(holder))


@pytest.mark.parametrize("hr_source", ["paired", "none", "list"])
def test_no_hidden_hr_reachable_from_training_data(setting, hr_source: str, tmp_path: Path) -> None:
    train, test, manifest = setting
    source: Any = hr_source
    if hr_source == "list":  # HR from another dataset is allowed; unmarked
        source = [Image(f"other/{i.id}", i.pixels) for i in open_dataset("synthetic:3x48", load_plugins().registries)
                  .images("all")]
    for attempt in ("fresh", "cached"):
        data, got = build_training_data(train, degradation=AvgPool(4), hr_fraction=0.25, seed=5, profile=PROFILE,
                                        hr_source=source, cache_dir=tmp_path)
        assert got == manifest
        tensors = tensors_of(data)
        # The walk reached the data (not vacuous): the paired HR patches and every LR image.
        assert any(t is data.paired.tensors["hr"] for t in tensors)
        assert all(any(t is lr for t in tensors) for lr in data.lr_only.images["lr"])
        leaks = [tuple(t.shape) for t in tensors if holds_marker(t)]
        assert leaks == [], f"{attempt}: hidden HR reachable from TrainingData in tensors of shapes {leaks}"
        assert len(list(tmp_path.glob("*.pt"))) == 1
    # The cache file holds no hidden HR either.
    (cache,) = tmp_path.glob("*.pt")
    payload = torch.load(cache, weights_only=True)
    assert not [t for t in tensors_of(payload) if holds_marker(t)]


def test_test_images_never_reach_training_data(setting) -> None:
    train, test, _ = setting
    data, _ = build_training_data(train, degradation=AvgPool(4), hr_fraction=0.25, seed=5, profile=PROFILE)
    test_set = build_test_set(test, degradation=AvgPool(4), seed=0)
    assert all(holds_marker(t.hr) for t in test_set)  # the test HR exists...
    assert not any(holds_marker(t) for t in tensors_of(data))  # ...but not in the training data
    test_ids = {t.id for t in test_set}
    assert test_ids.isdisjoint(data.paired.ids) and test_ids.isdisjoint(data.lr_only.ids)
    assert set(data.lr_only.ids).isdisjoint(i.id for i in train)  # LR-only ids are opaque


def test_malicious_method_finds_no_hr_in_lr_only(setting) -> None:
    train, _, manifest = setting
    data, _ = build_training_data(train, degradation=AvgPool(4), hr_fraction=0.25, seed=5, profile=PROFILE)
    lr_only = data.lr_only
    assert set(lr_only.tensors) == {"lr"} and set(lr_only.images) == {"lr"}
    assert not any("hr" in name.lower() for name in vars(lr_only))
    assert set(data.paired.ids) == set(manifest.paired_ids)
    assert len(set(lr_only.ids)) == len(manifest.lr_only_ids) and not set(lr_only.ids) & set(manifest.lr_only_ids)
    assert set(data.hr_pool.ids) <= set(manifest.paired_ids)
    assert len(data.paired.images["hr"]) == len(manifest.paired_ids)
    # Every HR tensor a method can get at is exactly a paired image or a crop of one.
    paired_hr = data.paired.images["hr"]
    for k, patch in enumerate(data.hr_pool.tensors["hr"]):
        source = paired_hr[data.paired.image_ids.index(data.hr_pool.ids[k])]
        win = source.unfold(1, patch.shape[1], 1).unfold(2, patch.shape[2], 1)
        assert (win == patch[:, None, None]).flatten(3).all(-1).all(0).any()
    # Drawing batches for a long time never yields hidden HR.
    for _ in range(20):
        assert not holds_marker(data.hr_pool.batch(8) * 255)
        assert not holds_marker(data.all_lr(8) * 255)


# -- a method that tries every route (tests/plugins/snooper.py) -------------------------------------

def _run_snoop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dataset: str, routes: str,
               snoop_seed: int = 1) -> tuple[Any, int]:
    """``srbench run`` of toy and snoop (seeds 0 to ``snoop_seed``, snooping at the last) from a fresh
    working folder, as a user would type it; returns the snooper module and the exit status."""
    from srbench.cli.main import main

    import plugins.snooper as snooper

    snooper.LOOT.clear()
    for v in snooper.SEEN.values():
        v.clear()
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    argv = ["run", "--plugin", "plugins.toy_method", "--plugin", "plugins.snooper", "--plugin", "plugins.marked_dataset",
            "--methods", "toy,snoop", "--dataset", dataset, "--hr-fraction", "0.25", "--seeds", str(snoop_seed + 1),
            "--profile", "smoke", "--metrics", "psnr_y", "--out", str(work / "out"), "--no-progress",
            "--set", f"snoop.only_seed={snoop_seed}", "--set", f"snoop.routes={routes}"]
    monkeypatch.setattr(sys, "argv", ["srbench", *argv])
    monkeypatch.setenv("SRBENCH_OUT_HINT", str(work / "out"))  # a route through the environment
    code = main(argv)
    return snooper, code


def _leaks(snooper: Any) -> dict[str, int]:
    from plugins.marked_dataset import HIGH as M_HIGH
    from plugins.marked_dataset import LOW as M_LOW

    leaks: dict[str, int] = {}
    for route, obj in snooper.LOOT:
        # Every hidden image of the marked dataset together is 0.2 M values; bigger arrays are other
        # datasets' photos (the registries route opens every dataset it can), not worth minutes to scan.
        size = obj.size if isinstance(obj, np.ndarray) else obj.numel()
        if size <= 2_000_000 and holds_marker(obj, M_LOW, M_HIGH):
            leaks[route] = leaks.get(route, 0) + 1
    return leaks


def test_snooping_method_finds_no_hidden_hr(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every route of tests/plugins/snooper.py, tried in setup and during training of the second seed's
    trial (after the first seed's trials trained and were scored), yields no HR pixel of an LR-only
    training image (of that seed's split) or of a test image."""
    from plugins.marked_dataset import N_TRAIN

    snooper, code = _run_snoop(tmp_path, monkeypatch, "marked:0.25/1", ",".join(
        ["registries", "ids", "attributes", "files", "gc", "modules"]))
    assert code == 0
    routes = {r.split(":")[1] for r in snooper.SEEN["routes_run"]}
    assert routes == {"registries", "ids", "attributes", "files", "gc", "modules"}
    # Not vacuous: the snooper saw the LR-only patches and the paired HR it may see, and the output folder.
    assert len(set(snooper.SEEN["lr_only_ids"])) == N_TRAIN - 3
    assert any(r == "attributes" for r, _ in snooper.LOOT) and any(r == "gc" for r, _ in snooper.LOOT)
    assert any(Path(p) == (tmp_path / "work" / "out").resolve() for p in snooper.SEEN["paths"])
    # The precondition of the cross-trial check: seed 0's paired images are not all paired at seed 1.
    s0 = split_by_hr_fraction([f"tile{i:02d}" for i in range(N_TRAIN)], 0.25, 0)
    s1 = split_by_hr_fraction([f"tile{i:02d}" for i in range(N_TRAIN)], 0.25, 1)
    assert set(s0.paired_ids) - set(s1.paired_ids)
    leaks = _leaks(snooper)
    assert leaks == {}, f"routes that yielded hidden HR (route: tensors found): {leaks}"
    assert not {f"tile{i:02d}" for i in range(N_TRAIN)} & set(snooper.SEEN["lr_only_ids"]), "LR-only ids name images"
    # No output or trial path is reachable from the context or the data.
    assert not [s for s in snooper.SEEN["strings"] if str(tmp_path) in s or "out" in Path(s).parts]
    # The reference samples of the test HR exist once the run is over.
    assert list((tmp_path / "work" / "out" / "samples").rglob("*.hr.png"))


def _marked_for_folder(fraction: float, seed: int) -> list[Any]:
    """The marked dataset's training images, marked for ``folder:``. There the validation split is
    held out of train/ by pixel hash before the few-HR split is drawn, so the hidden images are the
    val ones and the LR-only ones of what is left; marking changes the hashes, so the paired set is
    found by trying each small one: every image but the paired ones is marked, and the split of
    what the folder keeps must pair exactly those."""
    from itertools import combinations

    from plugins.marked_dataset import N_TRAIN, _smooth, mark

    from srbench.data.split import split_by_hr_fraction, split_train_val
    from srbench.interfaces import Image

    plain = {f"tile{i:02d}": _smooth(i, 72) for i in range(N_TRAIN)}
    for size in range(1, N_TRAIN // 2):
        for paired in combinations(plain, size):
            marked = [Image(i, p if i in paired else mark(p)) for i, p in plain.items()]
            kept, _ = split_train_val(marked)
            if set(split_by_hr_fraction([i.id for i in kept], fraction, seed).paired_ids) == set(paired):
                return marked
    pytest.fail("no paired set is consistent with the folder's validation split")


def test_snooping_method_finds_no_hidden_hr_of_a_folder_dataset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same with ``folder:PATH`` (which caches decoded files), through the routes srbench can
    close: what it hands over and what it keeps alive. Reading the files of a folder named on the
    command line is open to any Python code (docs/writing_a_plugin.md says so), so not tried here."""
    from PIL import Image as PILImage

    from plugins.marked_dataset import MarkedDataset

    ds = MarkedDataset(0.25, 1)
    # Seed 2: at seed 1 no paired set is consistent with this folder's validation split (see the helper).
    images = {"train": _marked_for_folder(0.25, 2), "test": ds.images("test")}
    for split, split_images in images.items():
        (tmp_path / "data" / split).mkdir(parents=True)
        for img in split_images:
            PILImage.fromarray(img.pixels.permute(1, 2, 0).numpy()).save(tmp_path / "data" / split / f"{img.id}.png")
    del ds, img, images, split_images
    snooper, code = _run_snoop(tmp_path, monkeypatch, f"folder:{tmp_path / 'data'}", "registries,ids,attributes,gc,modules",
                               snoop_seed=2)
    assert code == 0
    assert any(r == "gc" for r, _ in snooper.LOOT)
    assert not [s for s in snooper.SEEN["strings"] if str(tmp_path) in s], "a data or output path reached the method"
    leaks = _leaks(snooper)
    assert leaks == {}, f"routes that yielded hidden HR (route: tensors found): {leaks}"
