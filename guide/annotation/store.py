"""Durable state of a server: small plain-data records by key, and a folder per data set.

Everything the app must not lose when a tab reloads, its memory slot is taken by other
tabs, or the server restarts goes through one :class:`Store`:

* ``get / put / delete / keys`` of JSON-able values (a tab's place, a browser key's
  session, a spilled tab state), each stamped with the time of its last ``put`` or
  :meth:`~Store.touch` (``age``), so abandoned work can expire;
* ``new_folder / folder / folders / remove_folder``: a folder per data set in progress
  (the VOC + COCO layout of guide/annotation/dataset.py), named unguessably.

The embedded store, :class:`LocalStore`, needs nothing installed: SQLite from Python's
standard library (one file, WAL journal: several threads and processes on one machine)
plus folders beside it. Several replicas behind a load balancer need one shared store
(docs/scaling.md): the same five calls over Postgres (records) and a shared volume or a
Hub dataset repo (folders), with sticky sessions so a tab's events reach the replica that
holds its conversation in memory.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import sqlite3
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

NAME = re.compile(r"^[A-Za-z0-9_-]{8,64}$")  # folder names this store makes (secrets.token_urlsafe)
KINDS = ("datasets", "blobs", "cache")


class Store:
    """The interface (see the module docstring). ``root`` is where folders live."""

    root: Path

    def get(self, key: str) -> Any | None: ...
    def put(self, key: str, value: Any) -> None: ...
    def delete(self, key: str) -> None: ...
    def keys(self, prefix: str = "") -> list[str]: ...
    def age(self, key: str) -> float | None: ...
    def touch(self, key: str) -> None: ...
    def expire(self, prefix: str, max_age: float) -> int: ...
    def folder(self, kind: str, name: str) -> Path: ...
    def new_folder(self, kind: str) -> tuple[str, Path]: ...
    def folders(self, kind: str) -> list[tuple[str, Path]]: ...
    def remove_folder(self, kind: str, name: str) -> None: ...
    def blob(self, name: str) -> Path: ...
    def clear_staging(self) -> None: ...


class LocalStore(Store):
    """Records in ``root/state.sqlite3``, folders in ``root/<kind>/<name>``."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)  # people's images: this user only
        self._db = sqlite3.connect(self.root / "state.sqlite3", check_same_thread=False, isolation_level=None, timeout=30)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: a commit survives a crash of the process
            self._db.execute("CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL, time REAL NOT NULL)")

    # ------------------------------------------------------------ records

    def get(self, key: str) -> Any | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def put(self, key: str, value: Any) -> None:
        body = json.dumps(value, ensure_ascii=False, separators=(",", ":"))  # TypeError here: not plain data
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO kv (key, value, time) VALUES (?, ?, ?)", (key, body, time.time()))

    def delete(self, key: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM kv WHERE key = ?", (key,))

    def keys(self, prefix: str = "") -> list[str]:
        with self._lock:
            rows = self._db.execute("SELECT key FROM kv WHERE substr(key, 1, ?) = ? ORDER BY key", (len(prefix), prefix)).fetchall()
        return [r[0] for r in rows]

    def age(self, key: str) -> float | None:
        """Seconds since ``key`` was last put or touched (None: no such key)."""
        with self._lock:
            row = self._db.execute("SELECT time FROM kv WHERE key = ?", (key,)).fetchone()
        return None if row is None else max(0.0, time.time() - row[0])

    def touch(self, key: str) -> None:
        with self._lock:
            self._db.execute("UPDATE kv SET time = ? WHERE key = ?", (time.time(), key))

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # ------------------------------------------------------------ folders

    def folder(self, kind: str, name: str) -> Path:
        """The folder ``kind/name`` (not made); ValueError for a name this store never makes."""
        if kind not in KINDS or not NAME.match(str(name)):
            raise ValueError(f"not a {kind} folder name: {name!r}")
        return self.root / kind / name

    def new_folder(self, kind: str) -> tuple[str, Path]:
        """A new, empty, unguessably named folder of ``kind``: (name, path)."""
        name = secrets.token_urlsafe(18)
        path = self.folder(kind, name)
        path.mkdir(parents=True)
        return name, path

    def folders(self, kind: str) -> list[tuple[str, Path]]:
        base = self.root / kind
        return sorted((p.name, p) for p in base.iterdir() if p.is_dir() and NAME.match(p.name)) if base.is_dir() else []

    def remove_folder(self, kind: str, name: str) -> None:
        shutil.rmtree(self.folder(kind, name), ignore_errors=True)

    def blob(self, name: str) -> Path:
        """A file for a small binary (a spilled tab's image, ``blobs/<name>.png``); ValueError for a bad name."""
        if not NAME.match(str(name)):
            raise ValueError(f"not a blob name: {name!r}")
        (self.root / "blobs").mkdir(exist_ok=True)
        return self.root / "blobs" / f"{name}.png"

    def expire(self, prefix: str, max_age: float) -> int:
        """Delete records under ``prefix`` older than ``max_age`` seconds; returns how many."""
        with self._lock:
            cur = self._db.execute("DELETE FROM kv WHERE substr(key, 1, ?) = ? AND time < ?", (len(prefix), prefix, time.time() - max_age))
        return cur.rowcount

    def clear_staging(self) -> None:
        """Remove ``staging/``: files being unpacked when an earlier run stopped."""
        shutil.rmtree(self.root / "staging", ignore_errors=True)


def default_root() -> Path:
    """Where the app keeps its store: ``GUIDE_STORE``, else ``/data/guideme`` on a Space with
    persistent storage, else a folder of this user's in the temporary directory (reused by
    the next start: a restart finds the work where it was)."""
    if os.environ.get("GUIDE_STORE"):
        return Path(os.environ["GUIDE_STORE"])
    if os.environ.get("SPACE_ID") and Path("/data").is_dir() and os.access("/data", os.W_OK):
        return Path("/data/guideme")
    uid = os.getuid() if hasattr(os, "getuid") else "user"
    return Path(tempfile.gettempdir()) / f"guideme-store-{uid}"
