"""The page: layout and event wiring of the main app (handlers: guide/ui/handlers.py; the panels
wire themselves: guide/ui/annotate.py, teach.py, tools.py), and the arguments for ``launch``.

Performance wiring (docs/speed.md, "In the browser"; tests/test_app.py checks it): no backend event takes the
editor as input or shows its progress on the editor or the chat; re-renders skip the queue; on a
light model (``LIGHT_SIDE``) text turns, Ask me and Undo skip it too. The benchmark pings (an event
that computes nothing, ``/ping`` and ``/ping_direct``) are added only for the benchmark scripts
(``bench=True``, or ``GUIDE_BENCH=1`` for ``python app.py``: experiments/browser_bench.py)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr

from guide.core.backprop import BackpropSettings
from guide.core.guided import GuidedModel
from guide.core.settings import Settings
from guide.dialogue.conversation import MAX_TEXT, NO_IMAGE
from guide.models.domain import scene_examples
from guide.models.hub import describe_model
from guide.serving.gradio_cache import write_cache_files_atomically
from guide.serving.pool import ModelShelf, blank_tab
from guide.ui import handlers
from guide.ui.editor import SketchEditor
from guide.ui.guard import BodyLimit, guard_events
from guide.ui.handlers import MAX_UPLOAD, GuideApp, legend_html
from guide.ui.page import Page
from guide.ui.tools import ToolsPanel
from guide.ui.uploads import freeze_examples, uploads_only

# Two tabs returning the same picture share one cached file; Gradio rewrites it in place while it
# may be downloading (cut-short /answer overlays under load): docs/gradio-cache-race.md.
write_cache_files_atomically()

try:  # ZeroGPU Spaces: inference functions borrow a GPU; elsewhere a no-op.
    import spaces  # type: ignore

    gpu = spaces.GPU
    ZEROGPU = True
except ImportError:  # pragma: no cover - depends on the host
    ZEROGPU = False

    def gpu(fn: Callable) -> Callable:
        return fn


MAX_TABS = 100  # tab states kept (oldest dropped first): each <= one image (3 MB) + MAX_TURNS turns (~6.5 MB)
TAB_TTL = 2 * 3600  # seconds a tab's state lives after its last change
# Models fed at most this side (the embedded ones) make a text turn, Ask me or Undo cost a few ms:
# those events then skip the queue (docs/speed.md, "In the browser": the floor rows, with and without the queue).
# Their messages then reach the page through the status line and the chat only (no toast).
LIGHT_SIDE = 256
VIEW_LABEL = "What the network sees"
OPACITY = handlers.OPACITY  # the overlay's opacity at start
STATIC = Path(__file__).resolve().parent / "static"
CSS = (STATIC / "app.css").read_text(encoding="utf-8")
# The overlay's opacity, in the page (static/opacity.js): an SVG filter on the colour layer (static/opacity.svg)
# scales its alphas by the slider's value; moving the slider rewrites the filter's table, nothing else.
OPACITY_SVG = (STATIC / "opacity.svg").read_text(encoding="utf-8").strip()
OPACITY_SET = (STATIC / "opacity.js").read_text(encoding="utf-8") + f"window.gmOpacity({OPACITY});"
OPACITY_JS = "(a) => { window.gmOpacity(a); }"
TITLE = ("# Guide Me: talk to a segmentation network\n"
         "Pick or upload an image, then correct the network: **paint** class colours on the image and press **Guide**, "
         "**type** a hint like *“there is a coat on the top left”*, or press **Ask me** and answer its question. "
         "The network stays frozen; your hints steer its features "
         "([Rupprecht et al., CVPR 2018](https://arxiv.org/abs/1803.11544)).")


def example_paths(n: int = 12) -> list[str]:
    """Example scenes: examples/scene_XX.png, else written from the scenes test split."""
    return [str(p) for p in scene_examples(n)]


def theme() -> gr.themes.Base:
    system = ["ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "sans-serif"]
    return gr.themes.Soft(primary_hue="teal", font=system, font_mono=["ui-monospace", "monospace"])


def launch_kwargs(max_tabs: int = MAX_TABS) -> dict[str, Any]:
    """Arguments for ``demo.launch``: theme and css (Gradio 6 takes them there), the
    server's bounds (upload size, tab states kept, request bodies: guide/ui/guard.py), and no run history: Gradio's page would
    otherwise record every event's inputs and outputs (the whole chat each time) in the
    browser's localStorage, re-reading and re-writing that record at every event, which
    made each event slower as a session went on (a do-nothing event ~40 -> ~115 ms over 30
    rounds; docs/speed.md), and would keep people's photos and hints in their browser."""
    from starlette.middleware import Middleware

    return {"theme": theme(), "css": CSS, "max_file_size": MAX_UPLOAD, "state_session_capacity": max_tabs,
            "run_history": False, "app_kwargs": {"middleware": [Middleware(BodyLimit)]}}


