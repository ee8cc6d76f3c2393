"""``python -m guide``: commands dispatch, and user mistakes end in one line, not a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from guide.__main__ import main


def test_help_and_unknown_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0 and "train-guide" in capsys.readouterr().out
    assert main(["frobnicate"]) == 2 and "unknown command 'frobnicate'" in capsys.readouterr().err


def test_a_folder_that_is_not_a_model_is_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--model", str(tmp_path), "--repeats", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "config.json" in err and "Traceback" not in err


def test_bench_runs_on_a_tiny_model(tiny_model_dir: Path, tmp_path: Path) -> None:
    import json

    from guide.data.fashion_mnist import fashion_mnist_available

    if not fashion_mnist_available():
        pytest.skip("bench draws a test scene: apt-get install dataset-fashion-mnist")

    out = tmp_path / "bench.json"
    assert main(["bench", "--model", str(tiny_model_dir), "--repeats", "1", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    for key in ("head_ms", "tail_ms", "click_turn_ms", "click_turn_full_network_ms", "full_over_cached"):
        assert report[key] > 0, key
