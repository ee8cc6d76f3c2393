"""``python -m guide evaluate clicks | effort`` end to end on a tiny random model (scenes classes, 64 px)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from guide.__main__ import main
from guide.data.fashion_mnist import fashion_mnist_available

pytestmark = pytest.mark.skipif(not fashion_mnist_available(), reason="scenes need apt-get install dataset-fashion-mnist")

FAST = ["--split", "val", "--limit", "2", "--max-clicks", "2", "--max-steps", "3"]


def test_evaluate_clicks_reports_both_protocols(app_model_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "clicks.json"
    assert main(["evaluate", "clicks", "--model", str(app_model_dir), *FAST, "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["images"] == 2 and report["counts"] == [0, 1]
    clicks, questions = report["clicks"], report["questions"]
    assert clicks["miou"][0] == questions["miou"][0]  # the same unguided start
    for r in (clicks, questions):
        assert 0 <= r["noc@85"] <= 2 and 0 <= r["noc@90"] <= 2 and r["noc@85"] <= r["noc@90"]
        assert 0 <= r["failed@90"] <= 2
    assert set(report["clicks_then_hand_fixes"]["interactions"]) == {"0", "1"}
    # its twenty-questions protocol is evaluate questions' (one run gives Table 1 and the click metric)
    out_q = tmp_path / "questions.json"
    assert main(["evaluate", "questions", "--model", str(app_model_dir), *FAST, "--questions", "0,1",
                 "--json", str(out_q)]) == 0
    table1 = json.loads(out_q.read_text())
    assert table1["miou"] == questions["miou"] and table1["pixel_accuracy"] == questions["pixel_accuracy"]
    # every report records the session's settings whole (guide/core/settings.py), the flags included
    from guide.core.settings import Settings

    for r in (report, table1):
        settings = Settings.from_dict(r["settings"])
        assert settings.clicks.max_steps == 3 and settings.asking.spread == r["ask_spread"] == 3


def test_evaluate_effort_counts_interactions(app_model_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "effort.json"
    assert main(["evaluate", "effort", "--interactions", "--model", str(app_model_dir), *FAST, "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    mean = report["mean"]
    assert mean["guided"] == pytest.approx(mean["clicks"] + mean["answers"] + mean["hand_fixes"])
    assert mean["clicks"] <= 2 and mean["answers"] <= 2
    assert mean["paint_from_scratch"] >= 1 and mean["hand_fix_prediction"] >= 0
    # forked workers give the same numbers as the serial run
    out2 = tmp_path / "effort2.json"
    assert main(["evaluate", "effort", "--interactions", "--model", str(app_model_dir), *FAST, "--workers", "2", "--json", str(out2)]) == 0
    parallel = json.loads(out2.read_text())
    assert parallel["mean"] == mean and parallel["median"] == report["median"]


def test_evaluate_effort_in_seconds(app_model_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "seconds.json"
    assert main(["evaluate", "effort", "--model", str(app_model_dir), *FAST, "--cap", "15", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    annotators = report["annotators"]
    assert report["images"] == 2 and report["cost_model"]["click"] > 0
    assert not annotators[report["best_hand"]]["guides"] and not annotators[report["best_hand"]]["lower_bound"]
    assert annotators[report["best_guided"]]["guides"]
    for name, a in annotators.items():
        assert 0 <= a["seconds_per_image"] <= 15 and 0 <= a["reached"] <= 2, name
        assert a["interactions_per_image"] >= 0 and a["miou"]["reached"] <= 2
    # a polygon costs more than the one click of the ideal brush, region for region
    assert annotators["hand: polygons"]["seconds_per_image"] >= annotators["hand: ideal brush (lower bound)"]["seconds_per_image"]
    # the carrying annotators (guide/dialogue/carry.py) guide, and their learning is machine time, beside the person's
    for name in ("guided: carried guide + all tools", "guided: carried guide, local clicks + all tools"):
        assert annotators[name]["guides"] and annotators[name]["carried"], name
        assert annotators[name]["machine_seconds_carry_fit_per_image"] > 0, name
    assert report["carry"]["fit"] == ["gamma", "bias"]