def build_demo(model: GuidedModel, backprop: BackpropSettings | None = None, examples: list[str] | None = None,
               tab_ttl: float = TAB_TTL, out: str | None = None, allow_other_model: bool = False, shelf: ModelShelf | None = None,
               spec: str | None = None, choices: list[str] | None = None, bench: bool | None = None,
               settings: Settings | None = None) -> gr.Blocks:
    """The Blocks app for ``model`` (loaded once, shared by all tabs); a tab's state lives
    ``tab_ttl`` seconds after its last change; ``out``: the data set folder every tab
    annotates into (without it, each tab's images go to a data set of its own, to download).
    ``choices`` (model specs, held by ``shelf``; ``spec`` names ``model``) fill a model
    selector when there are two or more; ``examples`` replaces the default model's own
    examples (guide/models/domain.py); ``bench`` (default: ``GUIDE_BENCH=1``) adds the benchmarks' pings."""
    app = GuideApp(model, backprop, out, allow_other_model, shelf, spec, settings)
    if examples is not None:
        app.pool.examples = [str(p) for p in examples]
    app.choices = list(dict.fromkeys([app.default, *(choices or [])]))
    app.galleries = list(dict.fromkeys([tuple(app.pool.examples), *(tuple(app.shelf.example_files(c)) for c in app.choices)]))
    bench = os.environ.get("GUIDE_BENCH") == "1" if bench is None else bench

    with gr.Blocks(title="Guide Me", delete_cache=(3600, 7200)) as demo:
        state = gr.State(blank_tab(), time_to_live=tab_ttl)
        gr.Markdown(TITLE, elem_id="gm-title")
        info, selector, upload, galleries = header(app)
        app.annotate.layout()
        app.teach.layout()
        w = workspace(app)
        page = wire_turns(app, demo, state, upload, w, tab_ttl, light=not ZEROGPU and len(app.choices) == 1 and model.config.input_size <= LIGHT_SIDE)
        if bench:
            bench_pings(w["status"])
        wire_selector(app, page, selector, info, w, galleries)
        app.annotate.wire(page)
        app.teach.wire(demo)
        w["tools"].wire(page)
        wire_after(app, page, w)  # the canvas, time line, suggestion and strip after every turn the panels registered
    freeze_examples(upload)  # the example images count as this page's uploads (guide/ui/uploads.py)
    demo.guide_app = app  # type: ignore[attr-defined]  # for tests and scripts
    return guard_events(demo)  # a payload Gradio cannot read: a message, not a traceback (guide/ui/guard.py)


def header(app: GuideApp) -> tuple[gr.Markdown, gr.Dropdown, gr.Image, list[gr.Column]]:
    """The model line and selector, the upload and one example gallery per example list -> (info, selector, upload, galleries)."""
    with gr.Row(equal_height=False):
        info = gr.Markdown(app.info_markdown())
        selector = gr.Dropdown([(describe_model(c), c) for c in app.choices], value=app.default, label="Model", visible=len(app.choices) > 1,
                               elem_id="gm-model", scale=0, min_width=360)
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=200):
            upload = uploads_only(gr.Image(label="1 · Your image", type="filepath", sources=["upload", "clipboard"], height=220))
        with gr.Column(scale=4):
            galleries = []  # one per example list; the tab's model decides which one shows
            for paths in app.galleries:
                with gr.Column(visible=paths == tuple(app.pool.examples)) as gallery:
                    if paths:
                        gr.Examples(examples=[[p] for p in paths], inputs=[upload], label="…or pick an example", examples_per_page=12)
                galleries.append(gallery)
    return info, selector, upload, galleries


