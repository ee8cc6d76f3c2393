"""Deploy the app to a Hugging Face Space: ``python -m guide space OWNER/NAME [--dry-run] [--private] [--model SPEC]``.

Why not ``git push``: the Hub refuses a push whose commits hold a binary or a file over
10 MB as a plain git blob, and this repository's history does (the default model's
weights, 13 and 21 MB, and its PNGs were committed before ``.gitattributes`` sent them to
large-file storage; rewriting history is not worth it). This command instead uploads the
working tree's files a Space needs in one commit through ``huggingface_hub``, which
stores every file the Hub wants in large-file storage (LFS/Xet) there, whatever git did
here.

What goes (``SPACE_FILES``): the app (``app.py``), the package
(``guide/``, every file but caches), ``requirements.txt``, ``README.md`` (its front matter
is the Space's configuration), ``.gitattributes``, the example images, and one model
folder's ``config.json``, weights and card (``MODEL_FILES``). What never goes (``NEVER``):
secrets (``.env``, tokens, keys), virtual environments, git data, caches, tests,
experiments, evaluation logs. The model: the embedded default, or ``--model`` a local
model folder (uploaded to ``checkpoints/<name>/``, the Space variable ``GUIDE_MODEL`` set
to it), a Hub model ``owner/name@rev`` (not uploaded: the Space fetches it while it
builds, through the front matter's ``preload_from_hub``) or ``torchvision:ARCH`` (fetched
by the app at start-up); either way ``GUIDE_MODEL`` names it.

Files under ``guide/``, ``checkpoints/`` and ``examples/`` on the Space that this upload
does not hold are deleted in the same commit (left from an earlier deploy); other files
there are left alone. ``--dry-run`` prints the plan and needs neither a token nor the network.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import re
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from guide.core.guided import ModelLoadError
from guide.models.hub import (
    CARD_NAME,
    CHECKPOINTS,
    CONFIG_NAME,
    REPO_ROOT,
    TEXT_GUIDE_NAME,
    TORCHVISION,
    WEIGHTS_NAME,
    looks_like_path,
    offline,
    parse_spec,
    read_config,
)

# The Hub keeps a file in plain git only when it is text and under 10 MB; anything else
# must go to large-file storage (https://huggingface.co/docs/hub/repositories-recommendations).
PLAIN_LIMIT = 10 * 1000 * 1000
# Repository paths (relative, "/"-separated) a Space needs; fnmatch patterns, where "*"
# also matches "/" (as huggingface_hub's allow_patterns): "guide/*" is the whole package.
SPACE_FILES = ("app.py", "requirements.txt", "README.md", ".gitattributes",
               "guide/*", "examples/*.png", "examples/*.jpg", "examples/*.jpeg", "examples/*.webp")
# The files of a model folder the app reads (guide/models/hub.py: load_model); not its eval/ logs.
MODEL_FILES = (CONFIG_NAME, WEIGHTS_NAME, TEXT_GUIDE_NAME, CARD_NAME)
# Never uploaded, whatever the patterns above say: secrets, environments, caches, test and
# evaluation output. Matched against the path and against each of its parts.
NEVER = (".env", ".env.*", "*.env", "*.pem", "*.key", "*.p12", "*.pfx", "id_rsa*", "id_ed25519*", ".netrc",
         "token", "*.token", "hf_token*", "credentials*", "*secret*", ".git", ".venv", "venv", "env",
         "__pycache__", "*.pyc", "*.pyo", ".pytest_cache", ".cache", ".gradio", "node_modules", ".DS_Store",
         "tests", "test_*.py", "experiments", "eval", "runs", "artifacts", "flagged", "*.log", "*.egg-info")
# Matched by SPACE_FILES but not read by the app: the examples' ground-truth label maps
# (README and the tests compare against them).
SKIP = ("examples/*_label.png",)
# Folders of the Space this command owns: what is there and not in the upload is deleted.
MANAGED = ("guide/", "checkpoints/", "examples/")
REPO_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}")
NO_TOKEN = ("no Hugging Face token: set HF_TOKEN to a token with write access (https://huggingface.co/settings/tokens) "
            "or run `hf auth login`; `--dry-run` shows what would be uploaded without one")


@dataclass(frozen=True)
class Upload:
    """One file of the Space: where it goes, its size, and whether it goes to large-file storage."""

    path_in_repo: str
    size: int
    large: bool  # LFS/Xet: binary, >= PLAIN_LIMIT, or named by .gitattributes' lfs patterns
    local: str | None = None  # the file on this machine; None when ``text`` holds the content
    text: str | None = field(default=None, repr=False)


@dataclass
class SpacePlan:
    """Everything a deploy does: the files (sorted by path), the Space variables, the model."""

    repo_id: str
    model: str  # the GUIDE_MODEL the Space runs ("" for the embedded default)
    files: list[Upload]
    variables: dict[str, str]
    preload: list[str]  # preload_from_hub entries added to the front matter

    def to_dict(self) -> dict:
        files = [{k: v for k, v in asdict(f).items() if k != "text"} for f in self.files]
        return {"repo_id": self.repo_id, "model": self.model, "variables": self.variables, "preload_from_hub": self.preload,
                "files": files, "total_bytes": sum(f.size for f in self.files),
                "large_bytes": sum(f.size for f in self.files if f.large)}


# ---------------------------------------------------------------- choosing the files


def never(path: str) -> bool:
    """Whether ``path`` (repository-relative, "/"-separated) may never be uploaded."""
    parts = path.split("/")
    return any(fnmatch.fnmatch(p, pat) for p in [path, *parts] for pat in NEVER)


def wanted(path: str) -> bool:
    return (any(fnmatch.fnmatch(path, pat) for pat in SPACE_FILES) and not never(path)
            and not any(fnmatch.fnmatch(path, pat) for pat in SKIP))


def lfs_patterns(root: Path = REPO_ROOT) -> list[str]:
    """The patterns ``.gitattributes`` sends to LFS (``PATTERN filter=lfs ...`` lines)."""
    path = root / ".gitattributes"
    if not path.is_file():
        return []
    return [line.split()[0] for line in path.read_text().splitlines()
            if line.strip() and not line.startswith("#") and "filter=lfs" in line.split()[1:]]


def is_binary(path: Path) -> bool:
    """Git's test: a NUL byte in the first 8000 bytes."""
    with open(path, "rb") as f:
        return b"\0" in f.read(8000)


