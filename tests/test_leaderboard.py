"""Leaderboard checks from the metrics' metadata, the floor row, row labels and variants."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from srbench.interfaces import Check
from srbench.runner.board_settings import BoardSettings, MetricInfo
from srbench.runner.leaderboard import (
    aggregate,
    method_labels,
    method_variants,
    to_markdown,
)


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


def test_the_floor_row_is_not_held_to_the_lr_consistency_bar_and_the_legend_says_so():
    """Bicubic scores 37-41 dB of lr_psnr; the legend must not claim every row below 40 dB is flagged."""
    agg = aggregate(pd.DataFrame([row("bicubic", 28.5, 37.2, 0.032, 2.6), row("weak", 28.6, 39.5, 0.04, 2.0)]))
    flags = agg.set_index("method")["flags"]
    assert flags["bicubic"] == "" and flags["weak"] == "lr_inconsistent"
    assert "lr_psnr < 40 dB (floor row not checked)" in to_markdown(agg)


def test_stripes_that_pass_the_hf_bar_are_flagged_by_periodic_ratio():
    rows = [dict(row("bicubic", 28.5, 40.6, 0.032, 2.6), periodic_ratio=0.02),
            dict(row("clean", 28.7, 42.0, 0.040, 1.9), periodic_ratio=1.0),
            dict(row("striped", 28.7, 42.0, 0.034, 1.9), periodic_ratio=4.6),
            row("unscored", 28.7, 42.0, 0.040, 1.9)]  # a leaderboard from before the metric: no flag
    agg = aggregate(pd.DataFrame(rows)).set_index("method")
    assert agg.loc["clean", "flags"] == "" and agg.loc["unscored", "flags"] == ""
    assert agg.loc["striped", "flags"] == "periodic_artefact"
    assert "⚠ periodic_ratio > 1.5: stripes/checkerboard" in to_markdown(agg.reset_index())


def _result(trial_id, method, options):
    return {"trial_id": trial_id, "status": "ok", "spec": {"method": method, "method_options": options}}


def test_variants_legend_names_the_options_that_differ():
    results = [_result("a", "ambient", {"mode": "ambient", "adversarial_weight": 0.003, "lr_g": 5e-4}),
               _result("b", "ambient", {"mode": "consistency", "adversarial_weight": 0.003, "lr_g": 5e-4}),
               _result("c", "ambient", {"mode": "ambient", "adversarial_weight": 3e-4, "lr_g": 5e-4}),
               _result("d", "srresnet", {"lr": 5e-4})]  # one variant only: plain label, no legend entry
    labels = method_labels(results)
    legend = method_variants(results)
    assert labels["d"] == "srresnet" and set(legend) == {labels["a"], labels["b"], labels["c"]}
    assert legend[labels["a"]] == "adversarial_weight=0.003, mode=ambient"
    assert legend[labels["b"]] == "adversarial_weight=0.003, mode=consistency"
    assert legend[labels["c"]] == "adversarial_weight=0.0003, mode=ambient"
    md = to_markdown(aggregate(pd.DataFrame([row(labels["a"], 28.9, 46.0, 0.045, 1.9)])), legend)
    assert f"- `{labels['b']}`: adversarial_weight=0.003, mode=consistency" in md.split("## Variants")[1]


def test_leaderboard_csv_carries_each_variants_options(tmp_path):
    from srbench.runner.board_files import write_leaderboard
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


def test_checks_come_from_metric_metadata_not_names():
    """A plugin metric's Check flags rows; a floor method of any name sets the beat-the-floor bar."""
    settings = BoardSettings(
        metrics={"sharpness": MetricInfo("sharpness", checks=(
            Check("too_sharp", "sharpness > 3: ringing", above=3.0),
            Check("blurrier_than_{floor}", "sharpness not above {floor}", beat_floor=True)))},
        floors=frozenset({"nearest"}), rank_by="sharpness")
    rows = [dict(row(m, 28.0, 41.0, 0.04, 2.0), sharpness=v) for m, v in
            (("nearest", 1.0), ("ringing", 4.0), ("soft", 0.9), ("good", 2.0))]
    agg = aggregate(pd.DataFrame(rows), settings).set_index("method")
    assert agg["flags"].to_dict() == {"nearest": "", "ringing": "too_sharp", "soft": "blurrier_than_nearest",
                                      "good": ""}
    md = to_markdown(agg.reset_index(), settings=settings)
    assert "⚠ sharpness > 3: ringing" in md and "⚠ sharpness not above nearest" in md
    assert "psnr_not_above" not in md  # no built-in check leaks in when no built-in metric is there


def test_rank_follows_each_metrics_direction():
    rows = [dict(row("a", 28.0, 41.0, 0.9, 2.0)), dict(row("b", 29.0, 41.0, 1.3, 1.5)),
            dict(row("c", 27.0, 41.0, 0.5, 2.5))]
    settings = BoardSettings(metrics={"psnr_y": MetricInfo("psnr_y"),
                                      "spectral_distance": MetricInfo("spectral_distance", higher_is_better=False),
                                      "hf_ratio": MetricInfo("hf_ratio", target=1.0)})
    for rank_by, order in (("psnr_y", ["b", "a", "c"]), ("spectral_distance", ["b", "a", "c"]),
                           ("hf_ratio", ["a", "b", "c"])):  # |0.9-1| < |1.3-1| < |0.5-1|
        agg = aggregate(pd.DataFrame(rows), BoardSettings(settings.metrics, rank_by=rank_by))
        assert list(agg.sort_values("rank")["method"]) == order, rank_by
        assert list(agg.columns).index(rank_by) == list(agg.columns).index("rank") + 1  # ranked metric first


