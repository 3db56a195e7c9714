"""Where the explorer's page load goes: kernel messages, bytes, and the browser's CPU.

    python benchmarks/explorer_page_profile.py --frontend voila
    python benchmarks/explorer_page_profile.py --frontend jupyterlab --cpu-profile

One cold page (fresh server, kernel and browser context), the synthetic dataset. Printed, in
seconds from the server command: the server listening, the page's DOMContentLoaded (JupyterLab:
the notebook's cell run), the explorer shown and usable (as ``explorer_latency.py`` defines
them), the status bar saying TensorFlow is loaded; when the page told the kernel of its first
widget views; the websocket's messages from the kernel by kind (count, megabytes, first and
last arrival); CPU seconds used until the page was usable by the server, the kernel and the
browser; with ``--cpu-profile``, the browser main thread's CPU time by script (a Chromium
sampling profile, which itself slows the page: use it for shares, not for totals).
"""

from __future__ import annotations

import argparse
import base64
import collections
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "app"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from app_support import (  # the browser tests' helpers
    CHROMIUM,
    CHROMIUM_ARGS,
    PAGE_TIMEOUT_MS,
    open_notebook,
    press,
    run_cell,
    set_number,
    start_app,
    start_jupyter,
    status_text,
    wait_for_curve_points,
    wait_until,
)
from explorer_latency import notebook_for, usable

from tensorrec_explore.app.processes import descendants


def decode_frame(payload: str, opcode: int) -> dict | None:
    """The kernel message of one websocket frame (JSON text, or Jupyter's v1 binary form)."""
    if opcode == 1:
        try:
            return json.loads(payload)
        except ValueError:
            return None
    raw = base64.b64decode(payload)
    if len(raw) < 8:
        return None
    count = int.from_bytes(raw[:8], "little")
    offsets = [int.from_bytes(raw[8 + 8 * i : 16 + 8 * i], "little") for i in range(count)]
    if count < 5:  # the v1 protocol: channel, header, parent, metadata, content, buffers
        return None
    parts = [raw[a:b] for a, b in zip(offsets, [*offsets[1:], len(raw)], strict=True)]
    try:
        return {
            "channel": parts[0].decode(),
            "header": json.loads(parts[1]),
            "content": json.loads(parts[4]),
        }
    except ValueError:
        return None


def kind_of(message: dict) -> str:
    """``msg_type``, with a comm message's method (``comm_msg:update``) and a model's name."""
    header = message.get("header") or {}
    kind = header.get("msg_type", "?")
    content = message.get("content") or {}
    data = content.get("data") or {}
    if kind == "comm_msg":
        kind += ":" + str(data.get("method", "?"))
    if kind == "comm_open":
        state = (data.get("state") or {}) if isinstance(data, dict) else {}
        kind += ":" + str(state.get("_model_name", "?"))
    return kind


class Frames:
    """Websocket frames seen by the browser, by CDP monotonic timestamp (seconds)."""

    def __init__(self, cdp) -> None:
        self.received: list[tuple[float, int, str]] = []
        self.views_counted: list[float] = []  # when the page told the kernel of a new view
        self.clicks: list[float] = []  # when the page sent a button click
        cdp.on("Network.webSocketFrameReceived", self._on_frame)
        cdp.on("Network.webSocketFrameSent", self._on_sent)

    def _on_sent(self, event: dict) -> None:
        frame = event["response"]
        message = decode_frame(frame.get("payloadData", ""), frame.get("opcode", 1)) or {}
        data = (message.get("content") or {}).get("data") or {}
        if "_view_count" in (data.get("state") or {}):
            self.views_counted.append(event["timestamp"])
        if (data.get("content") or {}).get("event") == "click":
            self.clicks.append(event["timestamp"])

    def _on_frame(self, event: dict) -> None:
        frame = event["response"]
        payload = frame.get("payloadData", "")
        message = decode_frame(payload, frame.get("opcode", 1))
        size = len(payload) if frame.get("opcode", 1) == 1 else len(payload) * 3 // 4
        kind = kind_of(message or {})
        if "Reset: configure" in json.dumps((message or {}).get("content", ""))[:20000]:
            kind += " (status: reset)"
        self.received.append((event["timestamp"], size, kind))

    def summary(self, origin: float, start: float = -math.inf, end: float = math.inf) -> dict:
        """Frames received between ``start`` and ``end``, by kind; times from ``origin``."""
        by_kind = collections.defaultdict(lambda: [0, 0, None, None])
        for stamp, size, kind in self.received:
            if not start <= stamp <= end:
                continue
            row = by_kind[kind]
            row[0] += 1
            row[1] += size
            row[2] = stamp - origin if row[2] is None else row[2]
            row[3] = stamp - origin
        return {
            kind: {"n": n, "MB": round(b / 1e6, 3), "first_s": round(f, 2), "last_s": round(t, 2)}
            for kind, (n, b, f, t) in sorted(by_kind.items(), key=lambda kv: -kv[1][1])
        }


def cpu_by_script(profile: dict, top: int = 15) -> list[tuple[str, float]]:
    """Self time (seconds) of a CPU profile's samples, by script URL (or ``(program)`` etc.)."""
    nodes = {node["id"]: node for node in profile["nodes"]}
    deltas = profile.get("timeDeltas", [])
    totals: collections.Counter = collections.Counter()
    for node_id, delta in zip(profile.get("samples", []), deltas, strict=True):
        frame = nodes[node_id]["callFrame"]
        url = frame.get("url") or frame.get("functionName") or "(native)"
        if url.startswith("blob:"):
            url = "blob: (an anywidget ES module)"
        totals[url.split("?")[0][-90:]] += delta / 1e6
    return [(url, round(seconds, 2)) for url, seconds in totals.most_common(top)]


