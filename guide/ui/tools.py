"""The app's hand tools: click the picture to relabel a predicted segment, sweep
superpixels, draw a polygon, or mark pixels "unsure"; and the per-image time line.

Each tool is a priced :class:`~guide.dialogue.conversation.Conversation` method (a hand step over the
guided prediction, undoable; guide/dialogue/cost.py prices it). In the page the tools act where the
person clicks on the segmentation overlay (``gr.Image.select``: (x, y) in image pixels, the
overlay being drawn at the image's size); scripts call the API events with JSON:

    c.predict('[row, col, "coat"]', api_name="/relabel_segment")
    c.predict('[row, col, "coat"]', api_name="/local_click")            # guided, kept around the click
    c.predict('{"points": [[r, c], ...], "label": "sky"}', api_name="/superpixel_brush")
    c.predict('{"vertices": [[r, c], ...], "label": "sand"}', api_name="/polygon")
    c.predict('{"vertices": [[r, c], ...]}', api_name="/erase")        # a polygon of "unsure"
    c.predict(api_name="/time_line")                                    # "time spent" on request
    c.predict(api_name="/after_turn")   # what the page runs after every turn: canvas, time line, suggestion, strip

No event takes the editor as input or shows its progress on the editor or the chat (guide/ui/layout.py,
"Speed": the page would re-read them at every later event).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import gradio as gr

from guide.dialogue.conversation import Conversation, UserError
from guide.dialogue.cost import effort
from guide.dialogue.suggest import Suggestion
from guide.dialogue.tools import polygon_mask
from guide.serving.pagevalues import is_coordinate
from guide.serving.pool import is_tab
from guide.ui.page import Page

TOOLS = ("off", "relabel segment", "local click (guided)", "superpixel brush", "polygon", "eraser (unsure)")
MAX_JSON = 20_000  # characters of a tool's JSON argument
MAX_VERTICES = 500
# What each tool's API takes, with an example: said whenever its argument cannot be read.
POINT_FORMAT = 'Give the point as JSON [row, column, class] in image pixels, e.g. [40, 30, "coat"].'
BRUSH_FORMAT = ('Give the brush as JSON {"points": [[row, column], ...], "label": class}, '
                'e.g. {"points": [[40, 30], [42, 34]], "label": "coat"}.')
POLYGON_FORMAT = ('Give the polygon as JSON {"vertices": [[row, column], ...], "label": class} with at least 3 corners, '
                  'e.g. {"vertices": [[10, 10], [10, 60], [50, 35]], "label": "sand"}.')
ERASER_FORMAT = ('Give the eraser as JSON {"vertices": [[row, column], ...]} with at least 3 corners, '
                 'e.g. {"vertices": [[10, 10], [10, 60], [50, 35]]}.')


def _load(text: Any, what: str, form: str) -> Any:
    """A tool's JSON argument, read; UserError saying ``form`` (the expected format) when it is not JSON."""
    if isinstance(text, str):
        if len(text) > MAX_JSON:
            raise UserError(f"That {what} is {len(text):,} characters; the most is {MAX_JSON:,}.")
        try:
            return json.loads(text)
        except (json.JSONDecodeError, RecursionError):
            raise UserError(f"The {what} is not valid JSON. {form}") from None
        except ValueError:  # an integer of more than 4,300 digits
            raise UserError(f"The {what} holds a number too large to read; give image pixels. {form}") from None
    return text


def _pairs(value: Any, what: str, form: str, most: int = MAX_VERTICES) -> list[tuple[float, float]]:
    if not isinstance(value, list) or not value or len(value) > most:
        raise UserError(f"Give the {what} as a list of 1 to {most} [row, column] pairs. {form}")
    out = []
    for p in value:
        if not (isinstance(p, list) and len(p) == 2 and all(is_coordinate(v) for v in p)):
            raise UserError(f"Each of the {what} must be [row, column] numbers. {form}")
        out.append((float(p[0]), float(p[1])))
    return out


def time_line(seconds_spent: float, hand_seconds: float | None = None) -> str:
    """The per-image line: time spent (priced by guide/dialogue/cost.py) and the estimated time the same
    fixes would take by hand (``guide.dialogue.cost.effort``), with what that saved."""
    line = f"⏱ time spent on this image ≈ **{seconds_spent:.0f} s**"
    if hand_seconds is not None:
        saved = hand_seconds - seconds_spent
        line += (f" · the same fixes by hand ≈ **{hand_seconds:.0f} s** · "
                 + (f"saved ≈ **{saved:.0f} s**" if saved >= 0 else f"lost ≈ **{-saved:.0f} s**"))
    return line + " (cost model: docs/annotation-effort.md)"


