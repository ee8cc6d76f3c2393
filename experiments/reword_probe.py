"""Two val probes behind the canonical rewording, 200 val scenes x 3 runs, one hint:

* ``frames``: which sentence the reader's reading is reworded into (each of the paper's 7 find / 7 remove frames);
* ``scale``: the guiding parameters scaled by 0.75-3 (is the guide too timid?).

    python experiments/reword_probe.py frames --model checkpoints/scenes-lraspp --json eval/reword-val/frames-first.json
    python experiments/reword_probe.py scale --model checkpoints/scenes-lraspp --json eval/reword-val/scale-first.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from guide.core.block import GuideParams  # noqa: E402
from guide.core.settings import Settings, TextSettings  # noqa: E402
from guide.evaluation.evaluate import EvalSetup  # noqa: E402
from guide.evaluation.text import evaluate_text  # noqa: E402
from guide.models.hub import load_model  # noqa: E402
from guide.text import understand  # noqa: E402
from guide.text.templates import PAPER  # noqa: E402


def gain(model, op: str) -> float:
    before = Settings(text=TextSettings(place_mask=None, class_scope=()))  # measured before the place mask and class scope existed
    r = evaluate_text(model, [0, 1], (op,), 3, progress=False, phrasings="templates",
                      setup=EvalSetup(split="val", limit=300, settings=before))
    return r["miou"][1] - r["miou"][0]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("probe", choices=["frames", "scale"])
    p.add_argument("--model", default="checkpoints/scenes-lraspp")
    p.add_argument("--json", required=True)
    args = p.parse_args()
    torch.set_num_threads(1)
    model = load_model(args.model)
    res = {}
    if args.probe == "frames":
        default = dict(understand.CANONICAL)
        for op, frames in (("find", PAPER.find), ("remove", PAPER.remove)):
            for frame in frames:
                understand.CANONICAL[op] = frame
                res[f"{op}: {frame}"] = gain(model, op)
                print(f"{op:6s} {frame:35s} {100 * res[f'{op}: {frame}']:+.2f}", flush=True)
            understand.CANONICAL.update(default)
    else:
        encode = understand.encode_hint
        for op in ("remove", "find"):
            for s in (0.75, 1.5, 2.0, 3.0):
                understand.encode_hint = lambda tg, text, s=s: (lambda p, t: (GuideParams(*(x * s for x in p.tensors())), t))(*encode(tg, text))
                res[f"{op} {s}"] = gain(model, op)
                print(op, s, f"{100 * res[f'{op} {s}']:+.2f}", flush=True)
        understand.encode_hint = encode
    Path(args.json).write_text(json.dumps(res, indent=1) + "\n")


if __name__ == "__main__":
    main()
