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
    system = load_plugins(modules=["plugins.toy_method", "plugins.realism_metric"])
    run(RunConfig(methods=["bicubic", "toy"], dataset="synthetic", profile="smoke", hr_fraction=[0.0, 1.0], scale=2,
                  seeds=2, out=str(out)), plugins=system, progress=False)
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
    # per test image: LR, HR, and SR + G(HR) for bicubic (two fractions) and toy (one); the zoom: LR, 3 SR, HR
    assert n_test >= 1 and n_images == n_test * (2 + 2 * 3 + 5)
    assert page.count("Zoom where the outputs differ most") == n_test


def test_first_figure_is_the_perception_distortion_plane(run_folder):
    page = (run_folder / "report.html").read_text()
    svgs = re.findall(r"<svg.*?</svg>", page)
    assert "Perception-distortion: synthetic, x2, bicubic, f=0" in svgs[0]
    assert page.index("<svg") < page.index("<table>")  # before the leaderboard
    plane = svgs[1]  # f=1: bicubic (the reference, ringed) and toy (two seeds: error bars)
    assert "Perception-distortion: synthetic, x2, bicubic, f=1" in plane
    assert "gradient_gap_test (lower is better)" in plane and "psnr_y (higher is better)" in plane
    assert "bicubic (reference)" in plane and "toy (reference)" not in plane and 'r="8" fill="none"' in plane
    assert plane.count('stroke-width="1.2"') == 2  # toy's two intervals; bicubic's are 0


def test_tables_scroll_and_numbers_are_engineering(run_folder):
    page = (run_folder / "report.html").read_text()
    assert ".scroll{overflow-x:auto" in page and page.count('<div class="scroll"><table>') >= 2
    assert not re.search(r"\d\.\d+e[+-]\d", page.split("<h2>Images</h2>")[0])  # no 1.106e+05 in tables or plots


def test_report_without_a_realism_metric_says_so(tmp_path):
    out = tmp_path / "out"
    system = load_plugins()
    run(RunConfig(methods=["bicubic"], dataset="synthetic", profile="smoke", scale=2, metrics=["psnr_y"],
                  out=str(out)), plugins=system, progress=False)
    page = (out / "report.html").read_text()
    assert "No perception-distortion plane: no realism metric has values here" in page


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
