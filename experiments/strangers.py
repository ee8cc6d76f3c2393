"""Strangers on a public Space: annotating tabs, a hostile client, page reloads and server restarts.

    python experiments/strangers.py --json checkpoints/eval/strangers-cpu.json
    python experiments/strangers.py --modes out --tabs 6 --visits 3 --restarts 2 --same

For each mode (``browser``: no ``--out``, as on a Space, each tab's data set lives in the server
until it downloads it; ``out``: ``--out DIR``, one folder every tab writes) the script starts
``python app.py`` on a free loopback port (its log to a file) and runs, at once:

* ``--tabs`` strangers, each a gradio_client session (a browser tab). A visit opens a few example
  images (``/open_images``), and on each image plays ``/guide_points``, ``/chat``, ``/ask`` +
  ``/answer``, then ``/save_next`` (the last image: ``/save`` first on some visits); then it
  presses ``/download_dataset``. Like a browser, it downloads every file an answer names and
  checks each body against its Content-Length. ``--visits`` visits per tab; with ``--same``
  every tab plays the same script (identical conversations, the same output files).
* page reloads: ``--reloads`` tabs drop their session after the first save of a visit, without
  downloading, and come back as a new session;
* one hostile client calling every ``api_name`` through the raw queue API with hostile payloads
  (folder paths and other files in FileData, ``data:`` URLs, a 1-bit 9999x9999 PNG, many large
  layers, lone surrogates, huge integers, None, wrong types), each followed by a check that
  its tab still works;
* ``--restarts`` kill -9 of the server in the middle of the run (after every ``--kill-after``
  acknowledged saves, while other tabs are saving), then a new one on the same port and
  folder; tabs whose calls fail start a new visit once it is back.

Reported per mode: saves acknowledged ("Saved NAME.") vs found on disk, by where they must be
found (the tab's downloaded zip; with ``--out``, the folder, for every acknowledged save
including those before a kill), saves left behind by a reload or a kill in browser mode
(kept in the server only: a reload or kill loses them unless the app keeps tab work
durably), cut-short file downloads, p50/p95 of every action, the hostile calls' outcomes
and times, the server's peak RSS (VmHWM of each server process, and sampled VmRSS), and
Python tracebacks in the server log. Bounded: at most ``tabs x visits x (3 + 6 x images)``
tab calls and one pass of the hostile payloads per mode, each call ``--call-timeout`` s, no
new call after ``--time-limit`` s; loopback only; the servers it started are stopped at the end.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import HINTS, free_port, latency_stats, loopback_only  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CLASSES = ["coat", "sand", "sky", "grass", "bag", "shirt", "gravel", "water"]
SAVED = re.compile(r"Saved (\S+?)\.(?:\s|$)")


def examples() -> list[str]:
    found = sorted(str(p) for p in (ROOT / "examples").glob("scene_[0-9][0-9].png"))
    if len(found) < 3:
        raise SystemExit("need examples/scene_XX.png (python -m guide examples)")
    return found


# ---------------------------------------------------------------- the server


class Server:
    """``python app.py`` on one loopback port, restartable (kill -9) on the same port and folder."""

    def __init__(self, out: str | None, log: Path, startup: float = 240.0) -> None:
        self.port, self.out, self.log, self.startup = free_port(), out, log, startup
        self.url = f"http://127.0.0.1:{self.port}/"
        self.proc: subprocess.Popen | None = None
        self.up = threading.Event()
        self.peaks: list[int] = []  # VmHWM (bytes) of each server process, read just before it ends
        self.rss_max = 0
        self.starts = 0
        self.failed_starts = 0
        self._stop = threading.Event()
        threading.Thread(target=self._sample, daemon=True).start()

    def start(self, attempts: int = 3) -> None:
        """Start the server; a start whose process dies right after it answered (Gradio's own
        start-up check of localhost can time out on a loaded machine) is retried."""
        for attempt in range(attempts):
            self._start_once()
            deadline = time.time() + 8
            while time.time() < deadline and self.proc.poll() is None:
                time.sleep(0.5)
            if self.proc.poll() is None:
                return
            self.up.clear()
            self.failed_starts += 1
        raise SystemExit(f"the app exited right after starting, {attempts} times; see {self.log}")

    def _start_once(self) -> None:
        cmd = [sys.executable, str(ROOT / "app.py"), "--host", "127.0.0.1", "--port", str(self.port)]
        if self.out:
            cmd += ["--out", self.out]
        env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"), PYTHONUNBUFFERED="1")
        with open(self.log, "a") as f:
            f.write(f"\n===== start {self.starts} {time.strftime('%H:%M:%S')} =====\n")
            self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT, env=env)
        self.starts += 1
        deadline = time.time() + self.startup
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"the app exited early (status {self.proc.returncode}); see {self.log}")
            try:
                if httpx.get(self.url + "config", timeout=2).status_code == 200:
                    self.up.set()
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise SystemExit(f"the app did not start within {self.startup:.0f} s; see {self.log}")

    def _status(self, field: str) -> int:
        try:
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
        except (OSError, AttributeError, ValueError):
            pass
        return 0

    def _sample(self) -> None:
        while not self._stop.is_set():
            if self.proc is not None and self.proc.poll() is None:
                self.rss_max = max(self.rss_max, self._status("VmRSS"))
            time.sleep(0.1)

    def kill(self) -> None:
        """kill -9, as a crash or an out-of-memory kill would."""
        self.up.clear()
        self.peaks.append(self._status("VmHWM"))
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        self._stop.set()
        if self.proc is not None and self.proc.poll() is None:
            self.peaks.append(self._status("VmHWM"))
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
        self.up.clear()


# ---------------------------------------------------------------- what every client shares


class Record:
    """Thread-safe tallies: per-action latencies, saves, downloads, hostile outcomes."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.times: dict[str, list[float]] = {}
        self.failed: dict[str, int] = {}
        self.acked: list[tuple[int, int, str]] = []  # (tab, visit, image name) per acknowledged save
        self.zip_checks: list[dict] = []  # per downloaded visit: acked vs found in the zip
        self.left: dict[str, int] = {"reload": 0, "kill": 0}  # acknowledged saves of visits that never downloaded
        self.downloads = {"files": 0, "short": 0, "server_killed": 0, "retried": 0, "errors": []}
        self.hostile: list[dict] = []
        self.visits = {"done": 0, "reloaded": 0, "killed": 0}

    def time(self, name: str, seconds: float, ok: bool) -> None:
        with self.lock:
            self.times.setdefault(name, []).append(seconds)
            if not ok:
                self.failed[name] = self.failed.get(name, 0) + 1