def steps_time_line(steps: list) -> str:
    """:func:`time_line` of a conversation's kept steps (plain data: no label map, no network pass)."""
    e = effort(steps)
    return time_line(e["seconds_spent"], e["hand_seconds"])


def conversation_time_line(conv: Conversation) -> str:
    return steps_time_line(conv.steps)


def suggestion_line(s: Suggestion | None) -> str:
    """The suggested next action (guide/dialogue/suggest.py) as a short line of the page."""
    if s is None:
        return ""
    return f"💡 **Next:** {s.text}" + (" (the yellow ring on the picture you paint on)" if s.action == "relabel" else "")


class ToolsPanel:
    """The hand tools' widgets and events; ``app`` is guide/ui/handlers.py's GuideApp (its ``run`` does an
    action on a tab's conversation and renders the outputs)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def layout(self, classes: list[str]) -> None:
        with gr.Accordion("Hand tools: click the picture", open=True, elem_id="gm-tools"):
            with gr.Row():
                self.tool = gr.Radio(list(TOOLS), value="off", label="Click on the picture to", elem_id="gm-tool", scale=3)
                self.label = gr.Dropdown([*classes, "unsure"], value=classes[0], label="Class", allow_custom_value=True,
                                         elem_id="gm-tool-class", scale=1, min_width=120)
                self.close_btn = gr.Button("Close polygon", min_width=90, elem_id="gm-close-polygon", scale=0)
            self.time = gr.Markdown(time_line(0.0), elem_id="gm-time")
            self.suggest = gr.Markdown("", elem_id="gm-suggest")  # the next action (guide/dialogue/suggest.py), after every turn
        self.vertices = gr.State([])  # the polygon being drawn, [[row, col], ...]
        self.time_btn = gr.Button("time", visible=False)
        # API-only arguments (hidden; their submit events are the API).
        self.relabel_in, self.brush_in, self.polygon_in, self.erase_in, self.local_in = (gr.Textbox(visible=False) for _ in range(5))

    # ------------------------------------------------------------ actions

    def _act(self, tab: Any, show_changes: bool, act: Callable[[Conversation], Any]):
        line: list[str] = []

        def run(conv: Conversation):
            reply = act(conv)
            line.append(conversation_time_line(conv))
            return reply

        outputs, ok = self.app.run(tab, show_changes, run)
        return (*outputs, line[0] if ok else gr.skip())

    def relabel_segment(self, text: str, tab: Any, show_changes: bool = False, local: bool = False):
        """API: ``[row, col, class]`` (class: index, name or "unsure"); ``local``: a local click
        (``Conversation.local_click``) instead."""
        def act(conv: Conversation):
            data = _load(text, "point", POINT_FORMAT)
            if not (isinstance(data, list) and len(data) == 3):
                raise UserError(POINT_FORMAT)
            (row, col), = _pairs([data[:2]], "point", POINT_FORMAT)
            tool = conv.local_click if local else conv.relabel_segment
            return tool(int(row), int(col), _label(data[2]))
        return self._act(tab, show_changes, act)

    def local_click(self, text: str, tab: Any, show_changes: bool = False):
        """API: ``[row, col, class]``: guide with the click, keep the change connected to it."""
        return self.relabel_segment(text, tab, show_changes, local=True)

    def superpixel_brush(self, text: str, tab: Any, show_changes: bool = False):
        """API: ``{"points": [[row, col], ...], "label": class}``."""
        def act(conv: Conversation):
            data = _load(text, "brush", BRUSH_FORMAT)
            if not isinstance(data, dict) or "label" not in data:
                raise UserError(BRUSH_FORMAT)
            points = [(int(r), int(c)) for r, c in _pairs(data.get("points"), "points", BRUSH_FORMAT)]
            return conv.superpixel_brush(points, _label(data["label"]))
        return self._act(tab, show_changes, act)

    def polygon(self, text: str, tab: Any, show_changes: bool = False):
        """API: ``{"vertices": [[row, col], ...], "label": class}`` (at least 3 vertices)."""
        def act(conv: Conversation):
            data = _load(text, "polygon", POLYGON_FORMAT)
            if not isinstance(data, dict) or "label" not in data:
                raise UserError(POLYGON_FORMAT)
            return conv.polygon(_pairs(data.get("vertices"), "vertices", POLYGON_FORMAT), _label(data["label"]))
        return self._act(tab, show_changes, act)

    def erase(self, text: str, tab: Any, show_changes: bool = False):
        """API: ``{"vertices": [[row, col], ...]}``: the pixels inside become "unsure"."""
        def act(conv: Conversation):
            data = _load(text, "eraser polygon", ERASER_FORMAT)
            if not isinstance(data, dict):
                raise UserError(ERASER_FORMAT)
            vertices = _pairs(data.get("vertices"), "vertices", ERASER_FORMAT)
            try:
                mask = polygon_mask(vertices, conv.image.shape[:2])
            except ValueError:
                raise UserError(f"The eraser polygon needs at least 3 (row, column) corners. {ERASER_FORMAT}") from None
            return conv.erase(mask)
        return self._act(tab, show_changes, act)

    def show_time(self, tab: Any) -> str:
        """The time line of the tab's image: read from the tab's steps alone (no conversation is
        opened, so this costs no network pass and takes no pool slot)."""
        if not is_tab(tab) or tab["image"] is None:
            return time_line(0.0)
        return steps_time_line(tab["steps"])

    def on_select(self, tool: str, label: str, vertices: list, tab: Any, show_changes: bool, evt: gr.SelectData):
        """A click on the overlay at (x, y) image pixels, with the chosen tool."""
        x, y = (int(v) for v in evt.index[:2])
        skip = (gr.skip(),) * 6
        if tool == "polygon":
            vertices = [*vertices, [y, x]][-MAX_VERTICES:]
            return (*skip[:4], f"Polygon: {len(vertices)} corner{'s' if len(vertices) != 1 else ''}; press Close polygon.",
                    gr.skip(), vertices)
        if tool == "relabel segment":
            out = self._act(tab, show_changes, lambda conv: conv.relabel_segment(y, x, _label(label)))
        elif tool == "local click (guided)":
            out = self._act(tab, show_changes, lambda conv: conv.local_click(y, x, _label(label)))
        elif tool == "superpixel brush":
            out = self._act(tab, show_changes, lambda conv: conv.superpixel_brush([(y, x)], _label(label)))
        elif tool == "eraser (unsure)":
            out = self._act(tab, show_changes, lambda conv: conv.superpixel_brush([(y, x)], "unsure"))
        else:
            return (*skip[:4], "Pick a hand tool above to act where you click.", gr.skip(), vertices)
        return (*out, vertices)

    def close_polygon(self, label: str, vertices: list, tab: Any, show_changes: bool = False):
        outputs, ok = self.app.run(tab, show_changes, lambda conv: conv.polygon(vertices, _label(label)))
        if not ok:
            return (*outputs, gr.skip(), vertices)
        with self.app.pool_of(outputs[0]).open(outputs[0]) as conv:
            line = conversation_time_line(conv)
        return (*outputs, line, [])

    # ------------------------------------------------------------ events

    def wire(self, page: Page) -> None:
        """The tools' events, each with an api_name; progress shows on the overlay only (``page.shown``)."""
        state, outs, overlay, view_in, gpu, shown = page.state, page.outs, page.overlay, page.view_in, page.gpu, page.shown
        turn = dict(trigger_mode="once", show_progress="minimal", **shown)
        with_time = [*outs, self.time]
        page.turns.extend([  # each followed by the canvas, time line, suggestion and strip (layout.wire_after)
            self.relabel_in.submit(gpu(self.relabel_segment), [self.relabel_in, state, *view_in], with_time, api_name="relabel_segment", **turn),
            self.brush_in.submit(gpu(self.superpixel_brush), [self.brush_in, state, *view_in], with_time, api_name="superpixel_brush", **turn),
            self.polygon_in.submit(gpu(self.polygon), [self.polygon_in, state, *view_in], with_time, api_name="polygon", **turn),
            self.local_in.submit(gpu(self.local_click), [self.local_in, state, *view_in], with_time, api_name="local_click", **turn),
            self.erase_in.submit(gpu(self.erase), [self.erase_in, state, *view_in], with_time, api_name="erase", **turn),
            overlay.select(gpu(self.on_select), [self.tool, self.label, self.vertices, state, *view_in], [*with_time, self.vertices],
                           api_name="tool_click", **turn),
            self.close_btn.click(gpu(self.close_polygon), [self.label, self.vertices, state, *view_in], [*with_time, self.vertices],
                                 api_name="close_polygon", **turn),
        ])
        # The time line on request (API; hidden button): the tools' replies update it themselves.
        self.time_btn.click(self.show_time, [state], [self.time], api_name="time_line", queue=False, show_progress="hidden")


def _label(value: Any) -> int | str:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise UserError("Give the class as a name, an index or \"unsure\".")
    return value
