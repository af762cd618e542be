"""Fetching datasets through pooch: named catalog entries and custom archives.

* :func:`download_entry` fetches a named dataset (:class:`~srbench.data.catalog.CatalogEntry`)
  into a data root: per-file downloads checked against the entry's per-file SHA-256 manifest,
  or archives checked against a published SHA-256. An archive with no published checksum is
  refused unless the caller pins one (``sha256=``) or accepts an unverified download
  (``unverified=True``, its SHA-256 is then printed so that it can be pinned next time).
* :func:`download_dataset` fetches any archive (``url=``) into ``ROOT/NAME``, usable as
  ``folder:ROOT/NAME``; the same checksum rule applies.

Fetching and checksum verification are pooch's (``pooch.retrieve``); a mismatch removes the
download. Archives are kept in ``ROOT/.downloads`` so that the test sets, which share one
archive, download it once. Extraction refuses absolute paths and ``..`` (path traversal) and
skips links and device files. ``file://`` URLs work (mirrors, tests).
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
import urllib.parse
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Iterator

from ..errors import DataError, UsageError
from .catalog import CatalogEntry, Part, check_part, file_sha256, fix_hint
from .images import list_image_files

_CHUNK = 1 << 20
DOWNLOADS_DIR = ".downloads"


@dataclass(frozen=True)
class ArchivePart:
    """One archive to extract.

    :param url: where to get it.
    :param sha256: expected checksum, or ``None`` when unknown.
    :param member: folder inside the archive whose contents are kept (POSIX path); ``""`` keeps
        the whole archive, minus a single top-level folder if there is one.
    """

    url: str
    sha256: str | None
    member: str = ""


def _log(message: str) -> None:
    print(f"srbench: {message}", file=sys.stderr)


def _check_hex(sha256: str | None) -> str | None:
    if sha256 is None:
        return None
    value = sha256.strip().lower()
    if not re.fullmatch(r"[0-9a-f]{64}", value):
        raise UsageError(f"--sha256 {sha256!r}: expected 64 hexadecimal digits")
    return value


def _refuse_unpinned(what: str, url: str) -> UsageError:
    return UsageError(f"{what}: no published SHA-256 of {url} is known to srbench; pass --sha256 HEX to pin "
                      "one you trust, or --unverified to download it unchecked (its SHA-256 is printed)")


# -- pooch ------------------------------------------------------------------------------------

def _copy_file_url(url: str, output_file: Any, pooch_obj: Any = None, check_only: bool = False) -> Any:
    """A pooch downloader for ``file://`` URLs (pooch knows http, ftp, sftp and doi)."""
    source = Path(urllib.request.url2pathname(urllib.parse.urlsplit(url).path))
    if check_only:
        return source.is_file()
    with open(source, "rb") as src:
        if hasattr(output_file, "write"):
            shutil.copyfileobj(src, output_file, _CHUNK)
        else:
            with open(output_file, "wb") as dst:
                shutil.copyfileobj(src, dst, _CHUNK)
    return None


def fetch(url: str, sha256: str | None, folder: Path, fname: str, *, progress: bool = False) -> Path:
    """``folder/fname``, downloaded by pooch unless a copy with the right hash is there.

    :param sha256: the expected checksum; ``None`` accepts any content and prints its SHA-256.
    :raises DataError: network failure or checksum mismatch (both hashes named; file removed).
    """
    import pooch

    pooch.get_logger().setLevel("WARNING")  # srbench prints its own one-line messages
    folder.mkdir(parents=True, exist_ok=True)
    downloader = _copy_file_url if url.startswith("file:") else None
    try:
        path = Path(pooch.retrieve(url, known_hash=f"sha256:{sha256}" if sha256 else None, fname=fname,
                                   path=folder, progressbar=progress, downloader=downloader))
    except ValueError as exc:
        match = re.search(r"expected (?:sha256:)?(\w+) but got (\w+)", str(exc))
        got = f"expected sha256 {match.group(1)}, got {match.group(2)}" if match else str(exc).splitlines()[0]
        raise DataError(f"checksum mismatch for {url}: {got}; the download was removed") from None
    except Exception as exc:  # noqa: BLE001 - requests, ftplib and OSError errors all mean "cannot download"
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"cannot download {url}: {reason}") from None
    if sha256 is None:
        _log(f"sha256 of {url}: {file_sha256(path)} (unverified; pass --sha256 to pin it)")
    return path


def _archive_name(url: str) -> str:
    base = PurePosixPath(urllib.parse.unquote(urllib.parse.urlsplit(url).path)).name
    digest = hashlib.sha256(url.encode()).hexdigest()[:8]  # two URLs, same file name
    return f"{digest}-{re.sub(r'[^A-Za-z0-9_.-]', '_', base) or 'archive'}"


# -- named datasets ----------------------------------------------------------------------------

def _fetch_part(entry: CatalogEntry, part: Part, root: Path, sha256: str | None, unverified: bool,
                progress: bool) -> None:
    target = root / part.folder
    if part.sha256 and part.base_url:
        from tqdm import tqdm

        for name, digest in tqdm(part.sha256, desc=f"{entry.name} {part.folder}", unit="file",
                                 disable=not progress, file=sys.stderr):
            fetch(part.base_url + urllib.parse.quote(name), digest, target, name)
        return
    if part.archive is None:
        raise UsageError(f"dataset {entry.name} cannot be downloaded: {fix_hint(entry)}")
    expected = part.archive.sha256 or sha256
    if expected is None and not unverified:
        raise _refuse_unpinned(f"dataset {entry.name}", part.archive.url)
    archive = fetch(part.archive.url, expected, root / DOWNLOADS_DIR, _archive_name(part.archive.url),
                    progress=progress)
    _install(archive, ArchivePart(part.archive.url, expected, part.archive.member), target, root)