def fetch_files(value, http: httpx.Client, rec: Record, server: Server, seen: set[str]) -> None:
    """Download every file URL in an answer, as the page would (once per URL: a browser caches
    them), and check each body against its Content-Length. A download that fails because the
    server was killed meanwhile is counted apart."""
    if isinstance(value, dict):
        url = value.get("url")
        if isinstance(url, str) and url.startswith("http") and url not in seen:
            starts = server.starts
            try:
                try:
                    r = http.get(url)
                except (httpx.ReadError, httpx.RemoteProtocolError) as e:
                    if "expected" in str(e):  # headers came, the body was cut short: no retry, that is the failure
                        raise
                    # no response at all on a reused keep-alive connection the server was closing:
                    # browsers retry such a GET once, so do we (and count it)
                    with rec.lock:
                        rec.downloads["retried"] += 1
                    r = http.get(url)
                declared = int(r.headers.get("content-length", len(r.content)))
                short = r.status_code != 200 or len(r.content) != declared
                err = None if not short else f"HTTP {r.status_code}, {len(r.content)} of {declared} bytes"
            except httpx.HTTPError as e:  # "peer closed connection without sending complete message body"
                short, err = True, f"{type(e).__name__}: {e}"[:160]
            killed = short and (not server.up.is_set() or server.starts != starts)
            with rec.lock:
                rec.downloads["files"] += 1
                if killed:
                    rec.downloads["server_killed"] += 1
                elif short:
                    rec.downloads["short"] += 1
                    rec.downloads["errors"].append(err)
                else:
                    seen.add(url)
        for v in value.values():
            fetch_files(v, http, rec, server, seen)
    elif isinstance(value, (list, tuple)):
        for v in value:
            fetch_files(v, http, rec, server, seen)


