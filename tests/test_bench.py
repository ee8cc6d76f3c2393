"""The speed benchmark runs and reports what issue 12 asks for (its numbers live in README, not here)."""

import json

import pytest
import torch

from guide.evaluation.bench import CLICK_STEPS, main, run_arch_bench, run_bench


def test_arch_bench_reports_every_field_and_names_the_device():
    r = run_arch_bench("lraspp_mobilenet_v3_large", 160, torch.device("cpu"), repeats=1, dense_steps=1)
    assert r["fast_path"] is True and r["split_layer"] == "features.16"
    assert "CPU" in r["device"] and r["dense_steps_measured"] == 1
    for key in ("head_ms", "tail_ms", "click_step_ms", "click_turn_ms", "dense_click_turn_ms", "text_style_turn_ms"):
        assert r[key] > 0, key
    assert r["click_over_tail"] == pytest.approx(r["click_turn_ms"] / r["tail_ms"], rel=0.05)
    assert CLICK_STEPS == 28


def test_cli_writes_json_for_an_arch(tmp_path, capsys):
    out = tmp_path / "bench.json"
    main(["--arch", "fcn_resnet50", "--size", "48", "--repeats", "1", "--dense-steps", "1", "--device", "cpu",
          "--json", str(out)])
    report = json.loads(out.read_text())
    assert report["arch"] == "fcn_resnet50" and report["size"] == 48 and report["fast_path"] is True
    assert "click_over_tail" in capsys.readouterr().out


def test_model_bench_still_runs(tiny_model_dir, image):
    r = run_bench(str(tiny_model_dir), 1, "sgd", image=image, device=torch.device("cpu"))
    assert r["click_steps"] >= 1 and r["click_turn_ms"] > 0 and r["click_turn_dense_tail_ms"] > 0