def test_rows_never_mix_method_versions(tmp_path):
    from srbench.runner.board_files import write_leaderboard

    for trial_id, version, psnr in (("s-r1", "0.1.0/r1", 28.0), ("s-r2", "0.1.0/r2", 28.5)):
        folder = tmp_path / "trials" / trial_id
        folder.mkdir(parents=True)
        (folder / "result.json").write_text(json.dumps({
            "trial_id": trial_id, "status": "ok", "reason": "",
            "spec": {"method": "srresnet", "method_options": {}, "scale": 4, "degradation": "bicubic",
                     "hr_fraction": 0.05, "hr_source": "paired", "seed": 0, "test_datasets": ["default"],
                     "method_version": version},
            "metrics": {"default": {"mean": {"psnr_y": psnr}}}}))
    csv_path, md_path, _ = write_leaderboard(tmp_path)
    table = pd.read_csv(csv_path, keep_default_na=False).set_index("method")
    assert sorted(table.index) == ["srresnet@0.1.0/r1", "srresnet@0.1.0/r2"]
    assert list(table["seeds"]) == [1, 1] and table.loc["srresnet@0.1.0/r2", "psnr_y"] == 28.5
    assert table.loc["srresnet@0.1.0/r1", "variant"] == "version=0.1.0/r1"
    md = md_path.read_text()
    assert "| srresnet@0.1.0/r2 |" in md and "- `srresnet@0.1.0/r1`: version=0.1.0/r1" in md


def test_rows_never_mix_profiles_or_training_sets(tmp_path):
    """Two profiles (or training sets) of one method in one folder are two rows, each named in the legend."""
    from srbench.runner.board_files import write_leaderboard

    runs = (("p48", {"patch_size": 48}, "sr291", 28.0), ("p64", {"patch_size": 64}, "sr291", 28.4),
            ("t91", {"patch_size": 48}, "t91", 27.9))
    for trial_id, profile, dataset, psnr in runs:
        folder = tmp_path / "trials" / trial_id
        folder.mkdir(parents=True)
        (folder / "result.json").write_text(json.dumps({
            "trial_id": trial_id, "status": "ok", "reason": "",
            "spec": {"method": "srresnet", "method_options": {"lr": 5e-4}, "scale": 4, "degradation": "bicubic",
                     "hr_fraction": 1.0, "hr_source": "paired", "seed": 0, "test_datasets": ["set5"],
                     "dataset": dataset, "profile": profile},
            "metrics": {"set5": {"mean": {"psnr_y": psnr}}}}))
    csv_path, _, _ = write_leaderboard(tmp_path)
    table = pd.read_csv(csv_path, keep_default_na=False)
    assert len(table) == 3 and list(table["seeds"]) == [1, 1, 1]
    variants = sorted(table["variant"])
    assert variants == ["dataset=sr291, profile.patch_size=48", "dataset=sr291, profile.patch_size=64",
                        "dataset=t91, profile.patch_size=48"]


def test_rows_never_mix_revisions_of_a_network(tmp_path):
    """Two trials of one method, options and seed whose generator revisions differ are two rows, not one
    row of two same-seed trials averaged (seen when two folders of one probe were merged for a report)."""
    from srbench.runner.board_files import write_leaderboard

    for trial_id, revision, psnr in (("g1", "0.1.0/r1", 29.59), ("g2", "0.1.0/r2", 29.61)):
        folder = tmp_path / "trials" / trial_id
        folder.mkdir(parents=True)
        (folder / "result.json").write_text(json.dumps({
            "trial_id": trial_id, "status": "ok", "reason": "",
            "spec": {"method": "srresnet", "method_options": {"loss": "l1"}, "scale": 4, "degradation": "bicubic",
                     "hr_fraction": 1.0, "hr_source": "paired", "seed": 0, "test_datasets": ["set5"],
                     "component_versions": {"generators/srresnet_resize": revision}},
            "metrics": {"set5": {"mean": {"psnr_y": psnr}}}}))
    csv_path, _, _ = write_leaderboard(tmp_path)
    table = pd.read_csv(csv_path, keep_default_na=False).set_index("variant")
    assert list(table["seeds"]) == [1, 1]
    assert table.loc["component_versions.generators/srresnet_resize=0.1.0/r2", "psnr_y"] == 29.61


def test_a_row_whose_seeds_trained_on_a_cpu_and_a_gpu_says_so_beside_its_train_seconds(tmp_path):
    from srbench.runner.board_files import write_leaderboard

    for seed, device, seconds in ((0, "cpu", 700.0), (1, "cuda:0", 80.0), (2, "cuda", 90.0)):
        folder = tmp_path / "trials" / f"s-{seed}"
        folder.mkdir(parents=True)
        (folder / "result.json").write_text(json.dumps({
            "trial_id": f"s-{seed}", "status": "ok", "reason": "", "device": device,
            "spec": {"method": "srresnet", "method_options": {}, "scale": 4, "degradation": "bicubic",
                     "hr_fraction": 0.05, "hr_source": "paired", "seed": seed, "test_datasets": ["default"]},
            "cost": {"train_seconds": seconds}, "metrics": {"default": {"mean": {"psnr_y": 28.0 + seed}}}}))
    csv_path, md_path, _ = write_leaderboard(tmp_path)
    table = pd.read_csv(csv_path, keep_default_na=False).set_index("method")
    assert table.loc["srresnet", "devices"] == "cpu+cuda" and table.loc["srresnet", "train_seconds"] == 290.0
    assert "| 290 (cpu+cuda) |" in md_path.read_text()
    # one kind of device: the plain number
    (tmp_path / "trials" / "s-0" / "result.json").unlink()
    _, md_path, _ = write_leaderboard(tmp_path)
    assert "| 85 |" in md_path.read_text()
