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


def test_the_sweep_plot_is_a_standalone_svg_with_a_panel_per_test_set_and_metric(run_folder):
    from xml.etree import ElementTree

    from srbench.runner.board_files import FRACTION_FIGURE

    figure = (run_folder / FRACTION_FIGURE).read_text()
    root = ElementTree.fromstring(figure)  # well-formed: opens in a browser or an editor as it is
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    titles = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text") if t.text and " vs hr_fraction " in t.text]
    # one test set (synthetic), the rank metric and the realism axis (the test plugin's, or swd once
    # test_report_command_rewrites_from_results has rewritten the folder without it); fractions 0 and 1: linear
    assert titles[0] == "psnr_y vs hr_fraction (synthetic)" and len(titles) == 2
    assert titles[1] in ("gradient_gap_test vs hr_fraction (synthetic)", "swd vs hr_fraction (synthetic)")
    assert "hr_fraction (log scale)" not in figure
    assert "bicubic" in figure and "toy" in figure
    page = (run_folder / "report.html").read_text()
    assert all(t in page for t in titles)  # the report shows the same panels


def test_the_sweep_plot_is_removed_when_one_fraction_is_left(run_folder, tmp_path):
    from srbench.result_record import read_records
    from srbench.runner.board_files import FRACTION_FIGURE

    out = tmp_path / "one"
    shutil.copytree(run_folder, out)
    assert (out / FRACTION_FIGURE).is_file()
    for r in read_records(out):
        if r.spec["hr_fraction"] != 1.0:
            shutil.rmtree(out / "trials" / r.trial_id)
    report(out)
    assert not (out / FRACTION_FIGURE).exists()  # a figure of the trials no longer there would mislead


def test_a_log_axis_spaces_fractions_by_ratio_and_labels_them():
    from srbench.runner.report_plots import Series, svg_plot

    svg = svg_plot([Series("m", [0.01, 0.1, 1.0], [1.0, 2.0, 3.0], yerr=[0.1, 0.1, 0.1])], title="t", xlabel="x",
                   ylabel="y", lines=True, x_ticks=[0.01, 0.1, 1.0], log_x=True)
    xs = [float(x) for x in re.findall(r'<circle cx="([\d.]+)"', svg)]
    assert len(xs) == 3 and abs((xs[1] - xs[0]) - (xs[2] - xs[1])) < 0.2  # 0.01 -> 0.1 as far as 0.1 -> 1
    assert svg.count('stroke-width="1.2"') == 3  # the y intervals
    for label in ("0.01", "0.1", "1"):
        assert f">{label}</text>" in svg
    linear = svg_plot([Series("m", [0.01, 0.1, 1.0], [1.0, 2.0, 3.0])], title="t", xlabel="x", ylabel="y",
                      lines=True)
    lx = [float(x) for x in re.findall(r'<circle cx="([\d.]+)"', linear)]
    assert (lx[1] - lx[0]) < (lx[2] - lx[1]) / 5
    assert svg_plot([Series("m", [0.0], [1.0])], title="t", xlabel="x", ylabel="y", lines=True, log_x=True) == ""


def test_variant_rows_are_named_by_what_sets_them_apart_in_the_legend():
    import pandas as pd

    from srbench.plugin_manager import load_plugins
    from srbench.runner.board_settings import BoardSettings
    from srbench.runner.report_plots import fraction_figure, fraction_panels

    agg = pd.DataFrame({"method": ["fewhr[aa]", "fewhr[aa]", "fewhr[bb]", "fewhr[bb]"],
                        "test_dataset": ["set5"] * 4, "hr_fraction": [0.01, 0.05, 0.01, 0.05],
                        "psnr_y": [28.3, 28.6, 28.4, 28.5], "psnr_y_ci95": [0.1, 0.2, float("nan"), 0.1]})
    settings = BoardSettings.from_registries(load_plugins().registries)
    long_name = "term=pairwise, term_options=[\"critic_lr=2e-4\", \"blur_probability=0\"]"
    panels = fraction_panels(agg, settings, {"fewhr[aa]": long_name, "fewhr[bb]": "term=none"})
    figure = fraction_figure(panels)
    assert "fewhr (term=pairwise" in figure and "fewhr (term=none)" in figure and "fewhr[aa]" not in figure
    assert "psnr_y vs hr_fraction (set5)" in figure and "(log scale)" not in figure  # 0.01 to 0.05: under 10x
    # each panel knows the size it was drawn at (wider than asked: the long legend), and the figure holds them
    for panel in panels:
        drawn = re.search(r'<svg [^>]*width="(\d+)" height="(\d+)"', panel.svg)
        assert drawn and (int(drawn[1]), int(drawn[2])) == (panel.width, panel.height)
    assert panels[0].width > 660 and f'width="{sum(p.width for p in panels[:2])}"' in figure.split(">", 1)[0]
    assert fraction_figure(fraction_panels(agg[agg["hr_fraction"] == 0.01], settings, {})) == ""