def workspace(app: GuideApp) -> dict[str, Any]:
    """The picture (photo under the overlay), the editor, the legend and tools, the chat: components by name."""
    classes = app.classes
    colours, brushes = app.annotate.brush_colours(), app.annotate.brush_choices()
    with gr.Row(equal_height=False):
        with gr.Column(scale=6):
            with gr.Row(equal_height=False):
                with gr.Column(min_width=240):
                    # The photo (set when the image changes) under the class colours (every turn), which the
                    # page draws at the slider's opacity: moving the slider sends nothing to the server.
                    with gr.Column(elem_id="gm-view"):
                        photo = gr.Image(label=VIEW_LABEL, interactive=False, height=400, elem_id="gm-photo", buttons=[])
                        overlay = gr.Image(label=VIEW_LABEL, interactive=False, format="png", height=400, elem_id="gm-overlay", buttons=[])  # (Export: the label map)
                        gr.HTML(OPACITY_SVG, elem_id="gm-defs", js_on_load=OPACITY_SET)
                    opacity = gr.Slider(0.0, 1.0, value=OPACITY, step=0.05, label="Overlay opacity", elem_id="gm-opacity")
                    show_changes = gr.Checkbox(False, label="Highlight what the last turn changed")
                with gr.Column(min_width=240):
                    editor = SketchEditor(
                        label="2 · Paint",
                        type="numpy",
                        image_mode="RGBA",
                        sources=[],
                        transforms=[],
                        layers=False,
                        format="png",
                        height=400,
                        brush=gr.Brush(colors=colours, default_color=colours[0], color_mode="fixed", default_size=6),
                        elem_id="gm-editor",
                    )
                    brush_class = gr.Dropdown(brushes, value=classes[0], label="Brush class (or pick a colour in the editor)", allow_custom_value=True)
                    with gr.Row():
                        guide_btn = gr.Button("Guide with my strokes", variant="primary", elem_id="gm-guide")
                        paint_btn = gr.Button("Set by hand", min_width=90, elem_id="gm-paint")
            legend = gr.HTML(legend_html(classes, app.palette, None), label="Classes")
            tools = ToolsPanel(app)  # hand tools on the picture, and the time line (guide/ui/tools.py)
            tools.layout(classes)
            with gr.Row():
                undo_btn = gr.Button("↩ Undo", min_width=80, elem_id="gm-undo")
                reset_btn = gr.Button("Reset", min_width=80, elem_id="gm-reset")
        with gr.Column(scale=5):
            chatbot = gr.Chatbot(label="3 · Conversation", height=440, elem_id="gm-chat")
            with gr.Row():
                msg = gr.Textbox(placeholder="there is a coat on the top left", show_label=False, max_length=MAX_TEXT, scale=4, submit_btn=True, elem_id="gm-msg")
            with gr.Row():
                ask_btn = gr.Button("Ask me a question", variant="secondary", scale=1, min_width=100, elem_id="gm-ask")
                answer_class = gr.Dropdown(classes, value=None, label="Answer with a class", allow_custom_value=True, scale=2)
                answer_btn = gr.Button("Answer", scale=1, min_width=80)
            status = gr.Markdown(NO_IMAGE, elem_id="gm-status")
            with gr.Accordion("Export", open=False):
                export_btn = gr.Button("Export label map (PNG + JSON)")
                files = gr.File(label="Label map (palette PNG, pixel = class index) and classes/RLE JSON", file_count="multiple", interactive=False)
    return dict(photo=photo, overlay=overlay, opacity=opacity, show_changes=show_changes, editor=editor, brush_class=brush_class,
                guide_btn=guide_btn, paint_btn=paint_btn, legend=legend, tools=tools, undo_btn=undo_btn, reset_btn=reset_btn,
                chatbot=chatbot, msg=msg, ask_btn=ask_btn, answer_class=answer_class, answer_btn=answer_btn, status=status,
                export_btn=export_btn, files=files)


