"""report.html: self-contained, shows tables, plots, images and loss curves; renders in a real browser."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from srbench.api import report, run
from srbench.config import RunConfig
from srbench.plugin_manager import load_plugins

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    system = load_plugins(modules=["plugins.toy_method"])
    run(RunConfig(methods=["bicubic", "toy"], dataset="synthetic", profile="smoke", hr_fraction=[0.0, 1.0], scale=2,
                  out=str(out)), plugins=system, progress=False)
    return out


def test_report_is_self_contained_and_complete(run_folder):
    page = (run_folder / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r'(src|href)="(?!data:)', page), "report must not reference external files"
    assert "synthetic, x2, bicubic, hr_fraction 1" in page
    assert "incompatible" in page  # toy at hr_fraction 0
    assert page.count("<svg") >= 2  # psnr vs hr_fraction + loss curve
    assert "psnr_y vs hr_fraction" in page and "Training losses" in page
    n_images = page.count("data:image/png;base64,")
    n_test = len(list((run_folder / "samples" / "synthetic").glob("*.hr.png")))
    # per test image: LR, HR, and SR + G(HR) for bicubic (two fractions) and toy (one)
    assert n_test >= 1 and n_images == n_test * (2 + 2 * 3)


def test_report_command_rewrites_from_results(run_folder):
    (run_folder / "report.html").unlink()
    (run_folder / "leaderboard.csv").unlink()
    csv_path, md_path, html_path = report(run_folder)
    assert html_path.exists() and csv_path.exists() and "toy" in md_path.read_text()


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium on this machine (apt-get install chromium)")
def test_report_renders_in_headless_chromium(run_folder, tmp_path):
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}"]
    url = (run_folder / "report.html").as_uri()
    dom = subprocess.run([CHROMIUM, *flags, "--dump-dom", url], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "srbench report" in dom.stdout and "<table>" in dom.stdout and "<svg" in dom.stdout
    shot = tmp_path / "shot.png"
    subprocess.run([CHROMIUM, *flags, "--window-size=1200,1600", f"--screenshot={shot}", url],
                   capture_output=True, timeout=120)
    from PIL import Image

    img = Image.open(shot).convert("L")
    colours = img.getcolors(maxcolors=1 << 16)
    assert img.size == (1200, 1600)
    assert colours is None or len(colours) > 50  # a blank page would have a handful of grey levels
