"""Evaluate a text guide: ``python -m guide evaluate text`` (paper Tables 2-5).

For every image of a split the simulated user (:func:`guide.text.generator.generate_hint`)
compares the current prediction with the ground truth and types the hint's text into the
app's :class:`~guide.dialogue.conversation.Conversation` (``say``) -- the very path the app takes.
With several hints each new one is generated from the current guided prediction; how
their guides combine is ``--compose`` (default ``delta``: each hint's change to the
logits is added; ``stack``: each guides the previous one's output, the paper's Table 5).
As in the app, a hint that moves the class it names the wrong way is taken back
(``--keep-backfiring`` keeps it).
mIoU after 0, 1, 2, ... hints is accumulated over the whole split per run; runs differ
only in the random hints and are averaged (the paper uses 5).

``--ablation wrong-class`` swaps the class word for another class and ``no-place`` drops
the spatial phrase: if the guide reads the words, both should lower the gain.

``--phrasings heldout`` words the same (operation, class, place) with the held-out
phrasebook (``guide/text/heldout.py``, never trained on) instead of the training one:
the gain it keeps is how well the guide reads wordings it never saw.
``python -m guide evaluate reader`` (``guide/evaluation/reader.py``) scores the reader.
``--phrasings blind`` / ``dev``: the frozen blind held-out set and its development set (docs/text.md). When the
conversation asks to confirm a reading ("Do you mean ...?"), the simulated user answers truthfully; the
report counts the questions (``confirmations``).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from guide.core.hints import OPERATIONS, OPS_CHOICES
from guide.core.metrics import confusion_matrix, miou
from guide.core.settings import TEXT_CLASS_SCOPE, TEXT_COMPOSE, TEXT_COMPOSE_MODES, TEXT_PLACE_MASK, Settings, TextSettings
from guide.evaluation.evaluate import EvalSetup, number_arg
from guide.text.generator import ABLATIONS, generate_hint
from guide.text.vectors import vectors_source

PHRASINGS = ("templates", "heldout", "paper", "blind", "dev")


def phrasebook(name: str) -> Any:
    """The training phrasebook ("templates"), the first guides' ("paper") or the held-out one
    ("heldout", measuring only)."""
    from guide.text.templates import BOOKS

    if name in BOOKS:
        return BOOKS[name]
    if name == "heldout":
        from guide.text.heldout import HELDOUT

        return HELDOUT
    if name == "blind":
        from guide.text.heldout_blind import BLIND

        return BLIND
    if name == "dev":
        from guide.text.devset import DEV

        return DEV
    raise ValueError(f"unknown phrasings {name!r}; choose from {PHRASINGS}")


def _dataset(data: str, split: str, root: str | None, size: int) -> Any:
    from guide import data as datasets

    get_dataset = getattr(datasets, "get_dataset", None)
    if get_dataset is not None:
        return get_dataset(data, split, root=root, size=size)
    return datasets.SceneDataset(split, size=size)


def evaluate_text(
    model: Any,
    counts: Sequence[int] = (0, 1, 2, 3, 4),
    ops: Sequence[str] | None = None,
    runs: int = 5,
    ablation: str = "none",
    seed: int = 0,
    progress: bool = True,
    dataset: Any = None,
    phrasings: str = "templates",
    setup: EvalSetup = EvalSetup(),
) -> dict[str, Any]:
    """mIoU after each number of text hints, mean and std over ``runs``.

    ``model`` is a :class:`guide.models.hub.GuidedModel` with a text guide; ``ops`` defaults to
    the operations the guide was trained with. Hints of run r on image i are drawn from
    ``np.random.default_rng([seed, r, i])``, so a report is reproducible and runs differ.
    When the simulated user finds nothing left to say, later counts keep the prediction.
    ``setup`` (guide/evaluation/evaluate.py) says which scenes (``dataset``, when given, replaces its data
    set, split and root) and the session's settings (their ``text`` fields: composition, place
    mask, class scope, rewording, taking back); the report records ``"settings"``. One process
    (``setup.workers`` must be 1).
    """
    from guide.dialogue.conversation import Conversation

    if model.text_guide is None:
        raise ValueError("this model has no text guide: train one with `python -m guide train-guide`")
    if ablation not in ABLATIONS:
        raise ValueError(f"unknown ablation {ablation!r}; choose from {ABLATIONS}")
    if setup.workers != 1:
        raise ValueError(f"evaluate text runs in one process, not {setup.workers} workers")
    split, limit = setup.split, setup.limit
    ops = tuple(ops or getattr(model.text_guide, "ops", OPERATIONS))
    book = phrasebook(phrasings)
    counts = sorted(set(int(c) for c in counts))
    dataset = dataset if dataset is not None else _dataset(setup.data, split, setup.root, int(model.config.input_size))
    n = len(dataset) if limit is None else min(int(limit), len(dataset))
    k = model.num_classes
    classes = list(model.classes)
    cms = np.zeros((runs, max(counts) + 1, k, k), dtype=np.int64)
    silent = np.zeros((runs, max(counts) + 1), dtype=np.int64)  # images with nothing left to hint
    # Confirmation questions ("Do you mean: remove the coat on the left?"), answered truthfully by the
    # simulated user: yes when the question's reading is the hint's, "find/remove it instead" when only
    # the operation differs, "no" when the class differs (then nothing is done).
    talk = {"hints": 0, "asked": 0, "asked_right": 0, "answered_other_op": 0, "answered_no": 0}
    conversation = Conversation(model, max_turns=max(counts), settings=setup.settings)
    used = conversation.session.settings
    start = time.time()
    for i in tqdm(range(n), desc=f"evaluate text ({split})", disable=not progress):
        image, label = dataset[i]
        conversation.set_image(image)  # the head runs once per image, shared by all runs
        for r in range(runs):
            conversation.reset()
            rng = np.random.default_rng([seed, r, i])
            pred = conversation.labels()
            cms[r, 0] += confusion_matrix(pred, label, k)
            for turn in range(1, max(counts) + 1):
                hint = generate_hint(pred, label, classes, rng, ops, ablation=ablation, book=book)
                if hint is None:
                    silent[r, turn] += 1
                else:
                    conversation.say(hint.text)  # typed into the app's chat, as a person would
                    talk["hints"] += 1
                    if conversation.confirm is not None:
                        asked = conversation.confirm
                        talk["asked"] += 1
                        if asked["label"] != hint.label:
                            answer = "no"
                            talk["answered_no"] += 1
                        elif asked["op"] == hint.op:
                            answer = "yes"
                            talk["asked_right"] += 1
                        else:
                            answer = f"{hint.op} it instead"
                            talk["answered_other_op"] += 1
                        conversation.say(answer)
                    pred = conversation.labels()
                cms[r, turn] += confusion_matrix(pred, label, k)
    scores = np.array([[miou(cms[r, c]) for c in counts] for r in range(runs)])
    return {
        "model": model.config.name or str(getattr(model, "folder", "")),
        "split": split,
        "images": n,
        "ops": list(ops),
        "compose": used.text.compose,
        "keep_backfiring": used.text.keep_backfiring,
        "reword": used.text.reword,
        "text_place_mask": used.text.place_mask or None,
        "text_class_scope": list(used.text.class_scope),
        "ablation": ablation,
        "phrasings": phrasings,
        "runs": runs,
        "seed": seed,
        "settings": used.to_dict(),
        "hints": list(counts),
        "miou": scores.mean(0).tolist(),
        "miou_std": scores.std(0).tolist(),
        "miou_runs": scores.tolist(),
        "no_hint_left": [float(silent[:, c].mean()) for c in counts],
        "confirmations": {**talk, "asked_share": talk["asked"] / max(talk["hints"], 1),
                          "asked_right_share": (talk["asked_right"] / talk["asked"]) if talk["asked"] else None},
        "seconds": time.time() - start,
        "vectors": vectors_source(),
    }


def format_table(report: dict[str, Any]) -> str:
    """The report as a small text table (mIoU in %)."""
    lines = [
        f"{report['model']} on {report['split']} ({report['images']} images), {'/'.join(report['ops'])} hints, "
        f"ablation {report['ablation']}, {report.get('phrasings', 'templates')} phrasings, {report['runs']} runs",
        "# hints   " + "".join(f"{c:>9}" for c in report["hints"]),
        "mIoU      " + "".join(f"{100 * v:9.2f}" for v in report["miou"]),
        "+- std    " + "".join(f"{100 * v:9.2f}" for v in report["miou_std"]),
    ]
    talk = report.get("confirmations")
    if talk and talk["hints"]:
        right = "" if talk["asked_right_share"] is None else f", the question's reading right {100 * talk['asked_right_share']:.1f} %"
        lines.append(f"asked to confirm {talk['asked']} of {talk['hints']} hints ({100 * talk['asked_share']:.1f} %){right}")
    return "\n".join(lines)


def _place_mask_arg(text: str) -> str:
    """``--place-mask``: "default", "none" or a fraction >= 0 (argparse says which, never a traceback)."""
    if text in ("default", "none"):
        return text
    try:
        if float(text) >= 0:
            return text
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"expected default, none or a fraction >= 0, not {text!r}")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m guide evaluate text", description=__doc__.splitlines()[0])
    p.add_argument("--model", default=None, help="model folder, checkpoints/ name or Hub owner/name@rev")
    p.add_argument("--data", default="scenes")
    p.add_argument("--root", default=None)
    p.add_argument("--split", default="test")
    p.add_argument("--hints", default="0,1,2,3,4", help="hint counts to report (default: 0,1,2,3,4)")
    p.add_argument("--ops", default=None, choices=sorted(OPS_CHOICES), help="default: the ops the guide was trained with")
    p.add_argument("--runs", type=number_arg(int, 1), default=5)
    p.add_argument("--limit", type=number_arg(int, 1), default=None, help="evaluate the first N images only")
    p.add_argument("--ablation", default="none", choices=list(ABLATIONS))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--compose", default=TEXT_COMPOSE, choices=list(TEXT_COMPOSE_MODES),
                   help="how successive hints combine (stack = the paper's Table 5)")
    p.add_argument("--keep-backfiring", action="store_true",
                   help="keep text turns that move their class the wrong way (the app takes them back)")
    p.add_argument("--phrasings", default="templates", choices=list(PHRASINGS),
                   help="training phrasings (templates), the first guides' 7+7 templates (paper), the held-out "
                        "ones (heldout: guide/text/heldout.py, never trained on), the frozen blind held-out set "
                        "(blind: guide/text/heldout_blind.py, frozen) or its development set (dev: guide/text/devset.py)")
    p.add_argument("--read", default="reader", choices=["reader", "words"],
                   help="what the guide reads: the hint as the reader understood it, reworded into one canonical "
                        "sentence (reader, the app's default), or the words as typed (words, the paper)")
    p.add_argument("--place-mask", default="default", type=_place_mask_arg,
                   help="keep each hint's change to the logits inside the place the reader read, widened by this "
                        "fraction of the image, for find and remove (GuideSession(text_place_mask=...)); "
                        "default: the session's (settings.TEXT_PLACE_MASK, 0.25 chosen on val); none: no mask (the paper)")
    p.add_argument("--class-scope", default="default", choices=["default", "none"],
                   help="a hint about a class changes only the pixels that class labels before or after it "
                        "(GuideSession(text_class_scope=...)); default: the session's (settings.TEXT_CLASS_SCOPE, "
                        "find and remove, chosen on val); none: anywhere (the paper)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--json", default=None, help="write the report here")
    args = p.parse_args(argv)
    import torch

    from guide.models.hub import load_model

    if args.threads:
        torch.set_num_threads(args.threads)
    model = load_model(args.model)
    text = TextSettings(
        compose=args.compose, keep_backfiring=args.keep_backfiring, reword=args.read == "reader",
        place_mask=(TEXT_PLACE_MASK if args.place_mask == "default" else None if args.place_mask == "none"
                    else {"find": float(args.place_mask), "remove": float(args.place_mask)}),
        class_scope=TEXT_CLASS_SCOPE if args.class_scope == "default" else (),
    )
    setup = EvalSetup(args.data, args.split, args.root, args.limit, Settings(text=text))
    report = evaluate_text(model, [int(c) for c in args.hints.split(",")], OPS_CHOICES[args.ops] if args.ops else None,
                           args.runs, args.ablation, args.seed, phrasings=args.phrasings, setup=setup)
    print(format_table(report))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