def wire_turns(app: GuideApp, demo: gr.Blocks, state: gr.State, upload: gr.Image, w: dict[str, Any], tab_ttl: float, light: bool) -> Page:
    """The conversation's events (image, turns, view, export, brush); ``light``: a light model's quick
    turns skip the queue. -> the :class:`Page` the panels wire into."""
    overlay, editor, status = w["overlay"], w["editor"], w["status"]
    view_in = [w["show_changes"]]
    outs = [state, overlay, w["chatbot"], w["legend"], status]
    # No event shows its progress on the editor or the chat (turns: on the overlay; the others on
    # small outputs of their own): at each later event's start and end Gradio's page reads back the
    # value of every component that was ever an event's progress target (by default its outputs),
    # and reading the editor fetches and re-uploads its background, composite and layers (14-19
    # requests a do-nothing click), reading the chat copies the whole conversation
    # (experiments/page_probe.py; docs/speed.md, "In the browser"). tests/test_app.py checks the wiring.
    shown = dict(show_progress_on=[overlay])
    quiet = dict(show_progress="hidden", **shown)
    # A turn shows its progress as a small timer on the overlay only, over the old picture: the default
    # (a grey cover and a timer on each of the five outputs) is page work that delays the stream the
    # result comes on (experiments/browser_trace.py).
    turn = dict(trigger_mode="once", show_progress="minimal", **shown)
    # On a light model (and never on ZeroGPU, whose GPU functions want the queue) text turns, Ask me
    # and Undo skip the queue too: one POST instead of a queue join and an event stream. A heavy
    # model's tail pass (a 520 px ResNet: ~1 s on CPU) stays in the queue, within its concurrency.
    quick = {**turn, "queue": False} if light else turn
    # Re-renders run no network (cached labels; under the pool's per-image lock) and change no state,
    # so they skip the queue: one POST, no queue join and event stream (queue=False; not a GPU function).
    free = dict(show_progress="minimal", queue=False, **shown)
    refills = [upload.change(gpu(app.set_image), [upload, state, *view_in], [*outs, editor, w["photo"]], api_name="set_image", **shown)]
    applied = gr.State(False)
    # The strokes reach the server through a hidden twin of the editor, copied in the page (no server call):
    # the editor is never a backend event's input, which would also make it one Gradio's page reads at
    # every later event's start and end (see shown). The twin must stay hidden (visible=False): a hidden
    # component has no reader in the page, so it costs nothing to read back.
    strokes = SketchEditor(visible=False, type="numpy", image_mode="RGBA", format="png", label="strokes")

    def take_strokes(button: gr.Button):
        return button.click(None, [editor], [strokes], js="(v) => v", queue=False, api_name=False, show_progress="hidden",
                            trigger_mode="once")

    # After Guide the one canvas comes back without the strokes (wire_after: after_strokes); the editor
    # holding the bare photo again stays an API event of its own (hidden button).
    guided = take_strokes(w["guide_btn"]).then(gpu(app.guide_sketch), [strokes, state, *view_in], [*outs, applied], api_name="guide", **turn)
    gr.Button(visible=False).click(app.clear_strokes, [state, applied], [editor], api_name="clear_strokes", concurrency_limit=None, **quiet)
    # API-only: labelled points as JSON (no button; the hidden textbox carries the argument).
    points = gr.Textbox(visible=False)
    turns = [
        points.submit(gpu(app.guide_points), [points, state, *view_in], outs, api_name="guide_points", **shown),
        w["msg"].submit(gpu(app.chat), [w["msg"], state, *view_in], [*outs, w["msg"]], api_name="chat", **quick),
        w["ask_btn"].click(gpu(app.ask), [state, *view_in], outs, api_name="ask", **quick),
        w["answer_btn"].click(gpu(app.answer), [w["answer_class"], state, *view_in], outs, api_name="answer", **turn),
        w["undo_btn"].click(gpu(app.undo), [state, *view_in], outs, api_name="undo", **quick),
        w["reset_btn"].click(gpu(app.reset), [state, *view_in], outs, api_name="reset", **turn),
    ]
    w["opacity"].input(None, [w["opacity"]], None, js=OPACITY_JS, api_name=False)  # in the page only
    w["show_changes"].change(app.view, [state, *view_in], outs, api_name="view", **free)  # cheap: no gpu, no queue
    w["export_btn"].click(app.export, [state], [w["files"]], api_name="export")
    w["brush_class"].change(app.brush, [w["brush_class"], state], [editor], api_name="brush_class", **quiet)
    return Page(demo=demo, state=state, outs=outs, view_in=view_in, editor=editor, photo=w["photo"], overlay=overlay,
                paint_btn=w["paint_btn"], strokes=strokes, take_strokes=take_strokes, tab_ttl=tab_ttl, gpu=gpu, shown=shown,
                turns=turns, refills=refills, stroke_turns=[(guided, applied)])


