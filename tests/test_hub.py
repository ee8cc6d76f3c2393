import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from guide.models.hub import ModelLoadError, load_model, parse_spec, read_config, resolve_model_folder

REPO = Path(__file__).resolve().parent.parent


def test_parse_spec():
    assert parse_spec("owner/name@abc123") == ("owner/name", "abc123")
    assert parse_spec("owner/name") == ("owner/name", None)


def test_local_folder_roundtrip(tiny_model_dir, tiny_model):
    again = load_model(tiny_model_dir, device="cpu")
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(tiny_model.segmenter(x), again.segmenter(x))
    assert again.source.startswith("local folder")
    assert read_config(tiny_model_dir).classes == tiny_model.classes


def test_network_weights_are_frozen(tiny_model):
    assert not any(p.requires_grad for p in tiny_model.segmenter.parameters())


def test_corrupted_weights_name_the_file(tiny_model_dir, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(tiny_model_dir, bad)
    (bad / "model.safetensors").write_bytes(b"not a safetensors file at all")
    with pytest.raises(ModelLoadError, match="model.safetensors"):
        load_model(bad)


def test_mismatched_weights_name_the_file(tiny_model_dir, tmp_path):
    bad = tmp_path / "mismatch"
    shutil.copytree(tiny_model_dir, bad)
    config = json.loads((bad / "config.json").read_text())
    config["classes"] = config["classes"] + ["extra"]
    config["palette"] = config["palette"] + [[1, 2, 3]]
    (bad / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelLoadError, match="does not match"):
        load_model(bad)


def test_missing_config_and_unknown_name(tmp_path):
    with pytest.raises(ModelLoadError, match="config.json"):
        read_config(tmp_path)
    with pytest.raises(ModelLoadError, match="no model folder"):
        resolve_model_folder("definitely-not-a-model")


def _lay_out_hf_cache(cache: Path, repo_id: str, revision: str, src: Path) -> None:
    """The on-disk layout huggingface_hub uses: models--owner--name/{snapshots/REV,refs}."""
    root = cache / ("models--" + repo_id.replace("/", "--"))
    snap = root / "snapshots" / revision
    snap.mkdir(parents=True)
    for f in src.iterdir():
        shutil.copy(f, snap / f.name)
    (root / "refs").mkdir()
    (root / "refs" / "main").write_text(revision)


@pytest.mark.slow  # a Python subprocess (the fast tier, -m "not slow", leaves it out)
def test_hub_offline_cache_path(tiny_model_dir, tmp_path):
    """load_model('owner/name@rev') under HF_HUB_OFFLINE=1 uses the local HF cache, fast."""
    rev = "0123456789abcdef0123456789abcdef01234567"
    _lay_out_hf_cache(tmp_path / "hub", "someone/tiny-guide", rev, tiny_model_dir)
    code = (
        "import time, torch; from guide.models.hub import load_model; t = time.time();"
        f"m = load_model('someone/tiny-guide@{rev}', device='cpu');"
        "print(m.source); print(m.classes); print(round(time.time() - t, 1))"
    )
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_HUB_CACHE=str(tmp_path / "hub"), PYTHONPATH=str(REPO))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    source, classes, seconds = out.stdout.strip().splitlines()[-3:]
    assert "local HF cache of someone/tiny-guide" in source
    assert "coat" in classes
    assert float(seconds) < 30  # no network retries

    # Same request without the cache: a clear error, not a hang.
    env["HF_HUB_CACHE"] = str(tmp_path / "empty")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode != 0 and "not in the local cache" in out.stderr


def test_default_model_loads_offline_and_matches_reference():
    """The shipped default model loads from checkpoints/ and reproduces its stored reference."""
    from guide import DEFAULT_MODEL
    from guide.dialogue.session import GuideSession

    folder = REPO / "checkpoints" / DEFAULT_MODEL
    ref = folder / "reference.json"
    if not ref.is_file():
        pytest.skip("no shipped default model yet (checkpoints/%s/reference.json)" % DEFAULT_MODEL)
    from PIL import Image

    expected = json.loads(ref.read_text())
    model = load_model(None, device="cpu")
    session = GuideSession(model)
    session.set_image(np.asarray(Image.open(REPO / expected["image"]).convert("RGB")))
    pred = session.predict()[:: expected["stride"], :: expected["stride"]]
    # Equal up to float differences between machines (a pixel on a class boundary may flip).
    assert (pred == np.array(expected["labels"])).mean() > 0.99


@pytest.mark.slow  # a Python subprocess (the fast tier, -m "not slow", leaves it out)
def test_a_cached_commit_is_loaded_without_asking_the_hub(tiny_model_dir, tmp_path):
    """owner/name@<commit hash> already in the HF cache: no network needed (a commit never changes)."""
    rev = "89abcdef0123456789abcdef0123456789abcdef"
    _lay_out_hf_cache(tmp_path / "hub", "someone/tiny-guide", rev, tiny_model_dir)
    code = f"from guide.models.hub import load_model; print(load_model('someone/tiny-guide@{rev}', device='cpu').source)"
    # An endpoint that refuses connections: were the Hub asked, the source would say "Hub unreachable".
    env = dict(os.environ, HF_HUB_CACHE=str(tmp_path / "hub"), HF_ENDPOINT="http://127.0.0.1:9", PYTHONPATH=str(REPO))
    env.pop("HF_HUB_OFFLINE", None)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == f"local HF cache of someone/tiny-guide@{rev} (a pinned commit: the Hub was not asked)"


