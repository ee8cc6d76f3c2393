"""Many users at once: N concurrent scripted conversations against the app, loopback only.

    python experiments/load.py --users 8 --turns 12 --think 1.0 --json out.json
    python experiments/load.py --url http://127.0.0.1:7860/ --users 8        # an app already running

Without ``--url`` it starts ``python app.py`` (with ``--model``/``--concurrency`` passed on) on a free
loopback port and stops it afterwards. Each user opens its own gradio_client connection, loads an
example image, then plays ``--turns`` events drawn in a fixed cycle (chat hint, ask + answer, labelled
points, what-changed toggle, undo) with ``--think`` seconds between events, and the script reports per-event
p50 / p95 latency (call to result, as the user sees it) and the throughput. Bounded: at most
``users x (turns + 1)`` calls and ``--time-limit`` seconds; only 127.0.0.0/8 or localhost is accepted.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
HINTS = ["there is a coat on the top left", "there is no grass on the bottom", "the sky is missing on the top",
         "there is a bag on the right", "there is sand on the bottom left"]


def loopback_only(url: str) -> None:
    host = urlparse(url).hostname or ""
    if host == "localhost":
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise SystemExit(f"refusing {url}: this load script only talks to loopback addresses (127.0.0.0/8, localhost)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(model: str | None, concurrency: int | None, timeout: float = 180.0,
              app_cmd: list[str] | None = None) -> tuple[subprocess.Popen, str]:
    """``python app.py`` (or ``app_cmd``, which takes app.py's arguments) on a free loopback port, with the
    benchmarks' ping events (``GUIDE_BENCH=1``: guide/ui/layout.py, bench_pings)."""
    port = free_port()
    cmd = [*(app_cmd or [sys.executable, str(ROOT / "app.py")]), "--host", "127.0.0.1", "--port", str(port)]
    if model:
        cmd += ["--model", model]
    if concurrency:
        cmd += ["--concurrency", str(concurrency)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "GUIDE_BENCH": "1"})
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the app exited early:\n{proc.stdout.read() if proc.stdout else ''}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, url
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit(f"the app did not start within {timeout:.0f} s")


def stop_app(proc: subprocess.Popen | None) -> None:
    """Stop an app started by :func:`start_app` (None: one this script did not start)."""
    if proc is None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def example_image() -> str:
    found = sorted((ROOT / "examples").glob("scene_[0-9][0-9].png"))
    if not found:
        raise SystemExit("no examples/scene_XX.png to upload")
    return str(found[0])


def user(url: str, index: int, turns: int, think: float, stop_at: float, image: str, out: list, lock: threading.Lock) -> None:
    from gradio_client import Client, handle_file

    c = Client(url, verbose=False, download_files=False)
    classes = ["coat", "sand", "sky", "grass", "bag"]

    def call(name: str, *args) -> None:
        t = time.perf_counter()
        c.predict(*args, api_name=f"/{name}")
        with lock:
            out.append((name, time.perf_counter() - t, time.time()))

    call("set_image", handle_file(image))
    for k in range(turns):
        if time.time() > stop_at:
            return
        time.sleep(think)
        step = (k + index) % 5
        if step == 0:
            call("chat", HINTS[(k + index) % len(HINTS)])
        elif step == 1:
            call("ask")
        elif step == 2:
            call("answer", classes[(k + index) % len(classes)])
        elif step == 3:
            y, x = 20 + 7 * ((k + index) % 15), 30 + 9 * ((k * 3 + index) % 12)
            call("guide_points", json.dumps([[y, x, classes[(k + 2 * index) % len(classes)]]]))
        else:
            call("view", bool(k % 2))  # the what-changed highlight (the opacity slider never reaches the server)
            if k % 2:
                call("undo")


def latency_stats(seconds: list[float]) -> dict:
    """{"n", "p50_ms", "p95_ms"} of latencies given in seconds (p95: nearest rank)."""
    ts = sorted(seconds)
    return {"n": len(ts), "p50_ms": 1000 * statistics.median(ts),
            "p95_ms": 1000 * ts[min(len(ts) - 1, int(round(0.95 * (len(ts) - 1))))]}


def summarize(records: list, wall: float) -> dict:
    by: dict[str, list[float]] = {}
    for name, dt, _ in records:
        by.setdefault(name, []).append(dt)
    report = {name: latency_stats(ts) for name, ts in sorted(by.items())}
    report["all"] = latency_stats([dt for _, dt, _ in records])
    # the conversation's events without the image upload (all users upload at once at the start)
    turns = [dt for name, dt, _ in records if name != "set_image"]
    if turns:
        report["turns"] = latency_stats(turns)
    report["throughput_events_per_s"] = len(records) / wall
    return report


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", default=None, help="an app already running on loopback (default: start one)")
    p.add_argument("--model", default=None, help="--model for the app this script starts")
    p.add_argument("--concurrency", type=int, default=None, help="--concurrency for the app this script starts")
    p.add_argument("--users", type=int, default=8)
    p.add_argument("--turns", type=int, default=12, help="events per user after loading the image")
    p.add_argument("--think", type=float, default=1.0, help="seconds between one user's events")
    p.add_argument("--time-limit", type=float, default=300.0, help="stop issuing events after this many seconds")
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    proc = None
    url = args.url
    if url is None:
        proc, url = start_app(args.model, args.concurrency)
    loopback_only(url)
    try:
        records: list = []
        lock = threading.Lock()
        stop_at = time.time() + args.time_limit
        image = example_image()
        t0 = time.time()
        threads = [threading.Thread(target=user, args=(url, i, args.turns, args.think, stop_at, image, records, lock), daemon=True)
                   for i in range(args.users)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=args.time_limit + 120)
        wall = time.time() - t0
    finally:
        stop_app(proc)
    report = {"users": args.users, "turns": args.turns, "think_s": args.think, "wall_s": wall,
              "cpu_threads": os.cpu_count(), "events": summarize(records, wall)}
    for name, r in report["events"].items():
        if isinstance(r, dict):
            print(f"{name:<14} n={r['n']:<4} p50 {r['p50_ms']:7.0f} ms   p95 {r['p95_ms']:7.0f} ms")
    print(f"throughput {report['events']['throughput_events_per_s']:.2f} events/s over {wall:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