def download_entry(entry: CatalogEntry, root: str | Path, *, sha256: str | None = None, unverified: bool = False,
                   progress: bool = True) -> Path:
    """Fetch every incomplete part of ``entry`` into ``root``; return ``root``.

    :param sha256: pins the archive of an entry whose archive has no published checksum.
    :param unverified: accept such an archive unchecked (its SHA-256 is printed).
    :raises UsageError: an unpinned archive without ``sha256``/``unverified``; a dataset that is
        only distributed on request; ``sha256`` for an entry that needs none.
    :raises DataError: network failure, checksum mismatch, an archive without the expected
        folder, or a part still incomplete afterwards (naming the bad file).
    """
    sha256 = _check_hex(sha256)
    unpinned = {p.archive.url for p in entry.parts if p.archive is not None and p.archive.sha256 is None
                and not (p.sha256 and p.base_url)}
    if sha256 is not None and len(unpinned) != 1:
        raise UsageError(f"--sha256: dataset {entry.name} has "
                         + ("no unpinned archive; its checksums are built in" if not unpinned
                            else f"{len(unpinned)} unpinned archives; download them one by one"))
    root = Path(root).expanduser()
    for part in entry.parts:
        if not check_part(part, [root]).problem:
            _log(f"{entry.name}: {root / part.folder} is already complete")
            continue
        _fetch_part(entry, part, root, sha256, unverified, progress)
        problem = check_part(part, [root]).problem
        if problem:
            raise DataError(f"dataset {entry.name}: after download, {problem}")
    return root


# -- custom archives ----------------------------------------------------------------------------

def download_dataset(name: str, root: str | Path, *, url: str, sha256: str | None = None, unverified: bool = False,
                     progress: bool = True) -> Path:
    """Download the archive at ``url`` and extract it into ``root/name``; return that folder.

    :param name: the folder name (letters, digits, ``-``, ``_``, ``.``).
    :param url: the archive (``file://`` URLs work); a single top-level folder is stripped.
    :param sha256: its expected checksum; without it the download is refused unless ``unverified``.
    :returns: the dataset folder, for ``folder:PATH``. A folder that already holds images is
        returned as is, without downloading.
    :raises UsageError: a bad name or checksum, or no checksum and not ``unverified``.
    :raises DataError: network failure, checksum mismatch (both hashes named, file removed),
        unreadable archive, unsafe member path.
    """
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name or ""):
        raise UsageError(f"dataset name {name!r}: use letters, digits, '-', '_' or '.' (it becomes a folder name)")
    sha256 = _check_hex(sha256)
    if sha256 is None and not unverified:
        raise _refuse_unpinned(f"archive for {name}", url)
    root = Path(root).expanduser()
    target = root / name
    if target.is_dir() and list_image_files(target):
        _log(f"{name} is already in {target}")
        return target
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise DataError(f"{target} exists and holds no images; remove it or choose another root")
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=root))
    try:
        archive = fetch(url, sha256, root / DOWNLOADS_DIR, _archive_name(url), progress=progress)
        _install(archive, ArchivePart(url, sha256), staging, root)
        if not list_image_files(staging):
            raise DataError(f"the archive of {name} contains no image files")
        if target.exists():
            target.rmdir()  # empty, checked above
        os.replace(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    _log(f"{name}: {len(list_image_files(target))} images in {target} (use folder:{target})")
    return target


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


def _below(rel: PurePosixPath, member: tuple[str, ...]) -> PurePosixPath | None:
    """``rel`` below the first run of folders equal to ``member`` (``a/General100/x.png`` ->
    ``x.png`` for ``General100``): archives differ in what they wrap their folders in."""
    k = len(member)
    for i in range(len(rel.parts) - k):
        if rel.parts[i:i + k] == member:
            return PurePosixPath(*rel.parts[i + k:])
    return None


def _install(archive: Path, part: ArchivePart, dest: Path, root: Path) -> None:
    """Extract the ``part.member`` folder of ``archive`` (wherever it sits) into ``dest``."""
    member = tuple(p for p in part.member.split("/") if p)
    scratch = Path(tempfile.mkdtemp(prefix=".extract.", dir=root))
    try:
        extracted_any = False
        for rel, is_dir, opener in _members(archive):
            if member:
                below = _below(rel, member)
                if below is None:
                    continue
                rel = PurePosixPath("_member", below)
            out = scratch.joinpath(*rel.parts)
            if is_dir:
                out.mkdir(parents=True, exist_ok=True)
                continue
            out.parent.mkdir(parents=True, exist_ok=True)
            with opener() as src, open(out, "wb") as dst:  # type: ignore[misc, union-attr]
                shutil.copyfileobj(src, dst, _CHUNK)
            extracted_any = True
        if member:
            top = scratch / "_member"
            if not extracted_any or not top.is_dir():
                raise DataError(f"archive {archive.name} has no folder {part.member!r}; it may not be the "
                                f"expected file (url {part.url})")
        else:
            entries = [p for p in scratch.iterdir()]
            top = entries[0] if len(entries) == 1 and entries[0].is_dir() else scratch
        dest.parent.mkdir(parents=True, exist_ok=True)
        if dest.exists():
            for item in top.iterdir():
                if (dest / item.name).is_dir():
                    shutil.rmtree(dest / item.name)
                os.replace(item, dest / item.name)
        else:
            os.replace(top, dest)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