def goes_large(path_in_repo: str, size: int, binary: bool, patterns: list[str]) -> bool:
    """Whether the Hub stores the file in large-file storage: binary, over the plain-file
    limit, or named by an LFS pattern (matched on the name, or the path when it has a "/")."""
    name = path_in_repo.rsplit("/", 1)[-1]
    named = any(fnmatch.fnmatch(path_in_repo if "/" in pat else name, pat) for pat in patterns)
    return binary or size >= PLAIN_LIMIT or named


def code_files(root: Path = REPO_ROOT) -> list[str]:
    """Repository paths under ``root`` that match SPACE_FILES (model folders come separately)."""
    out = []
    for folder, dirs, names in os.walk(root):
        rel = Path(folder).relative_to(root).as_posix()
        prefix = "" if rel == "." else rel + "/"
        # prune what never goes (and checkpoints/: the model is added on its own)
        dirs[:] = sorted(d for d in dirs if not never(prefix + d) and prefix + d != "checkpoints")
        out += [prefix + n for n in names if wanted(prefix + n) and (Path(folder) / n).is_file()]
    return sorted(out)


def model_target(spec: str | None) -> tuple[str, Path | None]:
    """(GUIDE_MODEL value, local model folder to upload or None) for ``--model spec``.

    None: the embedded default (uploaded; no variable). A folder: uploaded to
    checkpoints/<its name>/. ``owner/name@rev`` and ``torchvision:ARCH``: not uploaded."""
    from guide.models.folder import DEFAULT_MODEL

    if spec is None or spec in ("", DEFAULT_MODEL):
        return "", CHECKPOINTS / DEFAULT_MODEL
    if spec.startswith(TORCHVISION):
        from guide.models.pretrained import weights

        weights(spec[len(TORCHVISION):])  # an unknown architecture is refused here, not on the Space
        return spec, None
    for folder in (Path(spec).expanduser(), CHECKPOINTS / spec):
        if folder.is_dir():
            read_config(folder)  # refuses a folder that is not a model, naming what is missing
            if not (folder / WEIGHTS_NAME).is_file():
                raise ModelLoadError(f"{folder} has no {WEIGHTS_NAME}: not a model folder")
            return folder.resolve().name, folder
    if looks_like_path(spec):
        raise ModelLoadError(f"model folder {spec} does not exist ({Path(spec).expanduser().resolve()})")
    repo_id, _ = parse_spec(spec)
    if not REPO_ID.fullmatch(repo_id):
        raise ModelLoadError(f"--model {spec!r} is neither a model folder, a Hub model owner/name@rev, nor torchvision:ARCH")
    return spec, None


