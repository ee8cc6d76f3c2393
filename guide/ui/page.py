"""What the main page hands the panels that wire into it (guide/ui/layout.py builds it):
plain references to its components and the page's event settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gradio as gr


@dataclass
class Page:
    demo: gr.Blocks
    state: gr.State  # the tab's conversation state (guide/serving/pool.py: blank_tab)
    outs: list  # every turn's outputs: (state, overlay, chat, legend, status)
    view_in: list  # every turn's view inputs: [show_changes]
    editor: Any  # the visible SketchEditor (set when the image changes; never an event's input)
    photo: gr.Image  # the photo under the overlay
    overlay: gr.Image  # the class colours: where turns show their progress
    paint_btn: gr.Button  # "Set by hand" (the many-images panel's paint event)
    strokes: Any  # the editor's hidden twin: the strokes events read
    take_strokes: Callable[[gr.Button], Any]  # the button's click copies the editor's strokes into ``strokes``
    tab_ttl: float  # seconds a tab's state lives after its last change
    gpu: Callable[[Callable], Callable]  # ZeroGPU's decorator for inference functions (elsewhere a no-op)
    shown: dict  # where events show their progress: the overlay only (layout.py, ``shown``)
    # Events after which layout.wire_after refreshes the canvas, time line, suggestion and strip (panels append theirs):
    turns: list = field(default_factory=list)  # turns: the canvas is sent when its picture changed
    refills: list = field(default_factory=list)  # events that refill the editor with the bare photo: the canvas always
    stroke_turns: list = field(default_factory=list)  # (Guide / Set by hand event, its "applied" State): the canvas when applied
