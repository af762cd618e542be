"""``folder:PATH``: the image files of a folder (PNG, JPEG, BMP, TIFF, WebP; searched recursively).

Split:

* When ``PATH`` has a ``train/`` or ``test/`` subfolder, those are the splits (a missing one is
  empty; files outside them are ignored). ``download_dataset("DIV2K")`` builds this layout.
* Otherwise each file goes to test when ``sha256(relative path)`` falls in the lowest 20% of
  the hash range, so adding or removing a file never moves another one. With two or more
  images at least one is test (the lowest hash) and at least one is train (the highest). A
  folder with a single image is test-only: one image cannot be both, and a lone image is far
  more useful scored (``--test-datasets folder:x``) than trained on.

Of the training images, 10% (at least 1 of 2 or more) are held out as ``val`` by pixel hash
(:func:`srbench.data.split.split_train_val`): renaming or re-encoding a file does not move it.

``images("all")`` is every image. Ids are paths relative to the split folder without extension
(``"img"``, ``"sub/img"``); two files that would share an id (``a.png`` and ``a.jpg``) keep
their extension. Files are decoded on first use and cached by the instance.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from srbench.data.images import IMAGE_EXTENSIONS, list_image_files, load_image
from srbench.data.split import split_train_val
from srbench.errors import DataError, UsageError
from srbench.interfaces import Dataset, Image, Split

#: Fraction of the hash range that goes to test when the folder has no train/test layout.
TEST_FRACTION = 0.2
_ACCEPTED = ", ".join(sorted(IMAGE_EXTENSIONS))


def _hash_unit(rel_path: str) -> float:
    """A number in [0, 1) that depends only on the relative path."""
    digest = hashlib.sha256(f"srbench-folder-split\0{rel_path}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0 ** 64


def _assign_ids(entries: list[tuple[Path, str, str]]) -> list[tuple[Path, str]]:
    """``(path, short_id, long_id)`` -> ``(path, id)``: the short id unless two files share it."""
    counts: dict[str, int] = {}
    for _, short, _ in entries:
        counts[short] = counts.get(short, 0) + 1
    return [(path, short if counts[short] == 1 else long) for path, short, long in entries]


def hash_split(rel_paths: list[str], test_fraction: float = TEST_FRACTION) -> set[str]:
    """The relative paths that go to test (see the module docstring)."""
    if not rel_paths:
        return set()
    if len(rel_paths) == 1:
        return set(rel_paths)
    by_hash = sorted(rel_paths, key=_hash_unit)
    test = {p for p in rel_paths if _hash_unit(p) < test_fraction}
    if not test:
        test = {by_hash[0]}
    if len(test) == len(rel_paths):
        test.discard(by_hash[-1])
    return test


class FolderDataset(Dataset):
    """Images of a folder, split by ``train/``/``test/`` subfolders or by a hash of each path."""

    def __init__(self, path: Path, spec: str) -> None:
        self.name = spec
        self.root = path
        self._splits = self._index()
        self._cache: dict[Path, Image] = {}
        self._train_val: tuple[list[Image], list[Image]] | None = None

    def _index(self) -> dict[str, list[tuple[Path, str]]]:
        train_dir, test_dir = self.root / "train", self.root / "test"
        if train_dir.is_dir() or test_dir.is_dir():
            entries: list[tuple[Path, str, str]] = []
            split_of: dict[Path, str] = {}
            for split, folder in (("train", train_dir), ("test", test_dir)):
                if not folder.is_dir():
                    continue
                for f in list_image_files(folder):
                    rel = f.relative_to(folder)
                    entries.append((f, rel.with_suffix("").as_posix(), f"{split}/{rel.as_posix()}"))
                    split_of[f] = split
            layout = "train/ and test/ subfolders"
        else:
            files = list_image_files(self.root)
            rel = {f: f.relative_to(self.root).as_posix() for f in files}
            test = hash_split(list(rel.values()))
            entries = [(f, Path(rel[f]).with_suffix("").as_posix(), rel[f]) for f in files]
            split_of = {f: ("test" if rel[f] in test else "train") for f in files}
            layout = "folder"
        if not entries:
            raise DataError(f"dataset {self.name}: no image files in {layout} of {self.root}; accepted: {_ACCEPTED}")
        ids = _assign_ids(entries)
        splits: dict[str, list[tuple[Path, str]]] = {"train": [], "test": [], "all": []}
        for path, image_id in ids:
            splits[split_of[path]].append((path, image_id))
        splits["all"] = splits["train"] + splits["test"]
        return splits

    def _load(self, path: Path, image_id: str) -> Image:
        if path not in self._cache:
            self._cache[path] = load_image(path, image_id)
        return self._cache[path]

    def images(self, split: Split) -> list[Image]:
        if split in ("train", "val"):
            if self._train_val is None:
                self._train_val = split_train_val([self._load(p, i) for p, i in self._splits["train"]])
            return list(self._train_val[0 if split == "train" else 1])
        if split not in self._splits:
            raise UsageError(f"dataset split {split!r}: expected train, val, test or all")
        return [self._load(path, image_id) for path, image_id in self._splits[split]]

    def describe(self) -> str:
        return f"{self.name}: {len(self._splits['train'])} train + val, {len(self._splits['test'])} test images"


def create(argument: str | None) -> Dataset:
    """Image files of a folder: folder:PATH (train/ and test/ subfolders, or a fixed 80/20 hash split)."""
    if argument is None or not argument.strip():
        raise UsageError("dataset 'folder' needs a path: write folder:PATH (a folder of PNG/JPEG/BMP images)")
    path = Path(argument).expanduser()
    spec = f"folder:{argument}"
    if not path.exists():
        raise UsageError(f"dataset {spec}: folder {path} does not exist; expected a folder of images ({_ACCEPTED})")
    if not path.is_dir():
        raise UsageError(f"dataset {spec}: {path} is not a folder; expected a folder of images ({_ACCEPTED})")
    return FolderDataset(path, spec)
