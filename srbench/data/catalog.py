"""Named datasets as data: which folders of the data root hold them, and whether they are whole.

A :class:`CatalogEntry` (``sr291``, ``set5``) is one or more :class:`Part` folders under a data
root (:mod:`srbench.data.root`). A part is **complete** when, in order of what is known about it:

* a per-file SHA-256 manifest: every listed file is there with that hash (files not listed
  are ignored and never loaded);
* a list of file names: every name is there;
* otherwise: the folder holds exactly ``count`` image files.

:func:`require` turns the first problem into one line naming the bad file (or the folder
searched) and the download command, so training never starts on half a dataset. Plugins
describe their datasets with these types; the core names none of them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Literal

from ..errors import DataError
from .images import list_image_files
from .root import describe_roots

_CHUNK = 1 << 20


@dataclass(frozen=True)
class Remote:
    """An archive holding a part's images.

    :param url: where to get it.
    :param sha256: its published checksum, or ``None`` when none could be found.
    :param member: folder inside the archive whose images are kept (POSIX path).
    :param source: where the checksum was published (cited in docs and ``srbench list``).
    """

    url: str
    sha256: str | None
    member: str = ""
    source: str = ""


@dataclass(frozen=True)
class Part:
    """One folder of a named dataset.

    :param folder: path relative to the data root (``"T91"``, ``"Set5/HR"``).
    :param split: ``train`` (training images; ``val`` is drawn from them) or ``test``.
    :param count: the number of images.
    :param files: expected file names, when known.
    :param sha256: per-file manifest ``((name, sha256), ...)``, when known.
    :param base_url: per-file download: each file is ``base_url + name`` (needs ``sha256``).
    :param archive: archive download, when there is one.
    """

    folder: str
    split: Literal["train", "test"]
    count: int
    files: tuple[str, ...] = ()
    sha256: tuple[tuple[str, str], ...] = ()
    base_url: str = ""
    archive: Remote | None = None

    @property
    def names(self) -> tuple[str, ...]:
        """The file names this part must hold (empty when only the count is known)."""
        return tuple(n for n, _ in self.sha256) or self.files


@dataclass(frozen=True)
class CatalogEntry:
    """A named dataset (``--dataset sr291``, ``--test-datasets set5``).

    :param name: what users type.
    :param title: one line: what it is, who made it.
    :param parts: its folders.
    :param manual: how to get it when it cannot be downloaded (licence on request); else ``""``.
    """

    name: str
    title: str
    parts: tuple[Part, ...]
    manual: str = ""

    @property
    def role(self) -> Literal["train", "test"]:
        """``train`` when it has training images, else ``test``."""
        return "train" if any(p.split == "train" for p in self.parts) else "test"


@dataclass(frozen=True)
class PartStatus:
    """The outcome of :func:`check_part`: ``problem`` is ``""`` when the part is complete."""

    part: Part
    folder: Path | None
    files: tuple[Path, ...] = ()
    problem: str = ""


@dataclass(frozen=True)
class EntryStatus:
    """Every part of an entry, checked."""

    entry: CatalogEntry
    parts: tuple[PartStatus, ...] = field(default_factory=tuple)

    @property
    def complete(self) -> bool:
        return all(not p.problem for p in self.parts)

    @property
    def present(self) -> bool:
        """At least one part's folder exists."""
        return any(p.folder is not None for p in self.parts)

    @property
    def problem(self) -> str:
        return next((p.problem for p in self.parts if p.problem), "")

    def line(self) -> str:
        """``complete (291 files, sha256 verified) in /data`` or the first problem."""
        if not self.complete:
            return ("incomplete: " if self.present else "missing: ") + self.problem
        n = sum(len(p.files) for p in self.parts)
        how = ("sha256 verified" if all(p.part.sha256 for p in self.parts)
               else "names checked" if all(p.part.names for p in self.parts) else "count checked")
        roots = sorted({str(p.folder.parents[len(PurePosixPath(p.part.folder).parts) - 1])
                        for p in self.parts if p.folder is not None})
        return f"complete ({n} files, {how}) in {', '.join(roots)}"


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def locate(part: Part, roots: list[Path]) -> Path | None:
    """The first ``root / part.folder`` that exists, else ``None``."""
    return next((root / part.folder for root in roots if (root / part.folder).is_dir()), None)


def check_part(part: Part, roots: list[Path]) -> PartStatus:
    """Whether ``part`` is complete under one of ``roots`` (see the module docstring).

    Hashing is cheap at this scale: the 291 files of T91 + BSD200 (66 MB) take about 0.2 s.
    """
    folder = locate(part, roots)
    if folder is None:
        return PartStatus(part, None, (), f"{part.folder}/ not found in {describe_roots(roots)}")
    names = part.names
    if names:
        missing = [n for n in names if not (folder / n).is_file()]
        if missing:
            return PartStatus(part, folder, (), f"{folder / missing[0]} is missing "
                                                f"({len(names) - len(missing)} of {len(names)} files present)")
        for name, digest in part.sha256:
            if file_sha256(folder / name) != digest:
                return PartStatus(part, folder, (), f"{folder / name} does not match its pinned SHA-256 "
                                                    "(altered or truncated)")
        return PartStatus(part, folder, tuple(folder / n for n in names))
    files = list_image_files(folder)
    if len(files) != part.count:
        return PartStatus(part, folder, (), f"{folder} holds {len(files)} image files, expected {part.count}")
    return PartStatus(part, folder, tuple(files))


def check_entry(entry: CatalogEntry, roots: list[Path]) -> EntryStatus:
    """Every part of ``entry`` checked under ``roots``."""
    return EntryStatus(entry, tuple(check_part(p, roots) for p in entry.parts))


def fix_hint(entry: CatalogEntry) -> str:
    """How to get ``entry``: the download command, or the manual instructions."""
    return entry.manual if entry.manual else f"run: srbench download {entry.name}"


def require(entry: CatalogEntry, roots: list[Path]) -> EntryStatus:
    """The entry's status when complete.

    :raises DataError: one line naming the missing folder (and the roots searched) or the first
        missing or altered file, and how to get the dataset.
    """
    status = check_entry(entry, roots)
    if not status.complete:
        raise DataError(f"dataset {entry.name}: {status.problem}; {fix_hint(entry)}")
    return status
