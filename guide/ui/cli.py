"""``python app.py``: the command line (and GUIDE_MODEL / GUIDE_MODELS), model preloading, launch."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

import gradio as gr

from guide.annotation.dataset import DatasetError
from guide.annotation.intake import PixelBudget
from guide.core.guided import ModelLoadError
from guide.core.settings import Settings
from guide.dialogue.conversation import text_guide_ready
from guide.models.domain import example_images
from guide.models.hub import load_model
from guide.serving.pool import MAX_MODELS, ModelShelf
from guide.ui.guard import patient_startup_probe
from guide.ui.layout import build_demo, launch_kwargs


def model_specs(model: str | None, models: str | None) -> list[str]:
    """The default model's spec first, then the selector's (a comma list), each once."""
    from guide import DEFAULT_MODEL

    extra = [m.strip() for m in (models or "").split(",") if m.strip()]
    return list(dict.fromkeys([model or DEFAULT_MODEL, *extra]))


def demo_from_args(argv: list[str] | None = None) -> tuple[gr.Blocks, argparse.Namespace]:
    """Parse the command line (and GUIDE_MODEL / GUIDE_MODELS), load the models, build the app.
    Every model named is loaded once here, so a bad one stops the start with a message."""
    p = argparse.ArgumentParser(description="Guide Me: correct a segmentation network by painting, chatting and answering its questions.")
    p.add_argument("--model", default=os.environ.get("GUIDE_MODEL") or None,
                   help="default model: a model folder, checkpoints/ name, Hub owner/name@rev, or torchvision:ARCH (env GUIDE_MODEL; default: the embedded model)")
    p.add_argument("--models", default=os.environ.get("GUIDE_MODELS", ""),
                   help="comma list of model specs a model selector offers besides the default (env GUIDE_MODELS)")
    p.add_argument("--max-models", type=int, default=MAX_MODELS, help=f"models kept loaded at once (default {MAX_MODELS}; others reload when chosen)")
    p.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"), help="address to listen on (0.0.0.0 for all)")
    p.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", 0)) or None, help="port (default: first free from 7860)")
    p.add_argument("--share", action="store_true", help="also create a public gradio.live link (needs internet)")
    p.add_argument("--concurrency", type=int, default=None, help="events run at once (default: 4 on GPU, 1 on CPU)")
    p.add_argument("--queue-size", type=int, default=64, help="most events waiting in the queue")
    p.add_argument("--out", default=None, help="annotate into this data set folder (PascalVOC + COCO; made if new, continued if not)")
    p.add_argument("--images", nargs="+", default=None, help="image files, folders or zips to add to --out before starting")
    p.add_argument("--allow-other-model", action="store_true", help="continue an --out data set made by another model (same classes)")
    p.add_argument("--settings", default=os.environ.get("GUIDE_SETTINGS") or None,
                   help="JSON file of session settings (guide/core/settings.py Settings.to_dict(); fields left out keep their defaults; env GUIDE_SETTINGS)")
    args = p.parse_args(argv)
    if args.images and not args.out:
        p.error("--images needs --out DATASET (the folder the labels are saved in)")
    if args.images and (problem := images_problem(args.images, args.out)):
        p.error(problem)  # before a model loads or --out is made: a typo must not start an empty data set
    if args.max_models < 1:
        raise SystemExit("--max-models must be at least 1.")
    settings = read_settings(args.settings) if args.settings else None
    specs = model_specs(args.model, args.models)
    shelf = ModelShelf(load_model, size=args.max_models, examples=example_images, settings=settings)
    for spec in specs:
        try:
            shelf.add(spec, load_model(spec))
        except ModelLoadError as e:
            where = "--model / GUIDE_MODEL" if spec == specs[0] else "--models / GUIDE_MODELS"
            raise SystemExit(f"Could not load the model {spec!r} (from {where}): {e}\n"
                             "Give models as a model folder, a checkpoints/ name, owner/name@rev, or torchvision:ARCH.") from None
        default = shelf.pool(specs[0])  # kept the most recently used (reloaded if --max-models 1)
    args.out_is_new = bool(args.out) and not os.path.exists(args.out)  # main() removes it again if --images opened nothing
    try:
        demo = build_demo(default.model, out=args.out, allow_other_model=args.allow_other_model, shelf=shelf, spec=specs[0], choices=specs)
    except DatasetError as e:  # another model's data set, or a folder that is not one
        raise SystemExit(f"Could not open the data set: {e}") from None
    return demo, args


def images_problem(paths: list[str], out: str | None) -> str | None:
    """Why ``--images`` would open nothing, naming the paths (None when it holds an image or a data
    set to resume). Reads file headers only (:func:`guide.annotation.intake.collect`, the check
    :meth:`AnnotationDataset.add` runs again), so a typo stops the start before ``--out`` is made;
    when some paths are missing and others hold images, the data set's own "skipped" lines say which."""
    from guide.annotation.dataset import dataset_source
    from guide.annotation.intake import collect

    missing = [p for p in paths if not os.path.exists(p)]
    if len(missing) == len(paths):
        return f"--images: no such file or folder: {', '.join(missing)}"
    if any(dataset_source(p) is not None for p in paths):
        return None
    batch = collect(paths, exclude=out if out and os.path.isdir(out) else None)
    if batch.images:
        return None
    shown = batch.messages[:5] + ([f"and {len(batch.messages) - 5} more"] if len(batch.messages) > 5 else [])
    return f"--images: no image found in {', '.join(paths)}" + (f" ({' '.join(shown)})" if shown else " (an empty folder?)")


