"""Named datasets under the data root: layout checks, sr291 on the shared data, test sets, the CLI.

Tests that need the real T91 + BSD200 read them from ``SRBENCH_SHARED_DATA`` or ``../shared/data``
(never copied: altered copies are built from symlinks in a temporary folder) and skip when absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from srbench.cli.main import main
from srbench.data.catalog import CatalogEntry, Part, check_entry, file_sha256, require
from srbench.data.datasets import open_dataset
from srbench.data.pipeline import build_test_set
from srbench.data.root import DATA_ENV, data_roots
from srbench.errors import DataError, UsageError
from srbench.plugin_manager import load_plugins

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def registries():
    return load_plugins().registries


@pytest.fixture
def shared_data() -> Path:
    """T91 + BSD200 (``SRBENCH_SHARED_DATA`` or ``../shared/data``); skips when absent."""
    path = Path(os.environ.get("SRBENCH_SHARED_DATA") or REPO_ROOT.parent / "shared" / "data")
    if not (path / "T91").is_dir() or not (path / "BSD200").is_dir():
        pytest.skip(f"shared training data (T91/, BSD200/) not found at {path} (set SRBENCH_SHARED_DATA)")
    return path


def _png(path: Path, seed: int, size: tuple[int, int] = (40, 30), gray: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    array = rng.integers(0, 256, (size[1], size[0]) if gray else (size[1], size[0], 3), dtype=np.uint8)
    PILImage.fromarray(array).save(path)
    return path


def _linked_copy(src: Path, dst: Path) -> None:
    """``dst`` mirrors ``src`` file by file through symlinks (nothing is copied)."""
    dst.mkdir(parents=True)
    for f in src.iterdir():
        (dst / f.name).symlink_to(f.resolve())


# -- the catalog machinery on data the tests make ---------------------------------------------------

def _entry(root: Path) -> CatalogEntry:
    files = {f"a{i}.png": _png(root / "Mine" / f"a{i}.png", i) for i in range(3)}
    return CatalogEntry("mine", "three images", (Part("Mine", "train", 3, sha256=tuple(
        (name, file_sha256(path)) for name, path in files.items())),))


def test_complete_entry_lists_its_files(tmp_path: Path) -> None:
    entry = _entry(tmp_path)
    _png(tmp_path / "Mine" / "extra.png", 9)  # not in the manifest: ignored, never loaded
    status = require(entry, [tmp_path])
    assert status.complete and [f.name for f in status.parts[0].files] == ["a0.png", "a1.png", "a2.png"]
    assert "complete (3 files, sha256 verified)" in status.line() and str(tmp_path) in status.line()


def test_missing_folder_names_the_roots_and_the_command(tmp_path: Path) -> None:
    entry = _entry(tmp_path / "elsewhere")
    with pytest.raises(DataError) as exc:
        require(entry, [tmp_path / "r1", tmp_path / "r2"])
    msg = str(exc.value)
    assert "\n" not in msg and "Mine/ not found" in msg and str(tmp_path / "r1") in msg and str(tmp_path / "r2") in msg
    assert "srbench download mine" in msg


def test_missing_and_altered_files_are_named(tmp_path: Path) -> None:
    entry = _entry(tmp_path)
    (tmp_path / "Mine" / "a1.png").unlink()
    with pytest.raises(DataError, match=r"a1.png is missing \(2 of 3 files present\)"):
        require(entry, [tmp_path])
    _png(tmp_path / "Mine" / "a1.png", 1)
    _png(tmp_path / "Mine" / "a2.png", 77)  # same name, other content
    with pytest.raises(DataError, match="a2.png does not match its pinned SHA-256"):
        require(entry, [tmp_path])
    assert not check_entry(entry, [tmp_path]).complete and check_entry(entry, [tmp_path]).present


def test_count_and_names_checks(tmp_path: Path) -> None:
    for i in range(2):
        _png(tmp_path / "Counted" / f"x{i}.png", i)
    counted = CatalogEntry("counted", "", (Part("Counted", "test", 3),))
    with pytest.raises(DataError, match="holds 2 image files, expected 3"):
        require(counted, [tmp_path])
    named = CatalogEntry("named", "", (Part("Counted", "test", 2, files=("x0.png", "y.png")),))
    with pytest.raises(DataError, match="y.png is missing"):
        require(named, [tmp_path])


def test_data_roots_from_the_environment(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv(DATA_ENV, f"{tmp_path / 'a'}{os.pathsep}{tmp_path / 'b'}")
    assert data_roots() == [tmp_path / "a", tmp_path / "b"]
    monkeypatch.delenv(DATA_ENV)
    assert len(data_roots()) == 1 and "srbench" in str(data_roots()[0])  # the per-user cache


# -- test sets: modcrop, grayscale, default test sets --------------------------------------------

def _fake_set14(root: Path) -> Path:
    folder = root / "Set14" / "HR"
    for i in range(13):
        _png(folder / f"img{i:02d}.png", i, (41 + i, 30 + i))
    _png(folder / "gray.png", 99, (43, 37), gray=True)
    return folder


def test_named_test_set_keeps_grayscale_and_is_modcropped(monkeypatch, tmp_path: Path, registries) -> None:
    _fake_set14(tmp_path)
    monkeypatch.setenv(DATA_ENV, str(tmp_path))
    ds = open_dataset("set14", registries)
    images = ds.images("test")
    assert len(images) == 14 and ds.images("train") == [] and ds.images("val") == []
    scored = {t.id: t for t in build_test_set(images, degradation=registries.degradations.create("bicubic", 4),
                                              seed=0)}
    assert scored["gray"].grayscale and scored["gray"].hr.shape == (1, 36, 40)  # 37x43 cropped to x4
    assert all(t.hr.shape[1] % 4 == 0 and t.hr.shape[2] % 4 == 0 for t in scored.values())
    assert all(t.hr.shape[0] == 3 for k, t in scored.items() if k != "gray")


def test_half_a_test_set_stops_the_run_naming_the_problem(monkeypatch, tmp_path: Path, registries) -> None:
    folder = _fake_set14(tmp_path)
    (folder / "img03.png").unlink()
    monkeypatch.setenv(DATA_ENV, str(tmp_path))
    with pytest.raises(DataError, match="holds 13 image files, expected 14.*srbench download set14"):
        open_dataset("set14", registries)


def test_named_dataset_takes_no_argument(registries) -> None:
    with pytest.raises(UsageError, match="write set5"):
        open_dataset("set5:x", registries)


# -- sr291 on the shared data --------------------------------------------------------------------

def test_sr291_from_the_shared_data(monkeypatch, shared_data: Path, registries) -> None:
    monkeypatch.setenv(DATA_ENV, str(shared_data))
    ds = open_dataset("sr291", registries)
    train, val = ds.images("train"), ds.images("val")
    assert len(train) + len(val) == 291 and ds.images("test") == []
    assert 15 <= len(val) <= 45  # about 10%
    ids = [i.id for i in train + val]
    assert len(set(ids)) == 291 and {i.split("/")[0] for i in ids} == {"T91", "BSD200"}
    assert {i.id for i in train}.isdisjoint({i.id for i in val})
    t91 = open_dataset("t91", registries)
    assert len(t91.images("train")) + len(t91.images("val")) == 91


def test_sr291_default_test_sets_are_the_ones_present(monkeypatch, tmp_path: Path, shared_data: Path,
                                                      registries) -> None:
    monkeypatch.setenv(DATA_ENV, str(shared_data))
    with pytest.raises(UsageError, match="no test set .* is in the data root.*--eval-split val"):
        open_dataset("sr291", registries).default_test_datasets()
    _fake_set14(tmp_path)
    monkeypatch.setenv(DATA_ENV, f"{shared_data}{os.pathsep}{tmp_path}")
    assert open_dataset("sr291", registries).default_test_datasets() == ["set14"]


def test_altered_or_missing_training_file_is_named(monkeypatch, tmp_path: Path, shared_data: Path,
                                                   registries) -> None:
    _linked_copy(shared_data / "T91", tmp_path / "T91")
    _linked_copy(shared_data / "BSD200", tmp_path / "BSD200")
    monkeypatch.setenv(DATA_ENV, str(tmp_path))
    assert check_entry(registries.datasets.get("sr291").factory.catalog, [tmp_path]).complete
    (tmp_path / "T91" / "t7.bmp").unlink()
    with pytest.raises(DataError, match="T91/t7.bmp is missing"):
        open_dataset("sr291", registries)
    (tmp_path / "T91" / "t7.bmp").write_bytes(b"BM not really")
    with pytest.raises(DataError, match="T91/t7.bmp does not match its pinned SHA-256"):
        open_dataset("t91", registries)


# -- the command line ----------------------------------------------------------------------------

def _cli(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def _one_line(code: int, err: str, *fragments: str) -> None:
    assert code == 2, err
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    for f in fragments:
        assert f in lines[0], (f, lines[0])


def test_cli_missing_dataset_is_one_line(monkeypatch, capsys, tmp_path: Path) -> None:
    monkeypatch.setenv(DATA_ENV, str(tmp_path))
    code, _, err = _cli(capsys, "run", "--dataset", "sr291", "--methods", "bicubic", "--profile", "smoke",
                        "--out", str(tmp_path / "out"), "--no-progress")
    _one_line(code, err, "T91/ not found", str(tmp_path), "srbench download sr291")
    assert not (tmp_path / "out" / "trials").exists()  # nothing trained


def test_cli_download_errors_are_one_line(monkeypatch, capsys, tmp_path: Path) -> None:
    monkeypatch.setenv(DATA_ENV, str(tmp_path))
    _one_line(*_cli(capsys, "download", "nosuch")[::2], "unknown dataset 'nosuch'", "sr291")
    _one_line(*_cli(capsys, "download", "Set5")[::2], "no published SHA-256", "--sha256", "--unverified")
    _one_line(*_cli(capsys, "download", "manga109")[::2], "on request", "Manga109/HR")
    _one_line(*_cli(capsys, "download", "set5", "--sha256", "xyz")[::2], "64 hexadecimal")
    _one_line(*_cli(capsys, "download", "sr291", "--sha256", "0" * 64)[::2], "checksums are built in")
    _one_line(*_cli(capsys, "run", "--eval-split", "tset")[::2], "--eval-split 'tset'", "test, val")
    assert not any(tmp_path.iterdir())  # nothing downloaded or created


def test_cli_list_datasets_says_what_is_complete(monkeypatch, capsys, tmp_path: Path) -> None:
    _fake_set14(tmp_path)
    monkeypatch.setenv(DATA_ENV, str(tmp_path))
    code, out, _ = _cli(capsys, "list", "datasets")
    assert code == 0
    rows = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    assert "complete (14 files, count checked)" in rows["set14"]
    assert "missing: T91/ not found" in rows["sr291"]
    assert rows["default"].rstrip().endswith("-")


def test_cli_download_per_file_with_pinned_hashes(monkeypatch, capsys, tmp_path: Path, registries) -> None:
    """``download_entry`` through pooch from a file:// mirror of a per-file dataset (no network)."""
    from srbench.data.download import download_entry

    mirror = tmp_path / "mirror"
    files = {f"p{i}.png": _png(mirror / f"p{i}.png", i) for i in range(3)}
    entry = CatalogEntry("mini", "", (Part("Mini", "train", 3, sha256=tuple(
        (n, file_sha256(p)) for n, p in files.items()), base_url=mirror.as_uri() + "/"),))
    root = download_entry(entry, tmp_path / "data", progress=False)
    assert check_entry(entry, [root]).complete
    assert sorted(p.name for p in (root / "Mini").iterdir()) == ["p0.png", "p1.png", "p2.png"]
    # A mirror serving other bytes is refused, naming both hashes.
    _png(mirror / "p1.png", 50)
    (root / "Mini" / "p1.png").unlink()
    with pytest.raises(DataError, match="checksum mismatch .*p1.png: expected sha256 [0-9a-f]{64}, got [0-9a-f]{64}"):
        download_entry(entry, root, progress=False)
