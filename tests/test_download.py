"""Dataset download helpers, with local file:// archives built by the tests (no network)."""

from __future__ import annotations

import hashlib
import io
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from srbench.data.download import SOURCES, download_dataset
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


def test_unknown_checksum_is_computed_and_printed(tmp_path: Path, capsys) -> None:
    archive = _tar(tmp_path / "set.tar.gz", {"a.png": _png_bytes(3)})
    folder = download_dataset("set", tmp_path / "data", url=archive.as_uri(), progress=False)
    assert (folder / "a.png").is_file()
    assert _sha(archive) in capsys.readouterr().err


@pytest.mark.parametrize("evil", ["../evil.png", "ok/../../evil.png", "/tmp/evil_abs.png", "C:/evil.png"])
def test_path_traversal_is_refused(tmp_path: Path, evil: str) -> None:
    archive = _zip(tmp_path / "bad.zip", {"fine.png": _png_bytes(1), evil: _png_bytes(2)})
    root = tmp_path / "data" / "inner"
    with pytest.raises(DataError, match="unsafe path"):
        download_dataset("bad", root, url=archive.as_uri(), progress=False)
    assert not (tmp_path / "data" / "evil.png").exists() and not (tmp_path / "evil.png").exists()
    assert not (root / "bad").exists()
    assert [p.name for p in root.iterdir()] == [".downloads"]


def test_tar_traversal_refused_and_links_skipped(tmp_path: Path) -> None:
    bad = _tar(tmp_path / "bad.tar.gz", {"../../escape.png": _png_bytes(1)})
    with pytest.raises(DataError, match="unsafe path"):
        download_dataset("bad", tmp_path / "data", url=bad.as_uri(), progress=False)
    linked = _tar(tmp_path / "links.tar.gz", {"a.png": _png_bytes(1)}, links={"passwd.png": "/etc/passwd"})
    folder = download_dataset("links", tmp_path / "data", url=linked.as_uri(), progress=False)
    assert [p.name for p in folder.iterdir()] == ["a.png"]


def test_known_name_extracts_its_member_folder(tmp_path: Path) -> None:
    members = {f"benchmark/Set5/HR/{n}.png": _png_bytes(i) for i, n in enumerate(["baby", "bird"])}
    members["benchmark/Set5/LR_bicubic/X2/babyx2.png"] = _png_bytes(9)
    members["benchmark/Set14/HR/zebra.png"] = _png_bytes(8)
    archive = _tar(tmp_path / "benchmark.tar", members)
    folder = download_dataset("set5", tmp_path / "data", url=archive.as_uri(), progress=False)
    assert folder == tmp_path / "data" / "Set5"
    assert sorted(p.name for p in folder.iterdir()) == ["baby.png", "bird.png"]
    # Present already: returned without downloading (this URL does not exist).
    again = download_dataset("Set5", tmp_path / "data", url=(tmp_path / "gone.tar").as_uri(), progress=False)
    assert again == folder


def test_known_name_with_wrong_archive_layout(tmp_path: Path) -> None:
    archive = _tar(tmp_path / "other.tar", {"x/y.png": _png_bytes(1)})
    with pytest.raises(DataError, match="benchmark/Urban100/HR"):
        download_dataset("Urban100", tmp_path / "data", url=archive.as_uri(), progress=False)


def test_errors_for_bad_requests(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="DIV2K"):
        download_dataset("nosuch", tmp_path)
    with pytest.raises(UsageError, match="2 archives"):
        download_dataset("DIV2K", tmp_path, url="file:///x.zip")
    with pytest.raises(UsageError, match="folder name"):
        download_dataset("../up", tmp_path, url="file:///x.zip")
    with pytest.raises(DataError, match="cannot download"):
        download_dataset("missing", tmp_path, url=(tmp_path / "none.zip").as_uri(), progress=False)
    notarchive = tmp_path / "page.zip"
    notarchive.write_text("<html>404</html>")
    with pytest.raises(DataError, match="not a zip or tar"):
        download_dataset("page", tmp_path / "d", url=notarchive.as_uri(), progress=False)


def test_source_table_is_complete_and_honest() -> None:
    assert set(SOURCES) == {"DIV2K", "Set5", "Set14", "BSD100", "Urban100"}
    for source in SOURCES.values():
        for part in source.parts:
            assert part.url.startswith(("http://", "https://"))
            assert part.sha256 is None or len(part.sha256) == 64
    assert [p.dest for p in SOURCES["DIV2K"].parts] == ["train", "test"]