def preload_entry(spec: str, files: list[str] | None = None) -> str:
    """A ``preload_from_hub`` line: ``owner/name file,file [rev]`` (the Space downloads
    these into its HF cache while it builds; load_model finds them there)."""
    repo_id, revision = parse_spec(spec)
    names = ",".join(files or [CONFIG_NAME, WEIGHTS_NAME, CARD_NAME])
    return " ".join([repo_id, names, *([revision] if revision else [])])


def with_preload(readme: str, entries: list[str]) -> str:
    """README text with ``entries`` added to its front matter's ``preload_from_hub`` list."""
    if not entries:
        return readme
    lines = readme.split("\n")
    if lines[0] != "---" or "---" not in lines[1:]:
        raise ValueError("README.md has no front matter (--- ... ---): a Space needs one")
    end = lines.index("---", 1)
    items = [f"  - {e}" for e in entries]
    keys = [i for i in range(1, end) if lines[i].startswith("preload_from_hub:")]
    if keys:
        lines[keys[0] + 1:keys[0] + 1] = items
    else:
        lines[end:end] = ["preload_from_hub:", *items]
    return "\n".join(lines)


def front_matter(readme: str) -> dict[str, str]:
    """The ``key: value`` lines of README's front matter (top-level scalars only)."""
    lines = readme.split("\n")
    if lines[0] != "---" or "---" not in lines[1:]:
        return {}
    pairs = (line.split(":", 1) for line in lines[1:lines.index("---", 1)] if ":" in line and not line.startswith((" ", "-")))
    return {k.strip(): v.strip().strip('"') for k, v in pairs}


def plan(repo_id: str, model: str | None = None, root: Path = REPO_ROOT, hub_files: list[str] | None = None) -> SpacePlan:
    """What deploying to ``repo_id`` uploads. Raises ValueError / ModelLoadError with a
    clear message for a bad Space id, a bad model, or a README that cannot configure a Space.
    ``hub_files``: the files of a Hub model, when known (a real deploy asks the Hub)."""
    if not REPO_ID.fullmatch(repo_id):
        raise ValueError(f"{repo_id!r} is not a Space id: give OWNER/NAME (letters, digits, '-', '_', '.')")
    guide_model, folder = model_target(model)
    patterns = lfs_patterns(root)
    files = []
    for rel in code_files(root):
        path = root / rel
        size = path.stat().st_size
        files.append(Upload(rel, size, goes_large(rel, size, is_binary(path), patterns), local=str(path)))
    if folder is not None:
        name = folder.resolve().name
        for n in MODEL_FILES:
            path = folder / n
            if path.is_file():
                rel, size = f"checkpoints/{name}/{n}", path.stat().st_size
                files.append(Upload(rel, size, goes_large(rel, size, is_binary(path), patterns), local=str(path)))
    preload = []
    if guide_model and folder is None and not guide_model.startswith(TORCHVISION):
        preload = [preload_entry(guide_model, hub_files)]
    readme = (root / "README.md").read_text()
    config = front_matter(readme)
    if config.get("sdk") != "gradio" or config.get("app_file") != "app.py":
        raise ValueError("README.md's front matter must say sdk: gradio and app_file: app.py for a Space")
    if preload:  # the uploaded README carries the preload; the one here is unchanged
        text = with_preload(readme, preload)
        files = [Upload(f.path_in_repo, len(text.encode()), f.large, text=text) if f.path_in_repo == "README.md" else f
                 for f in files]
    missing = {"app.py", "README.md", "requirements.txt"} - {f.path_in_repo for f in files}
    if missing:
        raise ValueError(f"{root} is not a whole checkout: {', '.join(sorted(missing))} missing")
    variables = {"GUIDE_MODEL": guide_model} if guide_model else {}
    return SpacePlan(repo_id, guide_model, sorted(files, key=lambda f: f.path_in_repo), variables, preload)


# ---------------------------------------------------------------- showing and uploading


def describe(p: SpacePlan) -> str:
    """The plan as a table: storage, bytes, path; then totals, variables, preloads."""
    lines = [f"{'LFS' if f.large else 'git':<4}{f.size:>12,}  {f.path_in_repo}" for f in p.files]
    d = p.to_dict()
    n_large = sum(f.large for f in p.files)
    lines.append(f"{len(p.files)} files, {d['total_bytes'] / 1e6:.1f} MB; {n_large} to large-file storage (LFS/Xet), "
                 f"{d['large_bytes'] / 1e6:.1f} MB; the largest plain git file {max((f.size for f in p.files if not f.large), default=0):,} bytes")
    lines.append(f"model: {p.model or 'the embedded default (checkpoints/)'}")
    for k, v in p.variables.items():
        lines.append(f"Space variable {k}={v}")
    for e in p.preload:
        lines.append(f"README front matter on the Space: preload_from_hub: - {e}")
    return "\n".join(lines)


