"""Where a browser action's time goes: the browser benchmark's actions, each split into phases.

    python experiments/browser_trace.py --repeats 5 --json out.json

Starts ``app.py`` on loopback with a server-side log (``--serve`` mode: Gradio's own profiling, plus the
time each queue message is sent), drives it in headless Chromium like experiments/browser_bench.py and, per
action, puts on one clock (ms after the benchmark's action started):

* ``pw_click``: Playwright's action reached the page (its pre-click checks); the clock starts here, at the
  page's first input event (keydown, pointerup or click), as in browser_bench.py;
* ``join``: the browser sends ``POST queue/join`` / gets its answer (Chrome DevTools Protocol);
* ``srv_join`` / ``srv_start`` / ``srv_done``: the server got the join / sent process_starts / sent
  process_completed; ``fn`` / ``pre`` / ``post``: its handler / preprocess / postprocess time (ms);
* ``sse``: the last chunk of the ``queue/data`` stream the browser received before the overlay changed;
* ``file``: the overlay file's request sent / response headers / body loaded;
* ``src`` / ``load`` / ``paint``: the overlay ``<img>`` got its new ``src`` / loaded / the frame after;
* ``status`` / ``chat``: the status line / chatbot changed last (DOM mutation);
* ``done``: the benchmark's wait condition held (what browser_bench.py reports).

Prints the median of each phase per action. A diagnosis tool: the extra listeners cost a little.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from browser_bench import ARGS, CHROMIUM, DONE, HINTS, STATUS, paint_stroke  # noqa: E402
from load import loopback_only, start_app, stop_app  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent

PAGE_JS = r"""
(() => {
  const now = () => performance.timeOrigin + performance.now();
  const log = window.__gm = [];
  const add = (kind, detail) => log.push([now(), kind, detail || ""]);
  for (const ev of ["click", "keydown"]) document.addEventListener(ev, e => add(ev, (e.target && (e.target.closest("[id]") || {}).id) || ""), true);
  document.addEventListener("load", e => {
    if (e.target.tagName === "IMG" && e.target.closest("#gm-overlay")) {
      add("load", e.target.src);
      requestAnimationFrame(() => requestAnimationFrame(() => add("paint", e.target.src)));
    }
  }, true);
  new MutationObserver(ms => {
    for (const m of ms) {
      const el = m.target.nodeType === 1 ? m.target : m.target.parentElement;
      if (!el || !el.closest) continue;
      if (el.closest("#gm-overlay")) {
        const img = document.querySelector("#gm-overlay img");
        add("overlay_dom", img ? img.src : "");
      } else if (el.closest("#gm-status")) add("status", "");
      else if (el.closest("#gm-chat")) add("chat", "");
      else if (el.closest("#gm-msg")) add("msg", "");
    }
  }).observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
})();
"""


def serve() -> None:
    """The app with a server-side log: GRADIO_TRACE_LOG gets one JSON line per queue message."""
    import gradio.queueing as q

    path = os.environ["GRADIO_TRACE_LOG"]
    out = open(path, "a", buffering=1)  # noqa: SIM115 - lives as long as the server
    send, push = q.Queue.send_message, q.Queue.push

    def send_message(self, event, message):
        out.write(json.dumps({"t": time.time() * 1000, "msg": getattr(message, "msg", "?"), "id": event._id,
                              "fn": event.fn.api_name}) + "\n")
        return send(self, event, message)

    async def push_(self, body, request, username):
        t = time.time() * 1000
        r = await push(self, body, request, username)
        out.write(json.dumps({"t": t, "msg": "join", "id": r[1] if isinstance(r[1], str) else None}) + "\n")
        return r

    q.Queue.send_message, q.Queue.push = send_message, push_

    import asyncio

    import gradio.routes as routes

    def log(**kw):
        out.write(json.dumps({"t": time.time() * 1000, **kw}) + "\n")

    call = routes.App.__call__
    lag_started = []

    async def lag():  # the event loop's stalls over 15 ms
        while True:
            t = time.perf_counter()
            await asyncio.sleep(0.005)
            if (d := time.perf_counter() - t - 0.005) > 0.015:
                log(msg="loop_stall", ms=round(d * 1000, 1))

    async def app_call(self, scope, receive, send):  # when each HTTP response starts and sends its body
        if not lag_started:
            lag_started.append(asyncio.get_running_loop().create_task(lag()))
        if scope["type"] != "http":
            return await call(self, scope, receive, send)
        path = scope["path"]
        log(msg="http_in", path=path)

        async def send_(m):
            if m["type"] == "http.response.start":
                log(msg="http_start", path=path)
            elif m["type"] == "http.response.body":
                body = m.get("body", b"")
                kind = ""
                if b'"msg":"' in body[:40]:
                    kind = body[body.index(b'"msg":"') + 7:][:30].split(b'"')[0].decode()
                log(msg="http_body", path=path, kind=kind, n=len(body), more=m.get("more_body", False))
            await send(m)

        return await call(self, scope, receive, send_)

    routes.App.__call__ = app_call
    sys.argv = [str(ROOT / "app.py"), *sys.argv[2:]]
    sys.path.insert(0, str(ROOT))
    import app

    app.main()


def run(url: str, repeats: int, log_path: str) -> dict:
    import urllib.request

    from playwright.sync_api import sync_playwright

    rows: list[dict] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1150})
            page.add_init_script(PAGE_JS)
            cdp = page.context.new_cdp_session(page)
            cdp.send("Network.enable")
            cdp.send("Performance.enable")
            net: list[tuple[float, str, str, str]] = []  # (wall ms, what, request id, url)
            offset = {}  # monotonic -> wall clock, per request

            def on_sent(e):
                offset[e["requestId"]] = e["wallTime"] - e["timestamp"]
                net.append(((e["wallTime"]) * 1000, "sent", e["requestId"], e["request"]["url"]))

            def at(e):
                return (e["timestamp"] + offset.get(e["requestId"], time.time() - time.monotonic())) * 1000

            cdp.on("Network.requestWillBeSent", on_sent)
            cdp.on("Network.responseReceived", lambda e: net.append((at(e), "resp", e["requestId"], e["response"]["url"])))
            cdp.on("Network.dataReceived", lambda e: net.append((at(e), "data", e["requestId"], "")))
            cdp.on("Network.loadingFinished", lambda e: net.append((at(e), "done", e["requestId"], "")))
            page.goto(url)
            page.wait_for_selector("#gm-editor canvas", timeout=60_000)
            page.locator(".gallery-item").first.click()
            page.wait_for_selector("#gm-overlay img", timeout=60_000)
            page.wait_for_timeout(1000)

            def timed(name: str, action) -> None:
                before = page.evaluate(f"() => {{ const i = document.querySelector('#gm-overlay img'); return [i && i.src, {STATUS}]; }}")
                page.evaluate("() => { window.__gm.length = 0; }")
                m0 = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
                n0, t0 = len(net), time.time() * 1000
                action()
                end = page.wait_for_function(DONE, arg=before, timeout=60_000, polling="raf").json_value()
                done = page.evaluate("e => performance.timeOrigin + e", end)
                m1 = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
                page.wait_for_timeout(150)  # late chunks, the paint frame
                src = page.locator("#gm-overlay img").first.get_attribute("src")
                rows.append({"name": name, "t0": t0, "done": done, "page": page.evaluate("() => window.__gm.slice()"),
                             "net": net[n0:], "src": src, "src_changed": src != before[0],
                             "perf": {f"b_{k[:-8].lower()}": round(1000 * (m1[k] - m0[k]), 1) for k in
                                      ("TaskDuration", "ScriptDuration", "LayoutDuration", "RecalcStyleDuration")}})

            for i in range(repeats):
                timed("floor", lambda: page.evaluate("() => document.querySelector('#gm-ping').click()"))
                box = page.locator("#gm-msg textarea")
                box.fill(HINTS[i % len(HINTS)])
                timed("text", lambda: box.press("Enter"))
                timed("undo", lambda: page.locator("#gm-undo").click())
                paint_stroke(page, i)
                timed("guide", lambda: page.locator("#gm-guide").click())
                page.wait_for_function("() => !document.querySelector('#gm-editor .progress-text, #gm-editor .eta-bar')", timeout=60_000)
                timed("ask", lambda: page.locator("#gm-ask").click())
                # (the opacity slider is not traced: it never leaves the page; browser_bench.py times it)
                timed("undo2", lambda: page.locator("#gm-undo").click())
                timed("undo3", lambda: page.locator("#gm-undo").click())
        finally:
            browser.close()
    traces = json.loads(urllib.request.urlopen(url + "gradio_api/profiling/traces").read())
    srv = [json.loads(line) for line in Path(log_path).read_text().splitlines()]
    return phases(rows, srv, traces)


def phases(rows: list[dict], srv: list[dict], traces) -> dict:
    traces = traces.get("traces", traces) if isinstance(traces, dict) else traces
    by_id = {t["event_id"]: t for t in traces}
    out: dict[str, list[dict]] = {}
    for r in rows:
        pg = r["page"]
        inputs = [e for e in pg if e[1] in ("click", "keydown", "pointerup")]
        ph: dict[str, float] = {"pw_click": round(inputs[0][0] - r["t0"], 1) if inputs else -1}
        t0, end = (inputs[0][0] if inputs else r["t0"]), r["done"] + 150
        ph["done"] = round(r["done"] - t0, 1)

        def first(events, pred):
            hit = [e for e in events if pred(e)]
            return hit[0] if hit else None

        def last(events, pred):
            hit = [e for e in events if pred(e)]
            return hit[-1] if hit else None

        rel = lambda t: round(t - t0, 1)  # noqa: E731
        net = r["net"]
        join = first(net, lambda e: e[1] == "sent" and "queue/join" in e[3])
        if join:
            ph["join_sent"] = rel(join[0])
            if (e := first(net, lambda e: e[1] == "done" and e[2] == join[2])) is not None:
                ph["join_done"] = rel(e[0])
        files = [e for e in net if e[1] == "sent" and e[3] == r["src"]] if r["src_changed"] else []
        if files:
            f = files[-1]
            ph["file_sent"] = rel(f[0])
            if (e := first(net, lambda e: e[1] == "resp" and e[2] == f[2])) is not None:
                ph["file_resp"] = rel(e[0])
            if (e := first(net, lambda e: e[1] == "done" and e[2] == f[2])) is not None:
                ph["file_done"] = rel(e[0])
        data_ids = {e[2] for e in net if e[1] == "sent" and "queue/data" in e[3]} | {e[2] for e in net if e[1] == "resp" and "queue/data" in e[3]}
        if (e := first(net, lambda e: e[1] == "sent" and "queue/data" in e[3])) is not None:
            ph["sse_open"] = rel(e[0])
        # server: the events whose join came after t0, the first one of this action
        mine = [s for s in srv if t0 - 5 <= s["t"] <= end]
        if (e := first(mine, lambda s: s["msg"] == "join")) is not None:
            ph["srv_join"] = rel(e["t"])
            eid = e["id"]
            if (s := first(mine, lambda s: s["msg"] == "process_starts" and s["id"] == eid)) is not None:
                ph["srv_start"] = rel(s["t"])
            if (s := first(mine, lambda s: s["msg"] == "process_completed" and s["id"] == eid)) is not None:
                ph["srv_done"] = rel(s["t"])
                ph["fn_name"] = s["fn"]  # type: ignore[assignment]
                data = [e for e in net if e[1] == "data" and e[2] in data_ids and e[0] >= s["t"]]
                if data:
                    ph["sse_recv"] = rel(data[0][0])
                if (b := first(mine, lambda x: x["msg"] == "http_body" and x.get("kind") == "process_completed" and x["t"] >= s["t"])) is not None:
                    ph["srv_sse_sent"] = rel(b["t"])
            if eid in by_id:
                t = by_id[eid]
                ph.update(pre=round(t["preprocess_ms"], 1), fn=round(t["fn_call_ms"], 1), post=round(t["postprocess_ms"], 1),
                          srv_total=round(t["total_ms"], 1), queue_wait=round(t["queue_wait_ms"], 1))
        if r["src_changed"] and r["src"]:
            from urllib.parse import unquote, urlparse
            fpath = unquote(urlparse(r["src"]).path)
            for key, msg in (("srv_file_in", "http_in"), ("srv_file_start", "http_start")):
                if (x := first(mine, lambda x: x["msg"] == msg and unquote(x.get("path", "")) == fpath)) is not None:
                    ph[key] = rel(x["t"])
        stalls = [x["ms"] for x in mine if x["msg"] == "loop_stall" and x["t"] <= r["done"]]
        ph["loop_stall_ms"] = round(sum(stalls), 1)
        for k, v in r.get("perf", {}).items():
            ph[k] = v
        ph["n_events"] = sum(1 for s in mine if s["msg"] == "join")
        for kind in ("overlay_dom", "load", "paint", "status", "chat", "msg"):
            if (e := last(pg, lambda e: e[1] == kind and e[0] <= r["done"])) is not None:
                ph[kind] = rel(e[0])
        ph["src_changed"] = r["src_changed"]
        out.setdefault(r["name"], []).append(ph)
    return out


def summary(report: dict) -> None:
    order = ["pw_click", "join_sent", "srv_join", "join_done", "srv_start", "pre", "fn", "post", "srv_done", "srv_sse_sent", "sse_recv", "srv_file_in", "srv_file_start", "file_sent",
             "file_resp", "file_done", "overlay_dom", "load", "paint", "status", "chat", "msg", "done", "n_events", "loop_stall_ms", "b_task", "b_script", "b_layout", "b_recalcstyle"]
    for name, rows in report.items():
        parts = []
        for k in order:
            vals = [r[k] for r in rows if isinstance(r.get(k), (int, float)) and not isinstance(r.get(k), bool)]
            if vals:
                parts.append(f"{k}={statistics.median(vals):.0f}")
        changed = sum(bool(r.get("src_changed")) for r in rows)
        print(f"{name:<8} (src changed {changed}/{len(rows)}) " + " ".join(parts))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--serve"]:
        serve()
        return 0
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default=None)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    log = tempfile.NamedTemporaryFile(prefix="gm-trace-", suffix=".jsonl", delete=False).name
    os.environ.update(GRADIO_TRACE_LOG=log, GRADIO_PROFILING="1")
    proc, url = start_app(args.model, None, app_cmd=[sys.executable, str(Path(__file__).resolve()), "--serve"])
    loopback_only(url)
    try:
        report = run(url, args.repeats, log)
    finally:
        stop_app(proc)
    summary(report)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
