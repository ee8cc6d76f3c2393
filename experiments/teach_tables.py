"""Print docs/teach.md's tables from the JSON of experiments/teach_curve.sh and experiments/teach_speed.py.

    python experiments/teach_tables.py
"""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CURVE = ROOT / "checkpoints" / "scenes-lraspp" / "eval" / "teach"
SPEEDS = [ROOT / "checkpoints" / "eval" / f"teach-speed-cpu{suffix}.json" for suffix in ("", "-mobilenet")]


def curve(folder: Path = CURVE, lr: str = "3e-4") -> None:
    def load(name: str, op: str) -> list[float] | None:
        path = (CURVE if name == "shipped" else folder) / f"{name}-{op}.json"
        return [100 * v for v in json.loads(path.read_text())["miou"]] if path.is_file() else None

    base = {op: load("shipped", op) for op in ("find", "remove")}
    print(f"| training images (saved / in train.txt) | steps (batch 32, lr {lr}) | find: 0 -> 1 hint | gain | of shipped | "
          "remove: 0 -> 1 hint | gain | of shipped |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for n in (50, 100, 300, 1000):
        if not (folder / f"n{n}-train.json").is_file():
            continue
        train = json.loads((folder / f"n{n}-train.json").read_text())
        data = json.loads((folder / f"n{n}-dataset.json").read_text())
        cells = [f"{n} / {data['train']}", str(train["steps"])]
        for op in ("find", "remove"):
            m, b = load(f"n{n}", op), base[op]
            if m is None or b is None:
                cells += ["-", "-", "-"]
                continue
            gain, full = m[1] - m[0], b[1] - b[0]
            cells += [f"{m[0]:.1f} -> {m[1]:.1f}", f"{gain:+.1f}", f"{100 * gain / full:.0f} %"]
        print("| " + " | ".join(cells) + " |")
    print()
    for op in ("find", "remove"):
        b = base[op]
        if b is not None:
            print(f"shipped guide, {op}: {b[0]:.1f} -> {b[1]:.1f} ({b[1] - b[0]:+.1f}).")


def speed(path: Path) -> None:
    if not path.is_file():
        return
    report = json.loads(path.read_text())
    print(f"\n`{report['command']}`: {report['cpu_count']} CPU cores, {report['threads']} torch threads, torch {report['torch']}; {report['note']}\n")
    print("| architecture | split layer | features per image (MB) | head per image (s) | step, batch "
          f"{report['budget']['batch']} (s) | 100 images (min) | 300 images (min) |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for r in report["rows"]:
        print(f"| `{r['arch']}` | `{r['split_layer']}` | {r['features_mb_per_image']:.1f} | {r['cache_s_per_image']:.1f} | "
              f"{r['ms_per_step'] / 1000:.1f} | {r['minutes_for_100_images']:.0f} | {r['minutes_for_300_images']:.0f} |")


if __name__ == "__main__":
    curve(CURVE / "steps2000-lr1e-3", "1e-3")  # the rule: the rate and the steps chosen on val
    print("\nThe second rule:\n")
    curve(CURVE / "steps1000-lr1e-3", "1e-3")
    print("\nThe first rule:\n")
    curve()
    for path in SPEEDS:
        speed(path)
