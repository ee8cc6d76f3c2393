"""Does an annotate action cost the same at 1,000 images as at 10? Time per Save / Save & next /
Next / Previous through the running app's API, with data sets of each size.

    OMP_NUM_THREADS=1 python experiments/annotate_scale.py --sizes 10 1000 --rounds 5 \
        --json checkpoints/eval/annotate-scale-cpu.json

Starts the app in this process (``app.build_demo`` with ``--model``, default: the embedded model; browser
mode, no ``--out``: each client's data set lives in the server's temporary area, as on a Space) on a free
loopback port, and for each size opens one zip of that many small random photos (``--side`` px) with
``/open_images`` in a tab of its own (timed once), then plays ``--rounds`` rounds of ``/guide_points``
(one labelled point, not timed: it makes the save write real labels), ``/save``, ``/save_next``,
``/previous``, ``/next``, each timed from call to result as a client sees it; the rounds alternate between
the sizes, so a busy machine slows both alike. Writes p50 / mean / max per action and size, and the
largest size's p50 over the smallest's (``ratio_p50``), as JSON.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

ACTIONS = ("save", "save_next", "previous", "next")


def photos_zip(folder: Path, n: int, side: int, seed: int = 0) -> Path:
    """``n`` random photos (side x 3/4 side, a sky band on top) as one zip."""
    rng = np.random.default_rng(seed)
    path = folder / f"photos-{n}.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for i in range(n):
            img = rng.integers(0, 255, (side * 3 // 4, side, 3), dtype=np.uint8)
            img[: side // 4] = [120, 180, 240]
            buf = io.BytesIO()
            Image.fromarray(img).save(buf, "PNG")
            zf.writestr(f"photos/photo_{i:04d}.png", buf.getvalue(), compress_type=zipfile.ZIP_STORED)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def timed(fn, *args, **kwargs) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - t0, out


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""


def during_open(Client, handle_file, port: int, tmp: Path, args, small) -> dict:
    """Time the small tab's Save / Next / Previous while another tab opens ``--during-open`` images,
    and a third tab's one-image open started during it."""
    import threading

    big = Client(f"http://127.0.0.1:{port}/", verbose=False, download_files=False)
    z = photos_zip(tmp, args.during_open, args.side, seed=7)
    (tmp / "one").mkdir()
    one = photos_zip(tmp / "one", 1, args.side, seed=8)
    done: dict = {}

    def open_big() -> None:
        done["open_s"], _ = timed(big.predict, [handle_file(str(z))], api_name="/open_images")

    worker = threading.Thread(target=open_big)
    worker.start()
    time.sleep(2.0)  # the big open is running
    times: dict[str, list[float]] = {a: [] for a in ACTIONS}
    third = Client(f"http://127.0.0.1:{port}/", verbose=False, download_files=False)
    t_one, _ = timed(third.predict, [handle_file(str(one))], api_name="/open_images")
    while worker.is_alive() and len(times["next"]) < args.rounds:
        for action in ACTIONS:
            dt, _ = timed(small.predict, api_name=f"/{action}")
            times[action].append(dt)
    still_open = worker.is_alive()
    worker.join()
    out = {"images": args.during_open, "big_open_s": round(done["open_s"], 2), "one_image_open_s": round(t_one, 2),
           "actions_finished_before_the_big_open": still_open,
           **{a: {"p50_ms": round(1000 * statistics.median(v), 1), "n": len(v)} for a, v in times.items() if v}}
    print("during a big open:", out, flush=True)
    big.close()
    third.close()
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[10, 1000])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--side", type=int, default=96, help="photo width in pixels (height 3/4 of it)")
    p.add_argument("--model", default=None, help="model spec (default: the embedded model)")
    p.add_argument("--json", default=None, help="write the results here")
    p.add_argument("--during-open", type=int, default=0,
                   help="also: while another tab opens this many images, time the small tab's actions (opens have a queue lane of their own)")
    args = p.parse_args()

    import torch
    from gradio_client import Client, handle_file

    import app
    from guide import DEFAULT_MODEL
    from guide.models.hub import load_model

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    model = load_model(args.model or DEFAULT_MODEL, device="cpu")
    demo = app.build_demo(model, examples=[])
    demo.queue(default_concurrency_limit=1, max_size=64)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, **app.launch_kwargs())
    results: dict = {"command": " ".join(["python", "experiments/annotate_scale.py", *sys.argv[1:]]), "commit": git_commit(),
                     "machine": platform.processor() or platform.machine(), "torch_threads": torch.get_num_threads(),
                     "side": args.side, "rounds": args.rounds, "sizes": {}}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            clients, times = {}, {}
            for n in args.sizes:
                c = Client(f"http://127.0.0.1:{port}/", verbose=False, download_files=False)  # a tab per size
                z = photos_zip(Path(tmp), n, args.side, seed=n)  # other pixels per size: no head features shared between the tabs
                t_open, r = timed(c.predict, [handle_file(str(z))], api_name="/open_images")
                print(f"{n} images: open {t_open:.1f} s · {r[3][:80]}", flush=True)
                clients[n], times[n] = c, {a: [] for a in ACTIONS}
                results["sizes"][str(n)] = {"open_s": round(t_open, 3)}
            # Rounds alternate between the sizes, so a busy machine slows both alike.
            for k in range(args.rounds):
                for n, c in clients.items():
                    c.predict(f'[[{5 + k}, 5, "sky"]]', api_name="/guide_points")
                    for action in ACTIONS:
                        dt, r = timed(c.predict, api_name=f"/{action}")
                        times[n][action].append(dt)
                    print(f"  {n} images, round {k + 1}: " + " · ".join(f"{a} {times[n][a][-1] * 1000:.0f} ms" for a in ACTIONS)
                          + f" · {r[3][:60]}", flush=True)
            if args.during_open:
                results["during_open"] = during_open(Client, handle_file, port, Path(tmp), args, clients[min(clients)])
            for n, c in clients.items():
                results["sizes"][str(n)].update({a: {"p50_ms": round(1000 * statistics.median(v), 1), "mean_ms": round(1000 * statistics.fmean(v), 1),
                                                     "max_ms": round(1000 * max(v), 1)} for a, v in times[n].items()})
                c.close()
            lo, hi = str(min(args.sizes)), str(max(args.sizes))
            results["ratio_p50"] = {a: round(results["sizes"][hi][a]["p50_ms"] / results["sizes"][lo][a]["p50_ms"], 2) for a in ACTIONS}
            results["load_average"] = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    finally:
        demo.close()
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(text + "\n")


if __name__ == "__main__":
    main()
