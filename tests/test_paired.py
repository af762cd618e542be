"""Paired comparisons with the reference row, built from result.json files the tests write."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from srbench.cli.main import main as cli
from srbench.errors import UsageError
from srbench.runner.board_files import write_leaderboard

IMAGES = [f"img{i:02d}" for i in range(12)]


def write_trial(out, method, seed, per_image, *, fraction=0.05, version="0.1.0/r1", status="ok", options=None,
                tag=""):
    """A result.json with per-image values ``{metric: [value per image]}`` and their means."""
    metrics = {}
    if per_image is not None:
        rows = [{"id": i, **{m: float(v[k]) for m, v in per_image.items()}} for k, i in enumerate(IMAGES)]
        means = {m: float(np.mean(v)) for m, v in per_image.items()}
        metrics = {"default": {"mean": means, "per_image": rows, "unavailable": {}}}
    trial_id = f"{method}-f{fraction}-s{seed}{tag}"
    folder = out / "trials" / trial_id
    folder.mkdir(parents=True)
    (folder / "result.json").write_text(json.dumps({
        "trial_id": trial_id, "status": status, "reason": "",
        "spec": {"method": method, "method_options": options or {}, "scale": 4, "degradation": "bicubic",
                 "hr_fraction": fraction, "hr_source": "paired", "seed": seed, "test_datasets": ["default"],
                 "method_version": version},
        "metrics": metrics}))


def synthetic_pair(out, offset, *, seeds=5, names=("base", "plus"), rng_seed=0):
    """Two methods whose PSNR differs by ``offset`` dB on every image: images spread over 12 dB, a
    seed effect both methods share (the seed fixes the split and the initialisation: 0.08 dB),
    and 0.01 dB of noise of each trial's own."""
    rng = np.random.default_rng(rng_seed)
    base = rng.uniform(22.0, 34.0, len(IMAGES))
    seed_effect = rng.normal(0.0, 0.08, seeds)
    for name, shift in zip(names, (0.0, offset)):
        for s in range(seeds):
            psnr = base + seed_effect[s] + shift + rng.normal(0.0, 0.01, len(IMAGES))
            write_trial(out, name, s, {"psnr_y": psnr, "spectral_distance": 2.0 - 0.1 * psnr / 30})


def test_paired_comparison_separates_a_true_005_db_that_seed_means_cannot(tmp_path):
    synthetic_pair(tmp_path, 0.05)
    csv_path, md_path, _ = write_leaderboard(tmp_path, reference="base")
    t = pd.read_csv(csv_path).set_index("method")
    a, b = t.loc["base"], t.loc["plus"]
    # the seed-mean intervals overlap: on their own they do not tell the methods apart
    assert abs(b["psnr_y"] - a["psnr_y"]) < a["psnr_y_ci95"] + b["psnr_y_ci95"]
    # the paired difference does, and its interval holds the true 0.05 dB
    assert b["psnr_y_verdict"] == "better"
    assert abs(b["psnr_y_diff"] - 0.05) <= b["psnr_y_diff_ci95"] < 0.05
    assert b["spectral_distance_verdict"] == "better"  # lower is better, and lower it is
    assert b["reference"] == "base" and a["paired_basis"] == "reference"
    assert b["paired_basis"] == "12 images × 5 seeds"
    md = md_path.read_text()
    cell = f"+{b['psnr_y_diff']:.3g} ± {b['psnr_y_diff_ci95']:.2g} better"
    assert "| vs base | basis | psnr_y |" in md and f"| plus | 12 images × 5 seeds | {cell} |" in md


def test_no_difference_is_tied(tmp_path):
    synthetic_pair(tmp_path, 0.0)
    t = pd.read_csv(write_leaderboard(tmp_path, reference="base")[0]).set_index("method")
    assert t.loc["plus", "psnr_y_verdict"] == "tied"
    assert t.loc["plus", "psnr_y_diff_ci95"] > 0


def test_default_reference_comes_from_method_priority(tmp_path):
    """crossscale declares the highest priority, bicubic the next; no built-in is named in the core."""
    synthetic_pair(tmp_path, -0.2, seeds=2, names=("crossscale", "bicubic"))
    write_trial(tmp_path, "other", 0, {"psnr_y": np.linspace(25, 30, len(IMAGES))})
    t = pd.read_csv(write_leaderboard(tmp_path)[0]).set_index("method")
    assert set(t["reference"]) == {"crossscale"} and t.loc["bicubic", "psnr_y_verdict"] == "worse"
    # lacking seed 1 of the reference: compared on seed 0 only, and it says so
    assert t.loc["other", "paired_basis"] == ("12 images × 1 seeds (common seeds 0; this row has 0, crossscale "
                                              "has 0,1); one seed: interval over images only")
    for trial in (tmp_path / "trials").glob("crossscale-*"):
        (trial / "result.json").unlink()
    t = pd.read_csv(write_leaderboard(tmp_path)[0]).set_index("method")
    assert set(t["reference"]) == {"bicubic"}


def test_older_results_without_per_image_values_say_so(tmp_path):
    synthetic_pair(tmp_path, 0.05, seeds=2)
    for trial in (tmp_path / "trials").glob("plus-*"):
        r = json.loads((trial / "result.json").read_text())
        del r["metrics"]["default"]["per_image"]
        (trial / "result.json").write_text(json.dumps(r))
    csv_path, md_path, _ = write_leaderboard(tmp_path, reference="base")
    t = pd.read_csv(csv_path).set_index("method")
    assert t.loc["plus", "paired_basis"] == "no per-image values"
    assert t.loc["plus", "psnr_y_verdict"] == "no per-image values" and pd.isna(t.loc["plus", "psnr_y_diff"])
    assert "No paired comparison for psnr_y, spectral_distance: no per-image values" in md_path.read_text()


