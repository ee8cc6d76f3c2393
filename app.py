"""Guide Me (CVPR 2018) as a Gradio app: correct a frozen segmentation network by
painting, chatting, or answering the questions it asks. The Space's entry point.

    python app.py                       # embedded default model, local only, offline
    python app.py --share               # public link (where the network allows)
    python app.py --model owner/name@rev --host 0.0.0.0 --port 7860
    GUIDE_MODEL=torchvision:lraspp_mobilenet_v3_large python app.py        # a real-photo model
    GUIDE_MODELS=scenes-lraspp,torchvision:deeplabv3_mobilenet_v3_large python app.py   # a model selector
    python app.py --images DIR --out DATASET   # annotate many images into a VOC + COCO data set

Every event has an ``api_name``, so a script can drive a whole conversation::

    from gradio_client import Client, handle_file
    c = Client("http://127.0.0.1:7860/")
    c.predict(handle_file("examples/scene_00.png"), api_name="/set_image")
    c.predict('[[40, 30, "coat"], [120, 80, "sand"]]', api_name="/guide_points")
    c.predict("there is a coat on the top left", api_name="/chat")
    c.predict(api_name="/ask"); c.predict("sky", api_name="/answer")
    c.predict(api_name="/undo")
    label_png, info_json = c.predict(api_name="/export")

and a whole data set: ``/open_images`` (files or zips), ``/paint`` (set labels by hand),
``/save``, ``/save_next``, ``/next``, ``/previous``, ``/go_to``, ``/download_dataset``.

The UI is the package guide/ui/: layout.py (the page and its event wiring), handlers.py
(GuideApp: UI values <-> the tab's conversation), editor.py (the painting editor and its
upload bounds), annotate.py (many images), teach.py, tools.py, cli.py (this command line),
static/ (CSS, JS, SVG read at start). What a conversation means lives in guide/dialogue/conversation.py.

Limits: uploads over ``MAX_UPLOAD`` are refused by the server, images over 50 MP before
decoding, sketch layers over 4 MP before decoding; at most ``MAX_TABS`` tab states are
kept, each for ``TAB_TTL`` seconds after its last change (docs/app.md, "Limits").
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

# Re-exported for scripts and tests (app.build_demo, app.launch_kwargs, ...).
from guide.core.backprop import BackpropSettings  # noqa: E402,F401
from guide.dialogue.conversation import MAX_TEXT, NO_IMAGE  # noqa: E402,F401
from guide.serving.pool import blank_tab  # noqa: E402,F401
from guide.ui.cli import demo_from_args, main, model_specs  # noqa: E402,F401
from guide.ui.editor import BLOB_TTL, MAX_BLOB, MAX_BLOB_BYTES, MAX_BLOB_SETS, SketchEditor  # noqa: E402,F401
from guide.ui.handlers import CHOOSE_MODEL, EXPORT_TTL, MAX_UPLOAD, GuideApp  # noqa: E402,F401
from guide.ui.layout import LIGHT_SIDE, MAX_TABS, TAB_TTL, ZEROGPU, build_demo, example_paths, launch_kwargs  # noqa: E402,F401

ROOT = Path(__file__).resolve().parent

if __name__ == "__main__":
    main()
