"""``python -m guide space``: the files a Space gets (dry run), the refusal without a token,
and the upload itself against a stand-in for the Hub (no network anywhere)."""

from __future__ import annotations

import fnmatch
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from guide.__main__ import main

ROOT = Path(__file__).resolve().parent.parent
HUB_LIMIT = 10 * 1000 * 1000  # the Hub keeps plain git files only under 10 MB (and only text)
SHA = "0123456789abcdef0123456789abcdef01234567"


def dry_run(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    assert main(["space", "someone/guide-me", "--dry-run", "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def binary(path: Path) -> bool:
    return b"\0" in path.read_bytes()[:8000]


def gitattributes_lfs() -> list[str]:
    lines = (ROOT / ".gitattributes").read_text().splitlines()
    return [line.split()[0] for line in lines if "filter=lfs" in line and not line.startswith("#")]


def test_the_dry_run_lists_what_the_space_needs_and_nothing_else(capsys: pytest.CaptureFixture[str]) -> None:
    plan = dry_run(capsys)
    files = {f["path_in_repo"]: f for f in plan["files"]}
    for need in ["app.py", "requirements.txt", "README.md", ".gitattributes", "guide/__init__.py",
                 "guide/text/encoder.py", "checkpoints/scenes-lraspp/config.json", "checkpoints/scenes-lraspp/model.safetensors",
                 "checkpoints/scenes-lraspp/text_guide.safetensors", "examples/scene_00.png",
                 "guide/ui/static/app.css", "guide/ui/static/opacity.js", "guide/ui/static/opacity.svg",
                 "guide/ui/static/shortcuts.js"]:
        assert need in files, need
    # every module of the package goes, whatever was added since (guide/ is a pattern, not a list)
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "guide").rglob("*.py") if "__pycache__" not in p.parts}
    assert modules <= set(files)
    lfs = gitattributes_lfs()
    for path, f in files.items():
        local = ROOT / path
        assert f["size"] == local.stat().st_size, path
        # nothing over the Hub's plain-file limit, and no binary, outside large-file storage ...
        if f["size"] >= HUB_LIMIT or binary(local):
            assert f["large"], path
            # ... and .gitattributes names it too, so a git-lfs commit stores it the same way
            assert any(fnmatch.fnmatch(path.rsplit("/", 1)[-1], p) for p in lfs), path
        # nothing secret
        parts = path.split("/")
        assert not {".env", ".git", ".venv", "venv", "__pycache__", ".netrc"} & set(parts), path
        assert not path.endswith((".pem", ".key", ".pyc", ".token", ".log")) and "token" not in parts[-1].replace("tokenizer", ""), path
        # no evaluation or test output
        assert parts[0] not in {"tests", "experiments", "artifacts", "runs", "docs", ".ci", ".cache", ".gradio"}, path
        assert "eval" not in parts and not path.endswith("reference.json") and not path.endswith("_label.png"), path
    assert files["checkpoints/scenes-lraspp/model.safetensors"]["large"]
    assert not files["app.py"]["large"] and not files["guide/models/hub.py"]["large"]
    assert plan["variables"] == {} and plan["preload_from_hub"] == []  # the embedded model runs as it is


def test_the_dry_run_table_says_what_goes_to_large_file_storage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["space", "someone/guide-me", "--dry-run"]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[-1]: line.split()[0] for line in out.splitlines() if line[:4] in ("LFS ", "git ")}
    assert rows["checkpoints/scenes-lraspp/model.safetensors"] == "LFS" and rows["app.py"] == "git"
    assert "to large-file storage (LFS/Xet)" in out and "dry run: nothing uploaded" in out and "HF_TOKEN" in out


def test_planted_secrets_and_junk_stay_behind(tmp_path: Path) -> None:
    """A checkout with secrets, caches and outputs lying around uploads none of them; a large
    text file and a binary under guide/ go to large-file storage."""
    from guide.serving.space import plan

    root = tmp_path / "checkout"
    for name in ["app.py", "requirements.txt", "README.md", ".gitattributes"]:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, root / name)
    shutil.copytree(ROOT / "guide", root / "guide", ignore=shutil.ignore_patterns("__pycache__"))
    (root / "examples").mkdir()
    shutil.copy(ROOT / "examples/scene_00.png", root / "examples/scene_00.png")
    planted = [".env", "guide/.env", "guide/.env.local", "guide/server.pem", "guide/hf_token.txt", "guide/id_rsa",
               "guide/__pycache__/hub.cpython-311.pyc", ".venv/lib/site.py", ".git/config", "tests/test_x.py",
               "experiments/load.py", "runs/a/log.json", "artifacts/x.safetensors", "guide/eval/log.json",
               "guide/train.log", "guide/my_secret.py", "examples/scene_00_label.png", "docs/app.png",
               "checkpoints/eval/load-cpu.json", ".cache/examples/scene_00.png"]
    for rel in planted:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("hf_SECRET\n")
    (root / "guide/big_table.txt").write_text("x" * (HUB_LIMIT + 1))
    (root / "guide/blob.dat").write_bytes(b"\0\1\2" * 100)
    p = plan("someone/guide-me", root=root)
    got = {f.path_in_repo: f for f in p.files}
    assert not set(planted) & set(got)
    assert got["guide/big_table.txt"].large and got["guide/blob.dat"].large and not got["guide/models/hub.py"].large
    assert "app.py" in got and "examples/scene_00.png" in got and got["examples/scene_00.png"].large


