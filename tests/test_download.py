"""Downloads through pooch, with local file:// archives built by the tests (no network)."""

from __future__ import annotations

import hashlib
import io
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from srbench.data.catalog import CatalogEntry, Part, Remote, check_entry
from srbench.data.download import download_dataset, download_entry
from srbench.data.images import list_image_files
from srbench.errors import DataError, UsageError


def _png_bytes(seed: int) -> bytes:
    buf = io.BytesIO()
    PILImage.fromarray(np.random.default_rng(seed).integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _tar(path: Path, members: dict[str, bytes], links: dict[str, str] | None = None) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            tf.addfile(info)
    return path


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_custom_zip_with_good_checksum(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "mine.zip", {"mine/a.png": _png_bytes(1), "mine/sub/b.png": _png_bytes(2)})
    root = tmp_path / "data"
    folder = download_dataset("mine", root, url=archive.as_uri(), sha256=_sha(archive), progress=False)
    assert folder == root / "mine"
    # The single top-level folder is stripped.
    assert [p.relative_to(folder).as_posix() for p in list_image_files(folder)] == ["a.png", "sub/b.png"]
    assert (folder / "a.png").read_bytes() == _png_bytes(1)
    # No temporary folders are left next to it.
    assert sorted(p.name for p in root.iterdir()) == [".downloads", "mine"]


def test_bad_checksum_names_both_hashes_and_removes_the_file(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "mine.zip", {"a.png": _png_bytes(1)})
    root = tmp_path / "data"
    wrong = "0" * 64
    with pytest.raises(DataError) as exc:
        download_dataset("mine", root, url=archive.as_uri(), sha256=wrong, progress=False)
    msg = str(exc.value)
    assert wrong in msg and _sha(archive) in msg and "\n" not in msg
    assert not list((root / ".downloads").iterdir())
    assert not (root / "mine").exists()
    assert [p.name for p in root.iterdir()] == [".downloads"]


def test_unpinned_archive_is_refused_unless_unverified(tmp_path: Path, capsys) -> None:
    archive = _tar(tmp_path / "set.tar.gz", {"a.png": _png_bytes(3)})
    with pytest.raises(UsageError, match="--sha256 HEX .* or --unverified"):
        download_dataset("set", tmp_path / "data", url=archive.as_uri(), progress=False)
    assert not (tmp_path / "data").exists()
    folder = download_dataset("set", tmp_path / "data", url=archive.as_uri(), unverified=True, progress=False)
    assert (folder / "a.png").is_file()
    assert _sha(archive) in capsys.readouterr().err  # printed, to pin next time


@pytest.mark.parametrize("evil", ["../evil.png", "/abs/evil.png", "C:/win/evil.png", "a/../../evil.png"])
def test_path_traversal_is_refused(tmp_path: Path, evil: str) -> None:
    archive = _zip(tmp_path / "evil.zip", {evil: _png_bytes(1)})
    with pytest.raises(DataError, match="unsafe path"):
        download_dataset("evil", tmp_path / "data", url=archive.as_uri(), unverified=True, progress=False)
    assert not (tmp_path / "evil.png").exists()


def test_tar_traversal_refused_and_links_skipped(tmp_path: Path) -> None:
    bad = _tar(tmp_path / "bad.tar.gz", {"../../escape.png": _png_bytes(1)})
    with pytest.raises(DataError, match="unsafe path"):
        download_dataset("bad", tmp_path / "data", url=bad.as_uri(), unverified=True, progress=False)
    linked = _tar(tmp_path / "links.tar.gz", {"a.png": _png_bytes(1)}, links={"passwd.png": "/etc/passwd"})
    folder = download_dataset("links", tmp_path / "data", url=linked.as_uri(), unverified=True, progress=False)
    assert [p.name for p in folder.iterdir()] == ["a.png"]


def _benchmark_entry(url: str, sha256: str | None = None) -> CatalogEntry:
    return CatalogEntry("set5", "", (Part("Set5/HR", "test", 2, files=("baby.png", "bird.png"),
                                          archive=Remote(url, sha256, "benchmark/Set5/HR")),))


def test_named_entry_extracts_its_member_folder(tmp_path: Path) -> None:
    members = {f"wrapper/benchmark/Set5/HR/{n}.png": _png_bytes(i) for i, n in enumerate(["baby", "bird"])}
    members["wrapper/benchmark/Set5/LR_bicubic/X2/babyx2.png"] = _png_bytes(9)
    members["wrapper/benchmark/Set14/HR/zebra.png"] = _png_bytes(8)
    archive = _tar(tmp_path / "benchmark.tar", members)
    root = tmp_path / "data"
    with pytest.raises(UsageError, match="no published SHA-256"):
        download_entry(_benchmark_entry(archive.as_uri()), root, progress=False)
    # Pinned by the caller (--sha256): verified, then only the member folder is kept.
    download_entry(_benchmark_entry(archive.as_uri()), root, sha256=_sha(archive), progress=False)
    assert sorted(p.name for p in (root / "Set5" / "HR").iterdir()) == ["baby.png", "bird.png"]
    assert check_entry(_benchmark_entry(archive.as_uri()), [root]).complete
    # Complete already: nothing is fetched (this URL does not exist).
    download_entry(_benchmark_entry((tmp_path / "gone.tar").as_uri()), root, sha256=_sha(archive), progress=False)


def test_named_entry_with_pinned_hash_and_wrong_layout(tmp_path: Path) -> None:
    archive = _tar(tmp_path / "other.tar", {"x/y.png": _png_bytes(1)})
    with pytest.raises(DataError, match="benchmark/Set5/HR"):
        download_entry(_benchmark_entry(archive.as_uri(), _sha(archive)), tmp_path / "data", progress=False)
    wrong = _benchmark_entry(archive.as_uri(), "1" * 64)
    with pytest.raises(DataError, match="checksum mismatch"):
        download_entry(wrong, tmp_path / "data2", progress=False)


def test_errors_for_bad_requests(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="folder name"):
        download_dataset("../up", tmp_path, url="file:///x.zip", unverified=True)
    with pytest.raises(UsageError, match="64 hexadecimal"):
        download_dataset("x", tmp_path, url="file:///x.zip", sha256="abc")
    with pytest.raises(DataError, match="cannot download"):
        download_dataset("missing", tmp_path, url=(tmp_path / "none.zip").as_uri(), unverified=True, progress=False)
    notarchive = tmp_path / "page.zip"
    notarchive.write_text("<html>404</html>")
    with pytest.raises(DataError, match="not a zip or tar"):
        download_dataset("page", tmp_path / "d", url=notarchive.as_uri(), unverified=True, progress=False)


def test_catalog_is_complete_and_honest() -> None:
    from srbench_builtins.datasets.named import CATALOG

    names = {e.name for e in CATALOG}
    assert names == {"t91", "bsd200", "sr291", "general100", "div2k", "flickr2k", "set5", "set14", "bsd100",
                     "urban100", "manga109"}
    by_name = {e.name: e for e in CATALOG}
    assert [len(p.sha256) for p in by_name["sr291"].parts] == [91, 200]
    for entry in CATALOG:
        for part in entry.parts:
            names_ = part.names
            assert len(set(names_)) == len(names_) and (not names_ or len(names_) == part.count)
            assert all(len(h) == 64 for _, h in part.sha256)
            if part.sha256:  # per file, from a pinned commit
                assert part.base_url.startswith("https://raw.githubusercontent.com/") and "d382bc30" in part.base_url
            elif part.archive is not None:
                assert part.archive.url.startswith(("http://", "https://"))
                assert part.archive.sha256 is None or (len(part.archive.sha256) == 64 and part.archive.source)
            else:
                assert entry.manual  # cannot be downloaded: says how to get it
    assert all(p.archive.sha256 for p in by_name["div2k"].parts)  # published by TensorFlow Datasets
