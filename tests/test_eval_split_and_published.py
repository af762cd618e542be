"""``--eval-split val`` (scored as DATASET/val, never mixed with test rows) and the published table."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from srbench.api import run
from srbench.config import RunConfig
from srbench.errors import UsageError
from srbench.plugin_manager import load_plugins
from srbench.published import (
    canonical_test_set,
    published_lines,
    published_rows,
    published_training_set,
)
from srbench.published.render import published_html
from srbench.published.table import load_table

MODELS = {"bicubic", "SRCNN", "FSRCNN", "VDSR", "LapSRN", "DRRN", "SRResNet", "SRGAN", "EDSR"}
TEST_SETS = {"Set5", "Set14", "BSD100", "Urban100", "Manga109"}


@pytest.fixture(scope="module")
def system():
    return load_plugins()


def _config(tmp_path, **kw) -> RunConfig:
    base = {"methods": ["bicubic", "srresnet"], "dataset": "synthetic:12x48", "profile": "smoke",
            "hr_fraction": [1.0], "out": str(tmp_path / "out"), "metrics": ["psnr_y"]}
    base.update(kw)
    return RunConfig(**base)


def test_val_run_scores_the_validation_split_only(tmp_path, system, capsys) -> None:
    summary = run(_config(tmp_path, eval_split="val", test_datasets=["synthetic:4x48"]), plugins=system,
                  progress=False)
    assert summary.exit_code == 0
    for r in summary.results:
        assert list(r["metrics"]) == ["synthetic:12x48/val"] and r["spec"]["test_datasets"] == ["synthetic:12x48/val"]
        assert r["metrics"]["synthetic:12x48/val"]["per_image"]
    assert "are not scored" in capsys.readouterr().err  # --test-datasets said to be ignored
    # A test run of the same grid: other trials, other tables; the leaderboard keeps them apart.
    run(_config(tmp_path), plugins=system, progress=False)
    lb = pd.read_csv(tmp_path / "out" / "leaderboard.csv")
    assert set(lb["test_dataset"]) == {"synthetic:12x48", "synthetic:12x48/val"}
    md = (tmp_path / "out" / "leaderboard.md").read_text()
    assert "## synthetic:12x48/val, x4" in md and "## synthetic:12x48, x4" in md
    val_ids = {row["id"] for r in summary.results for row in r["metrics"]["synthetic:12x48/val"]["per_image"]}
    trained_on = {i for r in summary.results for i in r["split"]["paired_ids"] + r["split"]["lr_only_ids"]}
    assert val_ids and val_ids.isdisjoint(trained_on)


def test_val_run_of_a_dataset_named_without_argument(tmp_path, system) -> None:
    """``default/val`` is a table name, not a dataset spec: planning must not parse it as one."""
    summary = run(_config(tmp_path, methods=["bicubic"], dataset="default", eval_split="val"), plugins=system,
                  progress=False)
    assert summary.exit_code == 0 and [r["status"] for r in summary.results] == ["ok"]
    assert list(summary.results[0]["metrics"]) == ["default/val"]
    assert "datasets/default" in summary.results[0]["spec"]["component_versions"]


def test_a_trained_trial_is_scored_on_val_and_new_test_sets_without_training_again(tmp_path, system) -> None:
    """Test sets are not part of a trial's id: a later run naming the validation split (or another
    test set) scores the finished trials from their checkpoints; a changed test dataset is re-scored."""
    first = run(_config(tmp_path), plugins=system, progress=False)
    ids = sorted(r["trial_id"] for r in first.results)
    trained_at = {r["trial_id"]: r["finished_at"] for r in first.results}
    val = run(_config(tmp_path, eval_split="val"), plugins=system, progress=False)
    assert sorted(r["trial_id"] for r in val.results) == ids and val.skipped == len(ids) and val.rescored == len(ids)
    for r in val.results:
        assert set(r["metrics"]) == {"synthetic:12x48", "synthetic:12x48/val"}  # the test scores are kept
        assert r["metrics"]["synthetic:12x48/val"]["per_image"] and r["finished_at"] == trained_at[r["trial_id"]]
    lb = pd.read_csv(tmp_path / "out" / "leaderboard.csv")
    assert set(lb["test_dataset"]) == {"synthetic:12x48", "synthetic:12x48/val"}
    again = run(_config(tmp_path, eval_split="val"), plugins=system, progress=False)
    assert again.rescored == 0  # nothing left to score
    # A test set whose version differs from the one stamped on its scores is scored again.
    for path in (tmp_path / "out" / "trials").glob("*/result.json"):
        result = json.loads(path.read_text())
        result["metrics"]["synthetic:12x48/val"]["dataset_version"] = "0.0.1/r0"
        path.write_text(json.dumps(result))
    changed = run(_config(tmp_path, eval_split="val"), plugins=system, progress=False)
    assert changed.rescored == len(ids) and sorted(r["trial_id"] for r in changed.results) == ids
    assert {r["metrics"]["synthetic:12x48/val"]["dataset_version"] for r in changed.results} != {"0.0.1/r0"}


def test_bad_eval_split_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="--eval-split 'dev': accepted values are test, val"):
        RunConfig(eval_split="dev").validate()


# -- the published table -----------------------------------------------------------------------

def test_published_csv_schema_and_ranges() -> None:
    rows = load_table()
    assert {r.model for r in rows} == MODELS and {r.test_set for r in rows} == TEST_SETS
    assert {r.scale for r in rows} == {2, 3, 4}
    keys = [(r.model, r.scale, r.test_set) for r in rows]
    assert len(keys) == len(set(keys))
    for r in rows:
        assert r.paper.strip() and r.training_set.strip() and r.source.strip()
        assert not math.isnan(r.psnr_y) or not math.isnan(r.ssim_y)
        assert math.isnan(r.psnr_y) or 20.0 < r.psnr_y < 40.0
        assert math.isnan(r.ssim_y) or 0.6 < r.ssim_y < 1.0
    # Within each (model, test set), a larger scale is harder.
    by = {(r.model, r.test_set, r.scale): r.psnr_y for r in rows}
    for (model, test, scale), psnr in by.items():
        if (model, test, scale + 1) in by:
            assert by[(model, test, scale + 1)] < psnr
    # The bar: FSRCNN x4.
    fsrcnn = {r.test_set: r.psnr_y for r in published_rows("set5", 4) + published_rows("urban100", 4)
              if r.model == "FSRCNN"}
    assert fsrcnn == {"Set5": 30.72, "Urban100": 24.62}


def test_names_map_to_the_table() -> None:
    assert canonical_test_set("set5") == "Set5" and canonical_test_set("BSD100") == "BSD100"
    assert canonical_test_set("folder:/data/Set14/HR") == "Set14" and canonical_test_set("folder:~/x/urban100") == "Urban100"
    assert canonical_test_set("sr291/val") is None and canonical_test_set("default") is None
    assert published_training_set("sr291") == "291" and published_training_set("default") is None


def _agg(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows)


def test_published_rows_render_under_a_table_with_deltas() -> None:
    g = _agg([{"method": "srresnet", "dataset": "sr291", "psnr_y": 30.50, "params": 1000},
              {"method": "bicubic", "dataset": "sr291", "psnr_y": 28.40, "params": 0},
              {"method": "srgan", "dataset": "default", "psnr_y": 29.0, "params": 2000}])
    lines = published_lines(g, "set5", 4, "bicubic")
    text = "\n".join(lines)
    assert "Published, not run here (Set5 x4" in text
    assert "| VDSR | 291 | 31.35 | 0.8838 | Kim et al., VDSR, CVPR 2016 |" in text
    assert "| EDSR | DIV2K | 32.46 | 0.8968 |" in text
    # srresnet trained on sr291 is compared with the published models trained on 291, in dB.
    delta = [line for line in lines if line.startswith("srresnet")]
    assert delta == [("srresnet (trained here on sr291, PSNR-Y 30.50) vs published models trained on 291: "
                      "VDSR -0.85 dB, LapSRN -1.04 dB, DRRN -1.18 dB.")]
    assert not any(line.startswith(("bicubic (", "srgan (")) for line in lines)  # untrained; no published twin
    assert "VDSR" in published_html(g, "set5", 4, "bicubic") and "-0.85 dB" in published_html(g, "set5", 4, "bicubic")


def test_no_published_rows_where_nothing_compares() -> None:
    g = _agg([{"method": "srresnet", "dataset": "sr291", "psnr_y": 30.5, "params": 1}])
    assert published_lines(g, "sr291/val", 4, "bicubic") == []
    assert published_lines(g, "set5", 4, "blur") == []  # another degradation: another protocol
    assert published_lines(g, "default", 4, "bicubic") == [] and published_html(g, "default", 4, "bicubic") == ""
    # Manga109 has only x4 rows.
    assert published_lines(g, "manga109", 2, "bicubic") == []
    assert "Manga109 x4" in "\n".join(published_lines(g, "manga109", 4, "bicubic"))