def test_unknown_choices_are_one_line_errors(tmp_path, capsys):
    synthetic_pair(tmp_path, 0.05, seeds=2)
    with pytest.raises(UsageError, match=r"^--reference nope: no such method in these results; methods: base, plus$"):
        write_leaderboard(tmp_path, reference="nope")
    with pytest.raises(UsageError, match=r"^--rank-by psnr: no such metric in these results; available: "):
        write_leaderboard(tmp_path, rank_by="psnr")
    assert not (tmp_path / "leaderboard.csv").exists()  # nothing half-written
    assert cli(["report", str(tmp_path), "--rank-by", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--rank-by nope: no such metric" in err


def test_rank_by_and_reference_from_the_report_command(tmp_path, capsys):
    synthetic_pair(tmp_path, 0.05, seeds=2)
    assert cli(["report", str(tmp_path), "--rank-by", "spectral_distance", "--reference", "plus"]) == 0
    t = pd.read_csv(tmp_path / "leaderboard.csv").set_index("method")
    assert t.loc["plus", "rank"] == 1 and set(t["reference"]) == {"plus"}
    assert t.loc["base", "psnr_y_verdict"] == "worse"
    assert "rank by spectral_distance (lower is better)" in capsys.readouterr().out


def test_run_checks_its_leaderboard_choices_before_training(tmp_path, capsys):
    base = ["run", "--methods", "bicubic", "--dataset", "synthetic", "--profile", "smoke", "--scale", "2",
            "--no-progress", "--out", str(tmp_path / "out")]
    assert cli([*base, "--rank-by", "nope"]) == 2
    assert "--rank-by nope: no such metric in this run; available: " in capsys.readouterr().err
    assert cli([*base, "--reference", "srgan"]) == 2
    assert capsys.readouterr().err.strip().endswith("--reference srgan: no such method in this run; methods: bicubic")
    assert not (tmp_path / "out" / "trials").exists()  # nothing trained


def _term_and_ablation(out, gain, *, seeds=3, weights=(3e-5, 0.0), method="ambient", key="adversarial_weight"):
    """``method`` at each weight of ``weights`` (the last is its ablation), swd lower by ``gain`` per weight step
    on every image, a seed effect they share, and a little noise of each trial's own."""
    rng = np.random.default_rng(1)
    base = rng.uniform(0.1, 0.3, len(IMAGES))
    seed_effect = rng.normal(0.0, 0.01, seeds)
    for k, w in enumerate(reversed(weights)):
        for s in range(seeds):
            swd = base + seed_effect[s] - k * gain + rng.normal(0.0, 0.0005, len(IMAGES))
            write_trial(out, method, s, {"psnr_y": 28 + 10 * base, "swd": swd}, options={key: w, "lr": 5e-4},
                        tag=f"-w{w}")


def test_each_row_is_compared_with_its_own_ablation(tmp_path):
    """pairwise declares ``ablation = {"adversarial_weight": 0.0}``: each of its rows is compared with the
    weight-0 row of its table, found by its options, whatever the table's reference is."""
    _term_and_ablation(tmp_path, 0.003, method="pairwise", weights=(1e-3, 3e-4, 0.0))
    synthetic_pair(tmp_path, 0.0, seeds=3, names=("bicubic", "other"))
    csv_path, md_path, html_path = write_leaderboard(tmp_path)
    t = pd.read_csv(csv_path, keep_default_na=False).set_index("method")
    rows = {m: t.loc[m] for m in t.index if m.startswith("pairwise")}
    variants = {m: r for m, r in rows.items() if r["ablation"]}
    ablation = [m for m, r in rows.items() if not r["ablation"]]
    assert len(rows) == 3 and len(variants) == 2 and len(ablation) == 1  # the weight-0 row has none of its own
    for m, r in variants.items():
        assert r["ablation"] == ablation[0]
        assert r["swd_vs_ablation_verdict"] == "better" and float(r["swd_vs_ablation"]) < 0
        assert r["psnr_y_vs_ablation_verdict"] == "tied"
        assert r["ablation_basis"] == "12 images × 3 seeds"
    gains = sorted(float(r["swd_vs_ablation"]) for r in variants.values())
    assert gains[0] == pytest.approx(-0.006, abs=0.0005) and gains[1] == pytest.approx(-0.003, abs=0.0005)
    assert set(t["reference"]) == {"bicubic"}  # the reference comparison is untouched
    assert t.loc["bicubic", "ablation"] == "" and t.loc["other", "ablation"] == ""  # no ablation declared
    md = md_path.read_text()
    assert "Each row against its own ablation" in md and f"| {ablation[0]} | 12 images × 3 seeds |" in md
    assert "Each row against its own ablation" in html_path.read_text()


def test_no_ablation_row_means_no_ablation_comparison(tmp_path):
    """A row is compared only with the row whose settings are its own with the ablation applied: a row that
    also differs in another option (here the learning rate) is not its ablation."""
    _term_and_ablation(tmp_path, 0.003, method="pairwise", weights=(1e-3,))
    write_trial(tmp_path, "pairwise", 0, {"psnr_y": np.full(len(IMAGES), 28.0)},
                options={"adversarial_weight": 0.0, "lr": 1e-3}, tag="-other-lr")
    t = pd.read_csv(write_leaderboard(tmp_path)[0], keep_default_na=False)
    assert set(t["ablation"]) == {""}
    assert "own ablation" not in (tmp_path / "leaderboard.md").read_text()