class Gone(Exception):
    """The server went away (killed) or stopped answering."""


def call(client, name: str, args: tuple, rec: Record, http: httpx.Client, timeout: float, server: Server, seen: set[str]):
    from gradio_client.exceptions import AppError

    t = time.perf_counter()
    try:
        out = client.submit(*args, api_name=f"/{name}").result(timeout=timeout)
    except AppError as e:  # the app's own message (gr.Error): an answer, not a failure of the server
        rec.time(name, time.perf_counter() - t, False)
        return {"error": str(e)}
    except Exception as e:
        rec.time(name, time.perf_counter() - t, False)
        raise Gone(f"{name}: {type(e).__name__}: {e}"[:200]) from e
    rec.time(name, time.perf_counter() - t, True)
    fetch_files(out, http, rec, server, seen)
    return out


def zip_names(client, rec: Record, http: httpx.Client, timeout: float, server: Server) -> set[str] | None:
    """``/download_dataset`` -> the image ids with a label map in the zip (None: no zip)."""
    out = call(client, "download_dataset", (), rec, http, timeout, server, set())
    if not isinstance(out, dict) or not out.get("url"):
        return None
    data = http.get(out["url"]).content
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {Path(n).stem for n in z.namelist() if Path(n).parent.name == "SegmentationClass" and n.endswith(".png")}


# ---------------------------------------------------------------- a stranger's tab


def tab(server: Server, index: int, args, rec: Record, stop_at: float, reloads: bool) -> None:
    from gradio_client import Client, handle_file

    seed = 0 if args.same else index
    rng = random.Random(seed)
    pictures = examples()
    with httpx.Client(timeout=args.call_timeout) as http:
        for visit in range(args.visits):
            if time.time() > stop_at:
                return
            if not server.up.wait(timeout=max(1.0, stop_at - time.time())):
                return
            acked: set[str] = set()
            seen: set[str] = set()  # a new page: an empty browser cache is the worst case
            try:
                client = Client(server.url, verbose=False, download_files=False)
            except Exception:
                continue
            try:
                chosen = rng.sample(pictures, args.images)
                call(client, "open_images", ([handle_file(p) for p in chosen], False), rec, http, args.call_timeout, server, seen)
                for j in range(args.images):
                    if time.time() > stop_at:
                        break
                    y, x = rng.randrange(10, 150), rng.randrange(10, 150)
                    call(client, "guide_points", (json.dumps([[y, x, rng.choice(CLASSES)]]), False), rec, http, args.call_timeout, server, seen)
                    call(client, "chat", (rng.choice(HINTS), False), rec, http, args.call_timeout, server, seen)
                    call(client, "ask", (False,), rec, http, args.call_timeout, server, seen)
                    call(client, "answer", (rng.choice(CLASSES), False), rec, http, args.call_timeout, server, seen)
                    if reloads and j == 1:  # after one save, the page is reloaded: the session is dropped, its work not downloaded
                        reloads = False
                        with rec.lock:
                            rec.left["reload"] += len(acked)
                            rec.visits["reloaded"] += 1
                        raise StopIteration
                    name = "save" if (j == args.images - 1 and visit % 2) else "save_next"
                    out = call(client, name, (False,), rec, http, args.call_timeout, server, seen)
                    message = out[3] if isinstance(out, (list, tuple)) and len(out) > 3 else ""
                    for saved in SAVED.findall(str(message)):
                        acked.add(saved)
                        with rec.lock:
                            rec.acked.append((index, visit, saved))
                found = zip_names(client, rec, http, args.call_timeout, server)
                with rec.lock:
                    rec.visits["done"] += 1
                    rec.zip_checks.append({"tab": index, "visit": visit, "acked": sorted(acked),
                                           "found": sorted(found) if found is not None else None,
                                           "missing": sorted(acked - (found or set()))})
            except StopIteration:
                pass
            except Gone:
                with rec.lock:
                    rec.left["kill"] += len(acked)
                    rec.visits["killed"] += 1
            finally:
                try:
                    client.close()
                except Exception:
                    pass