def git_commit(root: Path = REPO_ROOT) -> str:
    """The checkout's commit, for the commit message ("" when not a git checkout)."""
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10)
        return out.stdout.strip() if out.returncode == 0 else ""
    except (OSError, subprocess.SubprocessError):
        return ""


def token_or_refuse() -> str:
    """The user's Hub token (HF_TOKEN, or the one `hf auth login` stored); a clear refusal
    without one, or when downloads and uploads are off (HF_HUB_OFFLINE=1). No network."""
    if offline():
        raise SystemExit("HF_HUB_OFFLINE=1: the Hub is switched off here, so nothing can be uploaded (unset it, or use --dry-run)")
    from huggingface_hub import get_token

    token = get_token()
    if not token:
        raise SystemExit(NO_TOKEN)
    return token


def deploy(repo_id: str, model: str | None = None, private: bool = False, root: Path = REPO_ROOT) -> str:
    """Create (or update) the Space and upload the plan in one commit; returns the Space URL."""
    first = plan(repo_id, model, root)  # refuses a bad id or model before any network
    token = token_or_refuse()
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi

    api = HfApi(token=token)
    hub_files = None
    if first.preload:  # check the Hub model is there, and preload exactly the files it has
        repo, revision = parse_spec(first.model)
        try:
            have = set(api.list_repo_files(repo, revision=revision))
        except Exception as e:
            raise SystemExit(f"model {first.model} cannot be read on the Hub ({type(e).__name__}): "
                             "check the name and revision, and that your token may read it") from e
        if CONFIG_NAME not in have or WEIGHTS_NAME not in have:
            raise SystemExit(f"{first.model} is not a Guide Me model folder: it lacks {CONFIG_NAME} or {WEIGHTS_NAME}")
        hub_files = [n for n in MODEL_FILES if n in have]
    p = plan(repo_id, model, root, hub_files)
    print(describe(p))
    url = api.create_repo(repo_id, repo_type="space", space_sdk="gradio", private=private, exist_ok=True)
    remote = api.list_repo_files(repo_id, repo_type="space")
    keep = {f.path_in_repo for f in p.files}
    stale = sorted(f for f in remote if f.startswith(MANAGED) and f not in keep)
    ops = [CommitOperationAdd(f.path_in_repo, f.local if f.local is not None else (f.text or "").encode()) for f in p.files]
    ops += [CommitOperationDelete(f) for f in stale]
    commit = git_commit(root)
    api.create_commit(repo_id, ops, repo_type="space",
                      commit_message=f"Deploy Guide Me{' at ' + commit if commit else ''} (python -m guide space)")
    for f in stale:
        print(f"deleted from the Space (not in this upload): {f}")
    old = api.get_space_variables(repo_id)
    for k, v in p.variables.items():
        if k not in old or old[k].value != v:
            api.add_space_variable(repo_id, k, v)
    if "GUIDE_MODEL" in old and "GUIDE_MODEL" not in p.variables:  # back to the embedded default
        api.delete_space_variable(repo_id, "GUIDE_MODEL")
    return str(url)


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    ap = argparse.ArgumentParser(
        prog="python -m guide space",
        description="Upload the files a Hugging Face Space needs (app, package, examples, one model) in one commit; "
                    "large files go to large-file storage. Needs a write token (HF_TOKEN or `hf auth login`) unless --dry-run.",
    )
    ap.add_argument("repo_id", metavar="OWNER/NAME", help="the Space (created if missing)")
    ap.add_argument("--dry-run", action="store_true", help="print the files, sizes and storage; upload nothing (no token, no network)")
    ap.add_argument("--private", action="store_true", help="create the Space private (an existing Space keeps its visibility)")
    ap.add_argument("--model", default=None,
                    help="the Space's model: a model folder (uploaded), a Hub owner/name@rev (preloaded while the Space builds) "
                         "or torchvision:ARCH (default: the embedded model, uploaded)")
    ap.add_argument("--json", action="store_true", help="with --dry-run: print the plan as JSON")
    args = ap.parse_args(argv)
    if args.dry_run:
        p = plan(args.repo_id, args.model)
        print(json.dumps(p.to_dict(), indent=2) if args.json else describe(p))
        if not args.json:
            print(f"dry run: nothing uploaded. Deploy: python -m guide space {args.repo_id}"
                  f"{' --model ' + args.model if args.model else ''} (needs HF_TOKEN or `hf auth login`)")
        return
    url = deploy(args.repo_id, args.model, private=args.private)
    print(f"deployed: {url} (the Space builds now; its logs are on the Space page)")
