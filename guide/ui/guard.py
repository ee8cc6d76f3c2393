"""Every request is bounded before it is read, and a request the app cannot read gets a message.

Two guards around the Gradio app, for a public server that scripts call with any payload:

* :class:`BodyLimit` (ASGI middleware): a request body other than a file upload (Gradio's
  upload route streams files to disk and checks their size itself) is refused with HTTP 413
  beyond ``max_bytes``, from its Content-Length before anything is read, or as it streams in
  when it declares none. The JSON of every event is read into memory whole, so without it one
  request could take any amount of memory before a handler saw it.
* :func:`guard_events`: a payload naming a path this server did not receive as an upload is
  refused before Gradio reads it (guide/ui/uploads.py); a payload that fails inside Gradio before the handler runs (a path
  that was never uploaded, event data missing from ``/pick``, a value no component accepts)
  becomes a ``gr.Error`` with a clear message and one log line, instead of a traceback in the
  log and a bare "Error" in the page. Handlers catch their own errors (guide/ui/handlers.py ``GuideApp.run``).
  ``GUIDE_DEBUG=1`` keeps Gradio's tracebacks (the upload check stays on).
"""

from __future__ import annotations

import logging
import os
from typing import Any

log = logging.getLogger("guide.app")

MAX_BODY = 32 * 2**20  # bytes of one request body (JSON): a pasted 20 MB image as base64 fits
UNREADABLE = "That request could not be read ({what}); nothing changed. Use the page, or send what the API page describes."


class BodyLimit:
    """ASGI middleware: refuse bodies over ``max_bytes`` on every path but ``skip`` (suffixes)."""

    def __init__(self, app: Any, max_bytes: int = MAX_BODY, skip: tuple[str, ...] = ("/upload",)) -> None:
        self.app, self.max_bytes, self.skip = app, max_bytes, skip

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("path", "").rstrip("/").endswith(self.skip):
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            return await _too_large(send, self.max_bytes)
        seen = 0

        async def bounded_receive() -> dict:
            nonlocal seen
            message = await receive()
            if message.get("type") == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, bounded_receive, send)
        except _TooLarge:
            await _too_large(send, self.max_bytes)


class _TooLarge(Exception):
    pass


async def _too_large(send: Any, max_bytes: int) -> None:
    body = f"Request too large: the most is {max_bytes >> 20} MB (upload files through the upload route).".encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def sendable(text: str, limit: int) -> str:
    """``text``'s first ``limit`` characters as valid UTF-8: a lone surrogate a script sent (which a
    component's refusal quotes back) becomes "?". Unsendable, it broke the event stream (orjson
    refuses it, a traceback in the log) and the log line (a logging error)."""
    return text[:limit].encode("utf-8", "replace").decode("utf-8")


def guard_events(demo: Any) -> Any:
    """Make ``demo`` (a gr.Blocks) answer unreadable payloads with a message (see module doc)."""
    import gradio as gr
    from gradio.exceptions import InvalidPathError

    from guide.ui.uploads import NOT_UPLOADED, Refused, accept_path, named_paths

    debug = bool(os.environ.get("GUIDE_DEBUG"))  # Gradio's tracebacks kept; the upload check never switches off
    preprocess, call = demo.preprocess_data, demo.call_function

    def refusal(block_fn: Any, e: Exception) -> Exception:
        name = getattr(block_fn, "api_name", None) or getattr(block_fn, "name", "?")
        log.warning("refused a request to /%s: %s: %s", name, type(e).__name__, sendable(str(e), 200))
        message = NOT_UPLOADED if isinstance(e, InvalidPathError) else UNREADABLE.format(what=f"/{name}: {type(e).__name__}")
        return gr.Error(message, print_exception=False)

    examples = frozenset().union(*(getattr(b, "gm_examples", ()) for b in demo.blocks.values()))

    async def preprocess_data(block_fn: Any, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        # Before Gradio touches a named path: it would add it to the files it deletes at shutdown
        # and on its cache schedule, where a folder stops the deletion with IsADirectoryError.
        refused = next((r for r in (accept_path(p, examples) for p in named_paths(inputs)) if isinstance(r, Refused)), None)
        if refused is not None:  # not uploaded here, or an upload that is gone
            log.warning("refused a request to /%s: %s", getattr(block_fn, "api_name", "?"), refused)
            raise gr.Error(str(refused), print_exception=False)
        if debug:
            return await preprocess(block_fn, inputs, *args, **kwargs)
        try:
            return await preprocess(block_fn, inputs, *args, **kwargs)
        except gr.Error as e:  # a component's own refusal ("Value: x is not in the list of choices"): no traceback
            log.warning("refused a request to /%s: %s", getattr(block_fn, "api_name", "?"), sendable(str(e.message), 200))
            raise gr.Error(sendable(str(e.message), 300), print_exception=False) from None
        except Exception as e:  # noqa: BLE001 - any payload Gradio could not turn into inputs
            raise refusal(block_fn, e) from None

    async def call_function(block_fn: Any, *args: Any, **kwargs: Any) -> Any:
        if debug:
            return await call(block_fn, *args, **kwargs)
        try:
            return await call(block_fn, *args, **kwargs)
        except gr.Error:
            raise
        except Exception as e:  # noqa: BLE001 - event data Gradio could not build (handlers catch their own)
            raise refusal(block_fn, e) from None

    demo.preprocess_data, demo.call_function = preprocess_data, call_function
    return demo


def patient_startup_probe(seconds: float = 60.0) -> None:
    """Make ``launch``'s check that the server answers on localhost wait up to ``seconds``.

    Gradio's ``networking.url_ok`` gives up at the first connection error or 3 s timeout and
    ``launch`` then refuses to start ("When localhost is not accessible ..."): a server restarted
    on a busy machine (after a crash, under load) failed to come back although it was up."""
    import time

    import httpx
    from gradio import networking

    def url_ok(url: str) -> bool:
        deadline = time.monotonic() + seconds
        while True:
            try:
                if httpx.head(url, timeout=5, verify=False).status_code in (200, 401, 301, 302, 303, 307, 308):
                    return True
            except (httpx.HTTPError, OSError):
                pass
            if time.monotonic() > deadline:
                return False
            time.sleep(0.5)

    networking.url_ok = url_ok
