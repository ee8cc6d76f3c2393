"""``python -m guide``: commands dispatch, and user mistakes end in one line, not a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from guide.__main__ import main

ALL_COMMANDS = ["train-segmenter", "train-guide", "evaluate", "evaluate text", "evaluate reader", "bench", "examples", "import", "space"]


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in ([], ["--help"]):
        assert main(argv) == 0
        listed = [line.strip().split("  ")[0] for line in capsys.readouterr().out.splitlines() if line.startswith("  ")]
        assert listed == ALL_COMMANDS


@pytest.mark.parametrize("command", ALL_COMMANDS)
def test_every_command_answers_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*command.split(), "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: python -m guide {command} ") and "options:" in out


def test_unknown_command_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["frobnicate"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: unknown command 'frobnicate'") and err.count("\n") == 1
    assert "train-guide" in err and "examples" in err  # says what there is


def test_a_bad_option_value_is_argparse_usage_not_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["examples", "--count", "0"]) == 2
    err = capsys.readouterr().err
    assert "error: argument --count: must be at least 1, not 0" in err and "Traceback" not in err


def test_ctrl_c_is_one_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import guide.evaluation.bench

    def interrupted(argv: list[str]) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(guide.evaluation.bench, "main", interrupted)
    assert main(["bench"]) == 130 and capsys.readouterr().err == "interrupted\n"


def test_a_trainer_refusal_is_one_error_line(tiny_model_dir: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    # train-guide refuses with SystemExit("...") when --init has no text guide to start from.
    assert main(["train-guide", "--model", str(tiny_model_dir), "--init", str(tiny_model_dir),
                 "--out", str(tmp_path / "o"), "--work-dir", str(tmp_path / "w")]) == 2
    err = capsys.readouterr().err
    assert err == f"error: --init {tiny_model_dir} has no text guide to start from\n"


def test_examples_writes_the_test_scenes_the_repo_ships(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from guide.data.fashion_mnist import fashion_mnist_available

    if not fashion_mnist_available():
        pytest.skip("examples draws test scenes: apt-get install dataset-fashion-mnist")
    import numpy as np
    from PIL import Image

    assert main(["examples", "--out", str(tmp_path), "--count", "2"]) == 0
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == ["scene_00.png", "scene_00_label.png", "scene_01.png", "scene_01_label.png"]
    assert capsys.readouterr().out.split() == [str(tmp_path / n) for n in written]
    repo_examples = Path(__file__).resolve().parent.parent / "examples"
    for name in written:  # the shipped examples/ are exactly what the command writes
        assert np.array_equal(np.asarray(Image.open(tmp_path / name)), np.asarray(Image.open(repo_examples / name))), name


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


def test_app_takes_session_settings_from_a_file(tmp_path) -> None:
    """python app.py --settings FILE.json: every tab's sessions use them; a bad file stops the start with a message."""
    import json

    import pytest

    from guide.ui.cli import demo_from_args

    good = tmp_path / "settings.json"
    good.write_text(json.dumps({"asking": {"spread": 5}}))
    demo, _ = demo_from_args(["--settings", str(good)])
    assert demo.guide_app.pool.settings.asking.spread == 5  # type: ignore[attr-defined]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"anchors": 3}))
    with pytest.raises(SystemExit, match="Could not read the settings file"):
        demo_from_args(["--settings", str(bad)])


@pytest.mark.parametrize("argv, message", [
    (["evaluate", "questions", "--limit", "0"], "argument --limit: must be at least 1, not 0"),
    (["evaluate", "effort", "--limit", "2", "--cap", "-1"], "argument --cap: must be more than 0, not -1"),
    (["evaluate", "effort", "--cap", "0"], "argument --cap: must be more than 0, not 0"),
    (["evaluate", "effort", "--cap", "nan"], "argument --cap: must be more than 0, not nan"),
    (["evaluate", "clicks", "--max-clicks", "0"], "argument --max-clicks: must be at least 1, not 0"),
    (["evaluate", "effort", "--target", "1.5"], "argument --target: must be more than 0 and at most 1, not 1.5"),
    (["evaluate", "questions", "--workers", "0"], "argument --workers: must be at least 1, not 0"),
    (["evaluate", "questions", "--lr", "0"], "argument --lr: must be more than 0, not 0"),
    (["evaluate", "questions", "--limit", "two"], "argument --limit: expected an integer, not 'two'"),
    (["evaluate", "questions", "--questions", "0,-1"], "argument --questions: question counts must be at least 0, not 0,-1"),
    (["evaluate", "questions", "--questions", "0,a"], "argument --questions: expected a comma list of whole numbers"),
    (["evaluate", "text", "--limit", "0"], "argument --limit: must be at least 1, not 0"),
    (["evaluate", "text", "--runs", "0"], "argument --runs: must be at least 1, not 0"),
])
def test_bad_numbers_are_refused_before_any_work(argv: list[str], message: str, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    import guide.evaluation.evaluate
    import guide.models.hub

    def no_model(*a: object, **k: object) -> None:
        raise AssertionError("a bad number must stop the command before the model loads")

    monkeypatch.setattr(guide.evaluation.evaluate, "load_model", no_model)
    monkeypatch.setattr(guide.models.hub, "load_model", no_model)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.startswith("usage: python -m guide evaluate") and "Traceback" not in err