# ---------------------------------------------------------------- the hostile client


class Raw:
    """The raw queue API, as a script (not gradio_client) would use it: one session hash."""

    def __init__(self, url: str, timeout: float) -> None:
        self.url, self.timeout = url, timeout
        self.session = uuid.uuid4().hex[:11]
        self.http = httpx.Client(timeout=timeout)
        config = self.http.get(url + "config").json()
        kinds = {c["id"]: c["type"] for c in config["components"]}
        self.deps = {d["api_name"]: (d["id"], [kinds.get(i) for i in d["inputs"]], d.get("queue") is not False)
                     for d in config["dependencies"] if d.get("api_name")}

    def upload(self, name: str, data: bytes) -> str:
        r = self.http.post(self.url + "gradio_api/upload", files={"files": (name, data)})
        return r.json()[0]

    def call(self, api: str, values: list) -> dict:
        """``values`` for the event's non-state inputs (state slots get None, as the page sends);
        -> {"ok": bool, "message": str, "seconds": float}."""
        fn, kinds, queued = self.deps[api]
        it = iter(values)
        data = [None if k == "state" else next(it, None) for k in kinds]
        body = {"data": data, "fn_index": fn, "session_hash": self.session, "event_data": None, "trigger_id": None}
        t = time.perf_counter()
        try:
            # ASCII JSON: a lone surrogate travels as "\\ud800", as a browser's JSON.stringify sends it
            content = json.dumps(body, ensure_ascii=True).encode()
            headers = {"content-type": "application/json"}
            if not queued:
                r = self.http.post(self.url + "gradio_api/run/predict", content=content, headers=headers)
                ok = r.status_code == 200 and "error" not in r.json()
                msg = "" if ok else str(r.json().get("error", r.status_code) if r.headers.get("content-type", "").startswith("application/json") else r.status_code)
                return {"ok": ok, "message": msg[:200], "seconds": time.perf_counter() - t}
            r = self.http.post(self.url + "gradio_api/queue/join", content=content, headers=headers)
            if r.status_code != 200:
                return {"ok": False, "message": f"HTTP {r.status_code}: {r.text[:150]}", "seconds": time.perf_counter() - t}
            event = r.json()["event_id"]
            with self.http.stream("GET", self.url + f"gradio_api/queue/data?session_hash={self.session}") as s:
                for line in s.iter_lines():
                    if not line.startswith("data:"):
                        continue
                    msg = json.loads(line[5:])
                    if msg.get("event_id") == event and msg.get("msg") == "process_completed":
                        out = msg.get("output") or {}
                        ok = bool(msg.get("success")) and "error" not in out
                        warn = msg.get("output", {}).get("error") or ""
                        return {"ok": ok, "message": str(warn)[:200], "seconds": time.perf_counter() - t}
                    if time.perf_counter() - t > self.timeout:
                        break
            return {"ok": False, "message": "no answer", "seconds": time.perf_counter() - t}
        except (httpx.HTTPError, ValueError, KeyError) as e:
            return {"ok": False, "message": f"{type(e).__name__}: {e}"[:200], "seconds": time.perf_counter() - t}


def png(w: int, h: int, mode: str = "RGBA", fill=None, noise: bool = False) -> bytes:
    import numpy as np
    from PIL import Image

    if noise:
        img = Image.fromarray(np.random.default_rng(0).integers(0, 255, (h, w, 4), dtype=np.uint8), "RGBA")
    else:
        img = Image.new(mode, (w, h), fill if fill is not None else (230, 25, 75, 255))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def file_data(path: str, url: str | None = None) -> dict:
    return {"path": path, "url": url, "meta": {"_type": "gradio.FileData"}}


