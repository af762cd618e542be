"""A record names the commit and the machine that made it (srbench.provenance)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from srbench import provenance


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.email=t@example.org", "-c", "user.name=t", *args], cwd=root,
                          capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture
def source_root(tmp_path, monkeypatch):
    monkeypatch.setattr(provenance, "_SOURCE_ROOT", tmp_path)
    provenance.source_revision.cache_clear()
    yield tmp_path
    provenance.source_revision.cache_clear()


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_the_commit_of_a_checkout_and_its_uncommitted_changes(source_root: Path) -> None:
    _git(source_root, "init", "-q")
    (source_root / "a.py").write_text("x = 1\n")
    _git(source_root, "add", "a.py")
    _git(source_root, "commit", "-q", "-m", "one")
    head = _git(source_root, "rev-parse", "--short=7", "HEAD")
    assert provenance.source_revision() == head and len(head) == 7
    (source_root / "new.txt").write_text("an untracked file changes no code\n")
    provenance.source_revision.cache_clear()
    assert provenance.source_revision() == head
    (source_root / "a.py").write_text("x = 2\n")
    provenance.source_revision.cache_clear()
    assert provenance.source_revision() == f"{head}+dirty"


def test_an_installed_package_names_no_commit(source_root: Path) -> None:
    assert provenance.source_revision() == ""


def test_the_machine_of_a_cpu_trial() -> None:
    info = provenance.machine("cpu")
    assert info["cpus"] >= 1 and info["arch"] and "accelerator" not in info
    # what decides the float results of the CPU kernels, so two records that disagree can be told apart
    assert info["cpu_capability"] in ("DEFAULT", "VSX", "Z VECTOR", "NO AVX", "AVX2", "AVX512", "SVE256", "SVE")
    assert isinstance(info["cpu_model"], str)
