"""Leaderboard checks against the reference rows of each table (bicubic, crossscale)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from srbench.runner.leaderboard import _method_labels, aggregate, crossscale_verdict, method_variants, to_markdown


def row(method, psnr, lr, hf, sd, *, fraction=0.05, seed=0, status="ok"):
    return {"method": method, "test_dataset": "default", "scale": 4, "degradation": "bicubic",
            "hr_fraction": fraction, "hr_source": "paired", "seed": seed, "status": status, "reason": "",
            "psnr_y": psnr, "lr_psnr": lr, "hf_ratio": hf, "spectral_distance": sd}


@pytest.fixture
def table():
    return aggregate(pd.DataFrame([
        row("bicubic", 28.5, 40.6, 0.032, 2.6),
        row("crossscale", 28.7, 41.8, 0.026, 2.35),
        row("sharp", 28.9, 46.0, 0.045, 1.9),          # passes every check
        row("smooth", 28.7, 41.9, 0.027, 2.30),        # no sharper than bicubic, a little sharper than crossscale
        row("artefact", 26.0, 35.0, 2.2, 3.0),          # everything wrong
        row("nohr", float("nan"), float("nan"), float("nan"), float("nan"), status="incompatible"),
    ])).set_index("method")


def test_flags_name_each_failed_check(table):
    assert table.loc["sharp", "flags"] == ""
    assert table.loc["bicubic", "flags"] == ""
    assert table.loc["smooth", "flags"] == "not_sharper_than_bicubic"
    assert set(table.loc["artefact", "flags"].split(";")) == {
        "hf_artefact", "psnr_not_above_bicubic", "lr_inconsistent"}
    assert table.loc["nohr", "flags"] == ""  # nothing scored, nothing to check


def test_stripes_that_pass_the_hf_bar_are_flagged_by_periodic_ratio():
    rows = [dict(row("bicubic", 28.5, 40.6, 0.032, 2.6), periodic_ratio=0.02),
            dict(row("clean", 28.7, 42.0, 0.040, 1.9), periodic_ratio=1.0),
            dict(row("striped", 28.7, 42.0, 0.034, 1.9), periodic_ratio=4.6),
            row("unscored", 28.7, 42.0, 0.040, 1.9)]  # a leaderboard from before the metric: no flag
    agg = aggregate(pd.DataFrame(rows)).set_index("method")
    assert agg.loc["clean", "flags"] == "" and agg.loc["unscored", "flags"] == ""
    assert agg.loc["striped", "flags"] == "periodic_artefact"
    assert "⚠ periodic_ratio > 1.5: stripes/checkerboard" in to_markdown(agg.reset_index())


def test_differences_to_crossscale(table):
    assert table.loc["sharp", "hf_ratio_minus_crossscale"] == pytest.approx(0.019)
    assert table.loc["smooth", "spectral_distance_minus_crossscale"] == pytest.approx(-0.05)
    assert pd.isna(table.loc["crossscale", "hf_ratio_minus_crossscale"])


def test_markdown_says_who_is_ahead_of_crossscale(table):
    verdict = crossscale_verdict(table.reset_index())
    assert verdict == ("Against crossscale (no HR, same budget; one seed, no interval: any difference counts and "
                       "may be noise): "
                       "sharper (hf_ratio): sharp, smooth, artefact; closer spectrum (spectral distance): sharp, smooth.")
    md = to_markdown(table.reset_index())
    assert "⚠ hf_ratio not above bicubic" in md and "⚠ lr_psnr < 40 dB" in md and verdict in md


def test_without_reference_rows_nothing_is_compared():
    agg = aggregate(pd.DataFrame([row("sharp", 28.9, 46.0, 0.045, 1.9), row("other", 28.0, 39.0, 0.02, 2.0)]))
    assert list(agg["flags"]) == ["", "lr_inconsistent"]
    assert agg["hf_ratio_minus_crossscale"].isna().all()
    assert crossscale_verdict(agg) == ""


def test_a_difference_within_the_seeds_spread_is_not_called_ahead():
    seeds = [row("crossscale", 28.7, 41.8, hf, 2.35, seed=i) for i, hf in enumerate((0.0258, 0.0258, 0.0258))]
    seeds += [row("noisy", 28.7, 41.8, hf, 2.35, seed=i) for i, hf in enumerate((0.020, 0.0262, 0.032))]
    seeds += [row("clear", 28.7, 41.8, hf, 2.0, seed=i) for i, hf in enumerate((0.040, 0.041, 0.042))]
    verdict = crossscale_verdict(aggregate(pd.DataFrame(seeds)))
    assert "sharper (hf_ratio): clear;" in verdict and "neither: noisy" in verdict
    assert "ahead = beyond both 95% intervals" in verdict


def _result(trial_id, method, options):
    return {"trial_id": trial_id, "status": "ok", "spec": {"method": method, "method_options": options}}


def test_variants_legend_names_the_options_that_differ():
    results = [_result("a", "ambient", {"mode": "ambient", "adversarial_weight": 0.003, "lr_g": 5e-4}),
               _result("b", "ambient", {"mode": "consistency", "adversarial_weight": 0.003, "lr_g": 5e-4}),
               _result("c", "ambient", {"mode": "ambient", "adversarial_weight": 3e-4, "lr_g": 5e-4}),
               _result("d", "srresnet", {"lr": 5e-4})]  # one variant only: plain label, no legend entry
    labels = _method_labels(results)
    legend = method_variants(results)
    assert labels["d"] == "srresnet" and set(legend) == {labels["a"], labels["b"], labels["c"]}
    assert legend[labels["a"]] == "adversarial_weight=0.003, mode=ambient"
    assert legend[labels["b"]] == "adversarial_weight=0.003, mode=consistency"
    assert legend[labels["c"]] == "adversarial_weight=0.0003, mode=ambient"
    md = to_markdown(aggregate(pd.DataFrame([row(labels["a"], 28.9, 46.0, 0.045, 1.9)])), legend)
    assert f"- `{labels['b']}`: adversarial_weight=0.003, mode=consistency" in md.split("## Variants")[1]


def test_leaderboard_csv_carries_each_variants_options(tmp_path):
    from srbench.runner.leaderboard import write_leaderboard
    for trial_id, weight in (("x-0", 0.0), ("x-1", 0.01)):
        folder = tmp_path / "trials" / trial_id
        folder.mkdir(parents=True)
        (folder / "result.json").write_text(json.dumps({
            "trial_id": trial_id, "status": "ok", "reason": "",
            "spec": {"method": "pairwise", "method_options": {"adversarial_weight": weight}, "scale": 4,
                     "degradation": "bicubic", "hr_fraction": 0.05, "hr_source": "paired", "seed": 0,
                     "test_datasets": ["default"]},
            "metrics": {"default": {"mean": {"psnr_y": 28.0 + weight}}}}))
    csv_path, md_path, _ = write_leaderboard(tmp_path)
    table = pd.read_csv(csv_path, keep_default_na=False)
    assert sorted(table["variant"]) == ["adversarial_weight=0.0", "adversarial_weight=0.01"]
    assert "## Variants" in md_path.read_text()