def read_settings(path: str) -> Settings:
    """``--settings FILE.json`` -> Settings; a missing, unreadable or unknown-field file stops the start with a message."""
    try:
        return Settings.from_dict(json.loads(Path(path).read_text()))
    except (OSError, ValueError, TypeError) as e:  # json.JSONDecodeError is a ValueError; an unknown field too
        raise SystemExit(f"Could not read the settings file {path}: {e}") from None


def main(argv: list[str] | None = None) -> None:
    demo, args = demo_from_args(argv)
    model = demo.guide_app.model  # type: ignore[attr-defined]
    print(f"Loaded model {model.config.name or '?'} from {model.source} on {model.device}; text guide: {'yes' if model.text_guide is not None else 'no'}")
    if args.out:
        ds = demo.guide_app.annotate.annotator.out  # type: ignore[attr-defined]
        if args.images:
            # a data set folder or zip among them (this app's, or VOC) resumes; no pixel budget: these are the
            # operator's own files at start, not a stranger's request (MAX_IMAGES and the per-image caps still hold)
            report = ds.open_paths(args.images, budget=PixelBudget(float("inf")))
            print(report.summary(), *report.messages, sep="\n  ")
            if not ds.ids and args.out_is_new:  # every image failed to decode (images_problem reads headers only)
                shutil.rmtree(ds.root, ignore_errors=True)  # the folder this start made, holding no image
                print(f"error: --images: no image could be opened from {', '.join(args.images)}; "
                      f"{ds.root} was not kept", file=sys.stderr)
                raise SystemExit(2)
        print(f"Data set {ds.root}: {ds.progress_text()}")
    if any(text_guide_ready(m) for m in demo.guide_app.shelf.models()):  # type: ignore[attr-defined]
        # the GloVe vectors load once (~0.5 s): now, not at the first hint someone types
        from guide.text.vectors import load_vectors

        try:
            load_vectors()
        except Exception as e:  # noqa: BLE001 - the first hint tries again and says what failed
            print(f"Could not load the GloVe vectors yet ({type(e).__name__}: {e}); the first text hint will try again.")
    # CPU: 1 event at a time (experiments/load.py, 8 users on 2 cores: turn p95 0.6 s at 1, 1.1-1.3 s at 2 or 4)
    concurrency = args.concurrency or (4 if model.device.type == "cuda" else 1)
    demo.queue(default_concurrency_limit=concurrency, max_size=args.queue_size)
    patient_startup_probe()  # a restart on a busy machine still comes up (guide/ui/guard.py)
    try:
        demo.launch(server_name=args.host, server_port=args.port, share=args.share, show_error=False, quiet=True,
                    prevent_thread_lock=True, **launch_kwargs())
    except OSError as e:  # the port is taken, or the address cannot be bound
        raise SystemExit(f"Could not start the server on {args.host}:{args.port or '7860+'}: {e}\n"
                         "Pick another port with --port (or stop what is using it).") from None
    print(f"Guide Me is running on {demo.local_url}  (Ctrl+C stops it)")
    if demo.share_url:
        print(f"Public link: {demo.share_url}")
    elif args.share:
        print("No public link could be made (no internet here?); the local URL above works.")
    else:
        print("Add --share for a public link.")
    demo.block_thread()

