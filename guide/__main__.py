"""Command line: ``python -m guide COMMAND ...`` (``python -m guide COMMAND --help`` for its options).

A mistake the user can fix (unknown command, wrong ``--model``, missing data set, a bad
option value) ends in one ``error:`` line on stderr and exit status 2, never a traceback;
Ctrl-C ends in ``interrupted`` (status 130).
"""

from __future__ import annotations

import importlib
import sys

# command -> (module whose main(argv) runs it, one-line summary). Two-word commands first
# match on both words ("evaluate text"), then on the first.
COMMANDS: dict[str, tuple[str, str]] = {
    "train-segmenter": ("guide.training.segmenter", "train a segmenter from scratch on a dataset"),
    "train-guide": ("guide.training.text", "train a text guide for a frozen segmenter"),
    "evaluate": ("guide.evaluation.evaluate", "evaluate segmenter | questions | clicks | effort | reference (mIoU unguided, after N answers or clicks; annotation effort)"),
    "evaluate text": ("guide.evaluation.text", "mIoU after N text hints (--phrasings templates | heldout | paper)"),
    "evaluate reader": ("guide.evaluation.reader", "accuracy of the hint reader (operation, class, place)"),
    "bench": ("guide.evaluation.bench", "time head, tail, text and click turns"),
    "examples": ("guide.data.scenes", "write example scenes (and labels) for the app"),
    "import": ("guide.models.pretrained", "write a model folder from torchvision's pretrained weights"),
    "space": ("guide.serving.space", "deploy the app to a Hugging Face Space (--dry-run: the files it would upload)"),
}


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = [f"  {name:<{width}}  {summary}" for name, (_, summary) in COMMANDS.items()]
    return "\n".join(["usage: python -m guide COMMAND [--help | options]", "", "commands:", *lines,
                      "", "The app: python app.py [--model ...]"])


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0
    name = " ".join(argv[:2]) if " ".join(argv[:2]) in COMMANDS else argv[0]
    if name not in COMMANDS:
        print(f"error: unknown command {argv[0]!r}; commands: {', '.join(c for c in COMMANDS if ' ' not in c)} "
              "(python -m guide --help)", file=sys.stderr)
        return 2
    rest = argv[len(name.split()):]
    run = importlib.import_module(COMMANDS[name][0]).main
    from guide.core.guided import ModelLoadError

    try:
        run(rest)
    except SystemExit as e:  # argparse (--help: 0, a bad option: 2, its message already printed) or a plain message
        if isinstance(e.code, str):
            print(f"error: {e.code}", file=sys.stderr)
            return 2
        return 0 if e.code is None else int(e.code)
    except (ModelLoadError, FileNotFoundError, ValueError) as e:  # a wrong --model, a missing data set, a bad value
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C: trainers keep their last saved state (--resume)
        print("interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