def hostile(server: Server, args, rec: Record, stop_at: float) -> None:
    """Every api_name with hostile payloads; after each, the tab must still answer."""
    if not server.up.wait(timeout=120):
        return
    raw = Raw(server.url, args.call_timeout)
    scene = raw.upload("scene.png", Path(examples()[0]).read_bytes())
    upload_root = str(Path(scene).parent.parent)  # Gradio's upload folder: other sessions' files
    huge_png = png(9999, 9999, "1", 1)  # 1-bit: a small file, a 100 MP decode
    huge = raw.upload("huge.png", huge_png)
    big_layer = raw.upload("layer.png", png(2048, 2048))
    noise_layer = raw.upload("noise.png", png(2048, 2048, noise=True)) if args.noise_layer else big_layer
    huge_b64 = "data:image/png;base64," + base64.b64encode(huge_png).decode()
    editor = lambda layers: {"background": file_data(scene), "layers": layers, "composite": None, "id": None}  # noqa: E731
    FD = file_data
    payloads: list[tuple[str, list]] = [
        ("open_images", [[FD(upload_root)], False]),                       # a folder: every session's uploads
        ("open_images", [[FD(str(ROOT / "examples"))], False]),            # a folder of the server's own
        ("open_images", [[FD("/etc/passwd")], False]),
        ("open_images", [[FD(huge_b64, huge_b64)], False]),
        ("open_images", [[FD(huge)], False]),
        ("open_images", [None, False]),
        ("set_image", [FD(upload_root), False]),
        ("set_image", [FD("/etc/passwd"), False]),
        ("set_image", [FD(huge_b64, huge_b64), False]),
        ("set_image", [FD(huge), False]),
        ("set_image", [FD(scene), False]),                                 # a good image: the tab to keep alive
        ("guide", [editor([FD(big_layer)] * 20), False]),                  # 20 fully painted 2048 px layers
        ("guide", [editor([FD(noise_layer)]), False]),                     # random colours
        ("guide", [editor([FD(upload_root)]), False]),
        ("guide", [editor([FD(huge_b64, huge_b64)]), False]),
        ("guide", ["not an editor value", False]),
        ("paint", [editor([FD(big_layer)] * 20), False]),
        ("paint", [None, False]),
        ("chat", ["there is a coat \ud800 on the left", False]),          # a lone surrogate
        ("chat", ["x " * 40 + "there is a coat", False]),
        ("chat", ["a" * 100_000, False]),
        ("chat", [None, False]),
        ("chat", [10 ** 30, False]),
        ("guide_points", ['[[99999999999999999999999, 1, "sky"]]', False]),
        ("guide_points", ['[[1e308, 5, "coat"]]', False]),
        ("guide_points", ["[" * 5000 + "]" * 5000, False]),
        ("guide_points", [None, False]),
        ("answer", ["no-such-class", False]),
        ("answer", [None, False]),
        ("answer", [10 ** 30, False]),
        ("ask", [10 ** 30]),
        ("undo", [None]),
        ("reset", ["yes"]),
        ("view", [None]),
        ("brush_class", ["\ud800"]),
        ("brush_class", [None]),
        ("load_model", [None]),
        ("load_model", ["../../etc"]),
        ("load_model", ["torchvision:nope"]),
        ("switch_model", [None, False]),
        ("model_widgets", []),
        ("export", []),
        ("pick", [False]),                                                 # no event data
        ("go_to", ["../../etc/passwd", False]),
        ("go_to", [10 ** 30, False]),
        ("save", [None]),
        ("save_next", [10 ** 30]),
        ("next", [None]),
        ("previous", [None]),
        ("download_dataset", []),
        ("clear_strokes", []),
        ("clear_paint", []),
    ]
    for api, values in payloads:
        if time.time() > stop_at or api not in raw.deps:
            continue
        if not server.up.wait(timeout=120):
            return
        raw.session = uuid.uuid4().hex[:11]  # a fresh tab with an image for each payload: what breaks is that payload's doing
        starts = server.starts
        raw.call("set_image", [FD(scene), False])
        out = raw.call(api, values)
        after = raw.call("view", [False]) if "view" in raw.deps else {"ok": None}
        with rec.lock:
            rec.hostile.append({"api": api, "payload": describe(values), **out, "seconds": round(out["seconds"], 2),
                                "tab_works_after": after["ok"], "server_killed_meanwhile": server.starts != starts or not server.up.is_set()})