def test_a_hub_model_is_preloaded_not_uploaded(capsys: pytest.CaptureFixture[str]) -> None:
    plan = dry_run(capsys, "--model", f"someone/guide-model@{SHA}")
    paths = [f["path_in_repo"] for f in plan["files"]]
    assert not [p for p in paths if p.startswith("checkpoints/")]
    assert plan["variables"] == {"GUIDE_MODEL": f"someone/guide-model@{SHA}"}
    from guide.serving.space import plan as make_plan

    readme = next(f for f in make_plan("someone/guide-me", f"someone/guide-model@{SHA}").files if f.path_in_repo == "README.md")
    config = yaml.safe_load(readme.text.split("---\n")[1])
    assert config["preload_from_hub"] == [f"someone/guide-model config.json,model.safetensors,README.md {SHA}"]
    assert config["sdk"] == "gradio" and config["app_file"] == "app.py"
    assert "preload_from_hub:\n" not in (ROOT / "README.md").read_text().split("---\n")[1]  # the checkout's README is unchanged


def test_a_local_model_folder_is_uploaded_and_named(capsys: pytest.CaptureFixture[str], tiny_model_dir: Path) -> None:
    plan = dry_run(capsys, "--model", str(tiny_model_dir))
    paths = {f["path_in_repo"] for f in plan["files"]}
    assert {"checkpoints/tiny/config.json", "checkpoints/tiny/model.safetensors"} <= paths
    assert not [p for p in paths if p.startswith("checkpoints/scenes-lraspp/")]
    assert plan["variables"] == {"GUIDE_MODEL": "tiny"}  # load_model("tiny") finds checkpoints/tiny on the Space


@pytest.mark.parametrize("args, message", [
    (["space", "not-a-space-id", "--dry-run"], "is not a Space id"),
    (["space", "someone/guide-me", "--dry-run", "--model", "./no-such-folder"], "model folder ./no-such-folder does not exist"),
    (["space", "someone/guide-me", "--dry-run", "--model", "torchvision:nope"], "unknown torchvision architecture"),
])
def test_bad_arguments_are_one_error_line(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1


@pytest.mark.slow  # two `python -m guide` subprocesses (the fast tier, -m "not slow", leaves it out)
def test_without_a_token_it_refuses_before_any_network(tmp_path: Path) -> None:
    """No HF_TOKEN and no stored login (an empty HF_HOME): one clear line, exit 2; the Hub
    endpoint refuses connections, so a request would have ended differently."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update(HF_HOME=str(tmp_path / "hf"), HF_ENDPOINT="http://127.0.0.1:9", PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-m", "guide", "space", "someone/guide-me"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 2, out.stderr
    assert out.stderr.startswith("error: no Hugging Face token") and out.stderr.count("\n") == 1
    assert "HF_TOKEN" in out.stderr and "hf auth login" in out.stderr and "Traceback" not in out.stderr
    assert out.stdout == ""  # no plan printed, nothing created
    env["HF_HUB_OFFLINE"] = "1"
    out = subprocess.run([sys.executable, "-m", "guide", "space", "someone/guide-me"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 2 and "HF_HUB_OFFLINE=1" in out.stderr and "Traceback" not in out.stderr


class FakeHub:
    """Stands in for huggingface_hub.HfApi: records what a deploy asks for."""

    calls: list = []
    remote = ["README.md", ".gitattributes", "app.py", "guide/old_module.py", "checkpoints/old/model.safetensors", "notes.txt"]
    variables: dict = {}

    def __init__(self, token: str | None = None) -> None:
        FakeHub.calls.append(("init", token))

    def create_repo(self, repo_id, **kw):
        FakeHub.calls.append(("create_repo", repo_id, kw))
        return f"https://huggingface.co/spaces/{repo_id}"

    def list_repo_files(self, repo_id, **kw):
        return list(FakeHub.remote)

    def create_commit(self, repo_id, operations, **kw):
        FakeHub.calls.append(("create_commit", repo_id, list(operations), kw))

    def get_space_variables(self, repo_id):
        return dict(FakeHub.variables)

    def add_space_variable(self, repo_id, key, value):
        FakeHub.calls.append(("add_space_variable", key, value))

    def delete_space_variable(self, repo_id, key):
        FakeHub.calls.append(("delete_space_variable", key))


def test_a_deploy_creates_the_space_and_commits_the_plan_once(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import huggingface_hub
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete

    from guide.serving.space import plan

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(huggingface_hub, "get_token", lambda: "hf_fake")
    monkeypatch.setattr(huggingface_hub, "HfApi", FakeHub)
    monkeypatch.setattr(FakeHub, "calls", [])
    monkeypatch.setattr(FakeHub, "variables", {"GUIDE_MODEL": object()})  # left from an earlier deploy
    assert main(["space", "someone/guide-me", "--private"]) == 0
    out = capsys.readouterr().out
    assert "deployed: https://huggingface.co/spaces/someone/guide-me" in out
    kinds = [c[0] for c in FakeHub.calls]
    assert kinds == ["init", "create_repo", "create_commit", "delete_space_variable"]
    assert FakeHub.calls[0][1] == "hf_fake"
    assert FakeHub.calls[1][2] == {"repo_type": "space", "space_sdk": "gradio", "private": True, "exist_ok": True}
    _, repo, ops, kw = FakeHub.calls[2]
    assert kw["repo_type"] == "space" and repo == "someone/guide-me"
    added = [op.path_in_repo for op in ops if isinstance(op, CommitOperationAdd)]
    assert added == [f.path_in_repo for f in plan("someone/guide-me").files]  # exactly the dry run's list, one commit
    # what an earlier deploy left in the folders this command owns goes; other files stay
    assert sorted(op.path_in_repo for op in ops if isinstance(op, CommitOperationDelete)) == [
        "checkpoints/old/model.safetensors", "guide/old_module.py"]
    assert "deleted from the Space (not in this upload): guide/old_module.py" in out