def cpu_seconds() -> dict[str, float]:
    """CPU seconds (user + system) used so far by this script's process tree, by role."""
    tick = os.sysconf("SC_CLK_TCK")
    totals: collections.Counter = collections.Counter()
    for pid in descendants(os.getpid()):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        used = (int(fields[11]) + int(fields[12])) / tick
        if b"ipykernel" in cmdline:
            totals["kernel"] += used
        elif b"chrom" in cmdline:
            totals["browser"] += used
        elif b"voila" in cmdline or b"jupyter" in cmdline or b"tensorrec_explore" in cmdline:
            totals["server"] += used
    return dict(totals)


def reset_breakdown(page, frames: Frames) -> dict:
    """Reset during a run (as explorer_latency.py's reset row): when the click left the page,
    when the kernel's 'idle' status reached it, when the page showed it; what the kernel sent in
    the 2 s before the click and between the click and its answer."""
    set_number(page, "tre-epochs", 500)
    press(page.locator(".tre-train"))
    wait_for_curve_points(page, 1, timeout=300, where=" of the run to reset")
    time.sleep(2)  # the run's pushes at their steady pace
    clicked = time.monotonic()
    press(page.locator(".tre-reset"))
    wait_until(lambda: status_text(page).startswith("idle"), 120, "idle after Reset", 0.02)
    shown = time.monotonic()
    page.wait_for_timeout(500)
    sent = min((t for t in frames.clicks if t >= clicked - 0.05), default=math.nan)
    answered = min(
        (t for t, _, kind in frames.received if t >= clicked and "status: reset" in kind),
        default=math.nan,
    )
    return {
        "click_sent": round(sent - clicked, 3),
        "idle_received": round(answered - clicked, 3),
        "idle_shown": round(shown - clicked, 3),
        "frames_2s_before_click": frames.summary(clicked, clicked - 2, clicked),
        "frames_click_to_idle": frames.summary(clicked, clicked, answered),
    }


def profile_page(
    browser, frontend: str, data_dir: str | None, cpu_profile: bool, reset: bool
) -> dict:
    with tempfile.TemporaryDirectory(prefix="explorer-profile-") as tmp:
        tmp_path = Path(tmp)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.set_default_timeout(60_000)
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        frames = Frames(cdp)
        if cpu_profile:
            cdp.send("Profiler.enable")
            cdp.send("Profiler.setSamplingInterval", {"interval": 1000})
        out: dict = {"frontend": frontend, "load_1min": round(os.getloadavg()[0], 2)}
        if frontend == "voila":
            server = start_app(tmp_path, *(("--data-dir", data_dir) if data_dir else ()))
        else:
            notebook = notebook_for("synthetic", data_dir, tmp_path)
            server = start_jupyter("jupyterlab", notebook, tmp_path)
        # CDP timestamps and time.monotonic() are both CLOCK_MONOTONIC on Linux
        origin = server.started
        browser_before = cpu_seconds().get("browser", 0.0)  # the server's own start is counted
        out["server_up"] = round(time.monotonic() - origin, 2)
        try:
            if cpu_profile:
                cdp.send("Profiler.start")
            if frontend == "voila":
                page.goto(server.url, timeout=PAGE_TIMEOUT_MS, wait_until="domcontentloaded")
            else:
                run_cell(page, open_notebook(page, server, "jupyterlab", notebook.name))
            out["dom_or_cell_run"] = round(time.monotonic() - origin, 2)
            page.locator(".tre-explorer").wait_for(state="visible", timeout=PAGE_TIMEOUT_MS)
            out["widgets_shown"] = round(time.monotonic() - origin, 2)
            deadline = time.monotonic() + PAGE_TIMEOUT_MS / 1000
            while not usable(page) and time.monotonic() < deadline:
                time.sleep(0.05)
            out["page"] = round(time.monotonic() - origin, 2)
            cpu_after = cpu_seconds()
            cpu_after["browser"] = cpu_after.get("browser", 0.0) - browser_before
            out["cpu_s"] = {role: round(seconds, 2) for role, seconds in cpu_after.items()}
            if cpu_profile:
                out["cpu_by_script"] = cpu_by_script(cdp.send("Profiler.stop")["profile"])
            page.get_by_text("TensorFlow loaded in").first.wait_for(timeout=PAGE_TIMEOUT_MS)
            out["tensorflow_ready"] = round(time.monotonic() - origin, 2)
            page.wait_for_timeout(500)  # let the last frames' events arrive
            out["figures_with_data"] = page.evaluate(
                "() => [...document.querySelectorAll('.js-plotly-plot')].length"
            )
            out["frames"] = frames.summary(origin)
            out["views_counted"] = [round(t - origin, 2) for t in frames.views_counted[:6]]
            if reset:
                out["reset"] = reset_breakdown(page, frames)
            out["load_1min_end"] = round(os.getloadavg()[0], 2)
        finally:
            context.close()
            server.stop()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frontend", choices=("voila", "jupyterlab"), default="voila")
    parser.add_argument("--data-dir", default=os.environ.get("TENSORREC_EXPLORE_DATA"))
    parser.add_argument("--cpu-profile", action="store_true")
    parser.add_argument("--reset", action="store_true", help="then time Reset during a run")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for _ in range(args.repeat):
                result = profile_page(
                    browser, args.frontend, args.data_dir, args.cpu_profile, args.reset
                )
                print(json.dumps(result, indent=1), flush=True)
        finally:
            browser.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