def wire_after(app: GuideApp, page: Page, w: dict[str, Any]) -> None:
    """After every turn the panels registered on ``page``: the one canvas (the editor: photo and class
    colours at the slider's opacity, sent only when it changed), the time line, the suggested next
    action and the data set strip (:meth:`GuideApp.after_turn`). No network pass (cached labels) and no
    state change: no queue; progress on the overlay only (never the editor: see ``shown``)."""
    shown_canvas = gr.State("")  # the canvas picture the editor shows (its path: named by content)
    tools, panel = w["tools"], app.annotate
    inputs = [page.state, w["opacity"], shown_canvas, panel.place]
    outputs = [page.editor, shown_canvas, tools.time, tools.suggest, panel.strip, panel.progress]
    after = dict(queue=False, show_progress="hidden", show_progress_on=[page.overlay])
    for k, event in enumerate(page.turns):
        event.then(app.after_turn, inputs, outputs, api_name="after_turn" if k == 0 else False, **after)
    for k, event in enumerate(page.refills):
        event.then(app.after_image, inputs, outputs, api_name="after_image" if k == 0 else False, **after)
    for k, (event, applied) in enumerate(page.stroke_turns):
        event.then(app.after_strokes, [*inputs, applied], outputs, api_name="after_strokes" if k == 0 else False, **after)


def bench_pings(status: gr.Markdown) -> None:
    """For the benchmarks only (experiments/browser_bench.py, page_probe.py, tests/test_browser.py): hidden
    buttons ``#gm-ping`` / ``#gm-ping-direct`` whose events compute nothing and change only the status line,
    the latency floors through the queue (``/ping``) and without it (``/ping_direct``)."""
    ping_btn = gr.Button("ping", elem_id="gm-ping", elem_classes="gm-hidden")
    ping_direct = gr.Button("ping", elem_id="gm-ping-direct", elem_classes="gm-hidden")
    fast = dict(show_progress="minimal")  # progress on their one output, the status line
    pings = iter(range(1, 2**62))
    ping = lambda: f"ping {next(pings)}"  # noqa: E731
    ping_btn.click(ping, None, [status], api_name="ping", **fast)  # through the queue
    ping_direct.click(ping, None, [status], api_name="ping_direct", **fast, queue=False)  # and without it


def wire_selector(app: GuideApp, page: Page, selector: gr.Dropdown, info: gr.Markdown, w: dict[str, Any], galleries: list[gr.Column]) -> None:
    """The model selector: load in this process (ZeroGPU: never inside a GPU worker), then a
    fresh conversation on it (gpu: runs the head), then the widgets that follow the model."""
    loaded = gr.State(False)
    quiet = dict(show_progress="hidden", **page.shown)
    page.refills.append(selector.input(app.load_choice, [selector, page.state], [selector, w["status"], loaded], api_name="load_model", show_progress="full").then(
        gpu(app.switch_model), [selector, page.state, *page.view_in, loaded], page.outs, api_name="switch_model", **page.shown
    ).then(app.model_widgets, [page.state], [info, w["brush_class"], w["answer_class"], page.editor, *galleries], api_name="model_widgets", **quiet))
