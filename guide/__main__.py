"""Command line: ``python -m guide COMMAND ...``.

  train-segmenter   train a segmenter from scratch on a dataset (guide/train.py)
  train-guide       train a text guide for a frozen segmenter (guide/text/train.py)
  evaluate          evaluate segmenter | questions | text | reader (guide/evaluate.py, guide/text/evaluate.py)
  bench             time head, tail, text and click turns (guide/bench.py)
  examples          write example scenes for the app (guide/data/scenes.py)
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    command, rest = argv[0], argv[1:]
    if command == "train-segmenter":
        from .train import main as run
    elif command == "train-guide":
        from .text.train import main as run
    elif command == "evaluate":
        if rest and rest[0] == "text":
            from .text.evaluate import main as run

            rest = rest[1:]
        elif rest and rest[0] == "reader":
            from .text.evaluate_reader import main as run

            rest = rest[1:]
        else:
            from .evaluate import main as run
    elif command == "bench":
        from .bench import main as run
    elif command == "examples":
        from .data.scenes import main as run
    else:
        print(f"unknown command {command!r}\n{__doc__}", file=sys.stderr)
        return 2
    from .model import ModelLoadError

    try:
        run(rest)
    except (ModelLoadError, FileNotFoundError) as e:  # a wrong --model or a missing data set: say which
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