def test_model_choices_list_the_embedded_model_and_torchvision():
    from guide.models.hub import describe_model, model_choices

    specs = [spec for _, spec in model_choices(extra=["someone/else@v1"])]
    assert specs[0] == "scenes-lraspp" and specs[-1] == "someone/else@v1"
    assert "torchvision:deeplabv3_mobilenet_v3_large" in specs and len(specs) == len(set(specs)) == 8
    assert describe_model("scenes-lraspp").startswith("scenes-lraspp · synthetic scenes · 16 classes")


@pytest.mark.parametrize("spec", ["./no-such-folder", "../no-such-folder", "/no/such/folder", "~/no-such-folder",
                                  "models/deeplab/no-such", "./no-such-folder@v1"])
def test_a_local_path_typo_says_the_folder_does_not_exist(spec, monkeypatch):
    """A spec that can only be a path never reaches the Hub: the message names the missing folder."""
    import guide.models.hub as hub

    def no_hub(*args):
        raise AssertionError("the Hub was asked about a local path")

    monkeypatch.setattr(hub, "_hub_folder", no_hub)
    with pytest.raises(ModelLoadError) as e:
        load_model(spec)
    message = str(e.value)
    assert f"model folder {spec} does not exist" in message and "Hub" not in message
    assert str(Path(spec).expanduser().resolve()) in message  # where it looked


def test_a_path_to_a_file_says_it_is_not_a_folder(tmp_path):
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"x")
    with pytest.raises(ModelLoadError, match="is a file, not a model folder"):
        load_model(str(weights))


def test_the_command_line_says_the_folder_does_not_exist(capsys):
    from guide.__main__ import main

    assert main(["bench", "--model", "./no-such-folder"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: model folder ./no-such-folder does not exist") and err.count("\n") == 1


def test_a_hub_id_offline_says_offline(monkeypatch, tmp_path):
    """HF_HUB_OFFLINE=1 and a Hub model that is not cached: the message says downloads are off."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelLoadError) as e:
        load_model("someone/not-cached-anywhere@0123456789abcdef0123456789abcdef01234567")
    message = str(e.value)
    assert "offline" in message and "HF_HUB_OFFLINE=1" in message and "not in the local cache" in message
    assert "ConnectionError" not in message


def test_an_unreachable_hub_says_unreachable(monkeypatch):
    import guide.models.hub as hub

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(hub, "hub_reachable", lambda: False)
    with pytest.raises(ModelLoadError) as e:
        load_model("someone/not-cached-anywhere@main")
    message = str(e.value)
    assert "is not reachable" in message and "not in the local cache" in message and "offline" not in message


def test_hub_ids_are_not_paths():
    from guide.models.hub import looks_like_path

    assert not any(looks_like_path(s) for s in ["owner/name", "owner/name@v1", "owner/name.v2@abc", "scenes-lraspp"])
    assert all(looks_like_path(s) for s in ["./x", "../x", "/x", "~/x", "~", ".", "a/b/c", "./x@v1"])


def test_a_mistyped_folder_that_is_also_a_hub_id_says_both(tiny_model_dir, tmp_path, monkeypatch, capsys):
    """``checkpoints/nope`` may be a folder or a Hub repo id: the message says it is neither here nor on
    the Hub, and names the model folders that do exist beside it (the Hub is asked once, as before)."""
    import guide.models.hub as hub
    from guide.__main__ import main

    shutil.copytree(tiny_model_dir, tmp_path / "checkpoints" / "mine")
    (tmp_path / "checkpoints" / "eval").mkdir()  # not a model folder: not listed
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    probes = []
    monkeypatch.setattr(hub, "hub_reachable", lambda: probes.append(1) or False)
    with pytest.raises(ModelLoadError) as e:
        load_model("checkpoints/nope")
    message = str(e.value)
    assert message.startswith("no model folder checkpoints/nope here")
    assert str(tmp_path / "checkpoints" / "nope") in message and "model folders in checkpoints/: mine)" in message
    assert "could not fetch checkpoints/nope@main: the Hugging Face Hub" in message and "not in the local cache" in message
    assert probes == [1]

    assert main(["evaluate", "questions", "--model", "checkpoints/nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no model folder checkpoints/nope here") and err.count("\n") == 1

    shutil.rmtree(tmp_path / "checkpoints" / "mine")
    with pytest.raises(ModelLoadError, match=r"checkpoints/ holds no model folder\); as a Hub repo id: could not fetch"):
        load_model("checkpoints/nope")
