"""Fetching standard SR datasets, for users with internet access.

``download_dataset("Set5", "~/data")`` returns ``~/data/Set5``, a folder of HR images usable
as ``folder:~/data/Set5``; ``"DIV2K"`` gives ``~/data/DIV2K`` with ``train/`` (800 images) and
``test/`` (the 100 validation images), which the ``folder`` dataset uses as its split.

Checksums: no sha256 in :data:`SOURCES` is filled in, because none could be verified here
(this code was written offline). On download the sha256 of each archive is computed and
printed; pass ``sha256=`` to pin it, after which a mismatch raises :class:`DataError` and the
file is removed. Archives are kept in ``ROOT/.downloads`` so that the four test sets, which
share one archive, download it once. Extraction refuses absolute paths and ``..`` (path
traversal) and skips links and device files.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import shutil
import sys
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable, Iterator

from ..errors import DataError, UsageError
from .images import list_image_files

_CHUNK = 1 << 20  # 1 MiB per read keeps the progress bar lively on slow links
DOWNLOADS_DIR = ".downloads"


@dataclass(frozen=True)
class ArchivePart:
    """One archive of a dataset.

    :param url: where to get it.
    :param sha256: expected checksum, or ``None`` when unknown (computed and printed instead).
    :param member: folder inside the archive whose contents are kept (POSIX path); ``""`` keeps
        the whole archive, minus a single top-level folder if there is one.
    :param dest: sub-folder of the dataset folder to put them in (``""`` = the folder itself).
    """

    url: str
    sha256: str | None
    member: str = ""
    dest: str = ""


@dataclass(frozen=True)
class DatasetSource:
    """A downloadable dataset: its archives and a one-line description."""

    name: str
    parts: tuple[ArchivePart, ...]
    doc: str


# The EDSR authors' benchmark archive (about 250 MB) holds Set5, Set14, B100 and Urban100 as
# benchmark/<Name>/HR/*.png (plus MATLAB-bicubic LR that srbench does not use).
_EDSR_BENCHMARK = "https://cv.snu.ac.kr/research/EDSR/benchmark.tar"
_DIV2K = "http://data.vision.ee.ethz.ch/cvl/DIV2K/"

SOURCES: dict[str, DatasetSource] = {
    "DIV2K": DatasetSource("DIV2K", (
        ArchivePart(_DIV2K + "DIV2K_train_HR.zip", None, "DIV2K_train_HR", "train"),
        ArchivePart(_DIV2K + "DIV2K_valid_HR.zip", None, "DIV2K_valid_HR", "test"),
    ), "DIV2K HR (Agustsson & Timofte 2017): 800 train + 100 validation 2K images, about 3.5 GB"),
    "Set5": DatasetSource("Set5", (ArchivePart(_EDSR_BENCHMARK, None, "benchmark/Set5/HR"),),
                          "Set5 (Bevilacqua et al. 2012): 5 test images, from the EDSR benchmark archive"),
    "Set14": DatasetSource("Set14", (ArchivePart(_EDSR_BENCHMARK, None, "benchmark/Set14/HR"),),
                           "Set14 (Zeyde et al. 2010): 14 test images, from the EDSR benchmark archive"),
    "BSD100": DatasetSource("BSD100", (ArchivePart(_EDSR_BENCHMARK, None, "benchmark/B100/HR"),),
                            "BSD100 (Martin et al. 2001): 100 test images, from the EDSR benchmark archive"),
    "Urban100": DatasetSource("Urban100", (ArchivePart(_EDSR_BENCHMARK, None, "benchmark/Urban100/HR"),),
                              "Urban100 (Huang et al. 2015): 100 test images, from the EDSR benchmark archive"),
}


def _log(message: str) -> None:
    print(f"srbench: {message}", file=sys.stderr)


def _resolve_source(name: str, url: str | None, sha256: str | None) -> DatasetSource:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name or ""):
        raise UsageError(f"dataset name {name!r}: use letters, digits, '-', '_' or '.' (it becomes a folder name)")
    known = {k.lower(): v for k, v in SOURCES.items()}
    source = known.get(name.lower())
    if source is None:
        if url is None:
            raise UsageError(f"unknown dataset {name!r} to download; known: {', '.join(SOURCES)} "
                             "(or pass url= for another archive)")
        return DatasetSource(name, (ArchivePart(url, sha256),), "custom archive")
    if url is None and sha256 is None:
        return source
    if len(source.parts) != 1:
        raise UsageError(f"dataset {source.name!r} has {len(source.parts)} archives; url=/sha256= only "
                         "override single-archive datasets")
    part = source.parts[0]
    return DatasetSource(source.name, (ArchivePart(url or part.url, sha256 if url or sha256 else part.sha256,
                                                   part.member, part.dest),), source.doc)


def download_dataset(name: str, root: str | Path, *, url: str | None = None, sha256: str | None = None,
                     progress: bool = True) -> Path:
    """Download and extract a dataset into ``root/name``; return that folder.

    :param name: a key of :data:`SOURCES` (``DIV2K``, ``Set5``, ``Set14``, ``BSD100``,
        ``Urban100``, case-insensitive) or any folder name together with ``url``.
    :param root: where datasets live; created if missing.
    :param url: another location of the archive (``file://`` URLs work); with an unknown
        ``name`` the whole archive is extracted (minus a single top-level folder).
    :param sha256: the expected checksum of the archive. When ``None`` and the table has none,
        the checksum is computed and printed, not checked.
    :param progress: show a progress bar (tqdm) on stderr.
    :returns: the dataset folder, for ``folder:PATH``. A folder that already holds images is
        returned as is, without downloading.
    :raises DataError: network failure, checksum mismatch (both hashes named, file removed),
        unreadable archive, unsafe member path, or a missing folder inside the archive.
    """
    source = _resolve_source(name, url, sha256)
    root = Path(root).expanduser()
    target = root / source.name
    if target.is_dir() and list_image_files(target):
        _log(f"{source.name} is already in {target}")
        return target
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise DataError(f"{target} exists and holds no images; remove it or choose another root")
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{source.name}.", dir=root))
    try:
        for part in source.parts:
            archive = _fetch(part, root / DOWNLOADS_DIR, source.name, progress)
            _install(archive, part, staging / part.dest if part.dest else staging, root)
        if not list_image_files(staging):
            raise DataError(f"the archive(s) of {source.name} contain no image files")
        if target.exists():
            target.rmdir()  # empty, checked above
        os.replace(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    _log(f"{source.name}: {len(list_image_files(target))} images in {target} (use folder:{target})")
    return target


# -- download ---------------------------------------------------------------------------------

def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def _archive_name(url: str) -> str:
    base = PurePosixPath(urllib.parse.unquote(urllib.parse.urlsplit(url).path)).name
    return re.sub(r"[^A-Za-z0-9_.-]", "_", base) or "archive"


def _fetch(part: ArchivePart, folder: Path, label: str, progress: bool) -> Path:
    """The archive of ``part`` in ``folder``, downloaded unless a verified copy is there."""
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(part.url.encode()).hexdigest()[:8]  # two URLs, same file name
    path = folder / f"{digest}-{_archive_name(part.url)}"
    if path.is_file() and (part.sha256 is None or _file_sha256(path) == part.sha256.lower()):
        return path
    partial = path.with_name(path.name + ".part")
    try:
        got = _stream(part.url, partial, f"{label} {_archive_name(part.url)}", progress)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    if part.sha256 is not None and got != part.sha256.lower():
        partial.unlink(missing_ok=True)
        raise DataError(f"checksum mismatch for {part.url}: expected sha256 {part.sha256.lower()}, got {got}; "
                        "the download was removed")
    if part.sha256 is None:
        _log(f"sha256 of {part.url}: {got} (no known checksum to verify; pass sha256= to pin it)")
    os.replace(partial, path)
    return path


def _stream(url: str, dest: Path, label: str, progress: bool) -> str:
    from tqdm import tqdm

    h = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(dest, "wb") as out:
            total = response.headers.get("Content-Length")
            with tqdm(total=int(total) if total and total.isdigit() else None, unit="B", unit_scale=True,
                      unit_divisor=1024, desc=label, disable=not progress, file=sys.stderr) as bar:
                for chunk in iter(lambda: response.read(_CHUNK), b""):
                    out.write(chunk)
                    h.update(chunk)
                    bar.update(len(chunk))
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise DataError(f"cannot download {url}: {reason}") from None
    return h.hexdigest()


# -- extraction -------------------------------------------------------------------------------

def _safe_relative(name: str, archive: Path) -> PurePosixPath | None:
    """The member path as a safe relative path; ``None`` for the archive root entry.

    :raises DataError: for absolute paths, drive letters or ``..`` components.
    """
    posix = name.replace("\\", "/")
    if posix.startswith("/") or re.match(r"^[A-Za-z]:", posix):
        raise DataError(f"unsafe path {name!r} in archive {archive.name} (absolute); refusing to extract it")
    parts = [p for p in posix.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise DataError(f"unsafe path {name!r} in archive {archive.name} (leaves the folder); refusing to extract it")
    return PurePosixPath(*parts) if parts else None


def _members(archive: Path) -> Iterator[tuple[PurePosixPath, bool, Callable[[], "object"] | None]]:
    """``(path, is_dir, open_fn)`` for each safe regular file or folder of a zip or tar."""
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                rel = _safe_relative(info.filename, archive)
                mode = (info.external_attr >> 16) & 0o170000
                if rel is None or mode not in (0, 0o100000, 0o040000):  # skip links, devices
                    continue
                yield rel, info.is_dir(), (None if info.is_dir() else functools.partial(zf.open, info))
        return
    if tarfile.is_tarfile(archive):
        with tarfile.open(archive, "r:*") as tf:
            for member in tf:
                rel = _safe_relative(member.name, archive)
                if rel is None or not (member.isfile() or member.isdir()):
                    continue
                yield rel, member.isdir(), (None if member.isdir() else functools.partial(tf.extractfile, member))
        return
    raise DataError(f"{archive} is not a zip or tar archive; the download may be an error page or truncated")


def _install(archive: Path, part: ArchivePart, dest: Path, root: Path) -> None:
    """Extract the ``part.member`` folder of ``archive`` into ``dest``."""
    member = PurePosixPath(*[p for p in part.member.split("/") if p]) if part.member else None
    scratch = Path(tempfile.mkdtemp(prefix=".extract.", dir=root))
    try:
        extracted_any = False
        for rel, is_dir, opener in _members(archive):
            if member is not None and member not in rel.parents:
                continue
            out = scratch.joinpath(*rel.parts)
            if is_dir:
                out.mkdir(parents=True, exist_ok=True)
                continue
            out.parent.mkdir(parents=True, exist_ok=True)
            with opener() as src, open(out, "wb") as dst:  # type: ignore[misc, union-attr]
                shutil.copyfileobj(src, dst, _CHUNK)
            extracted_any = True
        if member is not None:
            top = scratch.joinpath(*member.parts)
            if not extracted_any or not top.is_dir():
                raise DataError(f"archive {archive.name} has no folder {part.member!r}; it may not be the "
                                f"expected file (url {part.url})")
        else:
            entries = [p for p in scratch.iterdir()]
            top = entries[0] if len(entries) == 1 and entries[0].is_dir() else scratch
        dest.parent.mkdir(parents=True, exist_ok=True)
        if dest.exists():
            for item in top.iterdir():
                os.replace(item, dest / item.name)
        else:
            os.replace(top, dest)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