def describe(values) -> str:
    s = json.dumps(values, ensure_ascii=True, default=str)
    return s if len(s) <= 120 else s[:100] + f"... ({len(s):,} chars)"


# ---------------------------------------------------------------- one mode


def run_mode(mode: str, args, workdir: Path) -> dict:
    out_dir = str(workdir / "dataset") if mode == "out" else None
    log = workdir / f"server-{mode}.log"
    server = Server(out_dir, log)
    rec = Record()
    t0 = time.time()
    server.start()
    start_s = time.time() - t0
    loopback_only(server.url)
    stop_at = time.time() + args.time_limit
    threads = [threading.Thread(target=tab, args=(server, i, args, rec, stop_at, i < args.reloads), daemon=True)
               for i in range(args.tabs)]
    if args.hostile:
        threads.append(threading.Thread(target=hostile, args=(server, args, rec, stop_at), daemon=True))
    for t in threads:
        t.start()
    kills = []
    for k in range(args.restarts):  # a kill after every --kill-after acknowledged saves: saves are in flight
        while len(rec.acked) < (k + 1) * args.kill_after and any(t.is_alive() for t in threads) and time.time() < stop_at:
            time.sleep(0.2)
        if not any(t.is_alive() for t in threads):
            break
        server.kill()
        t_kill = time.time()
        try:
            server.start()
        except SystemExit as e:  # e.g. a stale lock on the --out folder: reported, and the mode ends
            kills.append({"at_s": round(t_kill - t0, 1), "restart_failed": str(e)})
            server.up.set()  # waiting tabs wake up, fail fast and stop
            break
        kills.append({"at_s": round(t_kill - t0, 1), "back_after_s": round(time.time() - t_kill, 1)})
    for t in threads:
        t.join(timeout=max(1.0, stop_at - time.time()) + 2 * args.call_timeout)
    wall = time.time() - t0
    # with --out, every acknowledged save (before a kill too) must be in the folder
    folder_check = None
    if out_dir:
        on_disk = {p.stem for p in (Path(out_dir) / "SegmentationClass").glob("*.png")}
        acked = {name for _, _, name in rec.acked}
        folder_check = {"acked_distinct": len(acked), "found": len(on_disk & acked), "missing": sorted(acked - on_disk),
                        "on_disk_not_acked": sorted(on_disk - acked)}
    server.stop()
    text = log.read_text(errors="replace")
    tracebacks = text.count("Traceback (most recent call last)")
    lines = text.splitlines()
    kinds: dict[str, int] = {}
    for i, line in enumerate(lines):  # each traceback's exception line: the first unindented line after it
        if line.startswith("Traceback (most recent call last)"):
            j = i + 1
            while j < len(lines) and (lines[j].startswith((" ", "\t")) or not lines[j].strip()):
                j += 1
            if j < len(lines):
                kinds[lines[j][:160]] = kinds.get(lines[j][:160], 0) + 1
    samples = dict(sorted(kinds.items(), key=lambda kv: -kv[1])[:10])
    zips = rec.zip_checks
    report = {
        "mode": mode, "out": out_dir is not None, "tabs": args.tabs, "visits_per_tab": args.visits, "images_per_visit": args.images,
        "same_conversations": args.same, "wall_s": round(wall, 1), "server_start_s": round(start_s, 1),
        "visits": rec.visits, "restarts": kills, "failed_starts_retried": server.failed_starts,
        "saves": {
            "acknowledged": len(rec.acked),
            "in_downloaded_visits": {"acknowledged": sum(len(z["acked"]) for z in zips),
                                     "found_in_zip": sum(len(set(z["acked"]) & set(z["found"] or [])) for z in zips),
                                     "missing": [z for z in zips if z["missing"]]},
            "folder": folder_check,
            # browser mode: saves of visits that never downloaded (with --out the folder check covers them)
            "left_in_server_by_reload": None if out_dir else rec.left["reload"],
            "left_in_server_by_kill": None if out_dir else rec.left["kill"],
        },
        "downloads": {"files": rec.downloads["files"], "cut_short": rec.downloads["short"],
                      "failed_while_server_killed": rec.downloads["server_killed"],
                      "retried_after_no_response": rec.downloads["retried"], "errors": rec.downloads["errors"][:5]},
        "actions": {name: {**latency_stats(ts), "failed": rec.failed.get(name, 0)} for name, ts in sorted(rec.times.items())},
        "hostile": {"calls": len(rec.hostile), "tab_broken_after": [h for h in rec.hostile if h["tab_works_after"] is False and not h["server_killed_meanwhile"]],
                    "slowest": sorted(rec.hostile, key=lambda h: -h["seconds"])[:5], "all": rec.hostile},
        "server": {"peak_rss_mb_per_process": [round(p / 2**20) for p in server.peaks], "sampled_rss_max_mb": round(server.rss_max / 2**20),
                   "tracebacks_in_log": tracebacks, "traceback_last_lines": samples, "log": str(log)},
    }
    return report


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--modes", default="browser,out", help="browser (no --out), out (--out DIR), or both")
    p.add_argument("--tabs", type=int, default=4)
    p.add_argument("--visits", type=int, default=2, help="visits per tab (open, annotate, save, download)")
    p.add_argument("--images", type=int, default=3, help="example images per visit")
    p.add_argument("--reloads", type=int, default=1, help="tabs that reload the page in the middle of a visit")
    p.add_argument("--restarts", type=int, default=1, help="kill -9 + restart of the server per mode")
    p.add_argument("--kill-after", type=int, default=6, help="acknowledged saves between kills")
    p.add_argument("--no-hostile", dest="hostile", action="store_false")
    p.add_argument("--noise-layer", action="store_true", help="also a random-colour 2048 px layer (slow: seconds of CPU)")
    p.add_argument("--same", action="store_true", help="every tab plays the same conversation (identical output files)")
    p.add_argument("--call-timeout", type=float, default=120.0)
    p.add_argument("--time-limit", type=float, default=240.0, help="no new call after this many seconds (per mode)")
    p.add_argument("--keep", action="store_true", help="keep the work folder (server logs, --out data set)")
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="strangers-"))
    reports = []
    try:
        for mode in [m.strip() for m in args.modes.split(",") if m.strip()]:
            if mode not in ("browser", "out"):
                raise SystemExit(f"unknown mode {mode!r}: browser or out")
            r = run_mode(mode, args, workdir)
            reports.append(r)
            s = r["saves"]
            print(f"[{mode}] {r['wall_s']} s, visits {r['visits']}, restarts {len(r['restarts'])}")
            print(f"  saves acknowledged {s['acknowledged']}; in downloaded visits {s['in_downloaded_visits']['acknowledged']} "
                  f"acked / {s['in_downloaded_visits']['found_in_zip']} in the zip"
                  + (f"; --out folder {s['folder']['acked_distinct']} acked / {s['folder']['found']} found" if s["folder"] else "")
                  + ("" if s["folder"] else f"; left in the server by reload {s['left_in_server_by_reload']}, by kill {s['left_in_server_by_kill']}"))
            print(f"  downloads {r['downloads']['files']}, cut short {r['downloads']['cut_short']} "
                  f"(+{r['downloads']['failed_while_server_killed']} while the server was killed); "
                  f"peak RSS {r['server']['peak_rss_mb_per_process']} MB; tracebacks in the log {r['server']['tracebacks_in_log']}")
            print(f"  hostile calls {r['hostile']['calls']}, tab broken after {len(r['hostile']['tab_broken_after'])}")
            for name, st in r["actions"].items():
                print(f"  {name:<17} n={st['n']:<4} p50 {st['p50_ms']:7.0f} ms  p95 {st['p95_ms']:7.0f} ms  failed {st['failed']}")
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    result = {"command": "python experiments/strangers.py " + " ".join(sys.argv[1:] if argv is None else argv),
              "cpu_threads": os.cpu_count(), "modes": reports}
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=2, ensure_ascii=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
