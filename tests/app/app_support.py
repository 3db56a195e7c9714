"""Helpers of the app tests: start the app by its real command, stop it clean, browser settings.

The server is started as ``python -m tensorrec_explore.cli serve --no-browser --port <free>`` in
a process group of its own, waited for by TCP connect (a ``GET /`` would start a kernel), and
stopped whatever happened: SIGINT to the command (which stops Voila and its kernels), then
SIGTERM / SIGKILL, then any process of the tree still alive is killed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tensorrec_explore.app.processes import alive, descendants, stop_process_tree
from tensorrec_explore.app.server import accepts_connections, free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HOST = "127.0.0.1"
HERE = Path(__file__).parent
PLACEHOLDER = HERE / "placeholder_app.ipynb"

#: Timings measured by the tests, printed at the end of the session (see pytest_terminal_summary).
TIMINGS: dict[str, float] = {}


@dataclass
class RunningApp:
    """A ``tensorrec-explore serve`` process started by a test."""

    proc: subprocess.Popen
    port: int
    log_path: Path
    started: float  # time.monotonic() just before the command was started
    tree: list[int] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def processes(self) -> list[int]:
        """Living processes under the command: Voila and its kernels."""
        return descendants(self.proc.pid)

    def kernel_pids(self) -> list[int]:
        found = []
        for pid in self.processes():
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if b"ipykernel" in cmdline:
                found.append(pid)
        return found

    def stop(self) -> list[int]:
        """Stop the command and everything under it; return ids still alive after (none!)."""
        self.tree = sorted(set(self.tree) | set(self.processes()))
        stop_process_tree(self.proc, grace=15.0)
        deadline = time.monotonic() + 5
        while any(alive(p) for p in self.tree) and time.monotonic() < deadline:
            time.sleep(0.1)
        return [p for p in self.tree if alive(p)]


def start_server(command: list[str], port: int, tmp_path: Path, *, timeout: float = 60.0,
                 env=None, name: str = "app") -> RunningApp:
    """Start ``command`` (which serves on ``port``) in its own session; wait by TCP connect."""
    log_path = tmp_path / f"{name}-{port}.log"
    with open(log_path, "w") as log:
        started = time.monotonic()
        proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, **(env or {})},
            cwd=str(tmp_path),
        )
    app = RunningApp(proc=proc, port=port, log_path=log_path, started=started)
    deadline = time.monotonic() + timeout
    try:
        while not accepts_connections(HOST, port):
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with code {proc.returncode}:\n{app.log()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not listen within {timeout} s:\n{app.log()}")
            time.sleep(0.1)
    except BaseException:
        app.stop()
        raise
    app.tree = app.processes()
    return app


def start_app(tmp_path: Path, *args: str, timeout: float = 60.0, env=None) -> RunningApp:
    """Run ``python -m tensorrec_explore.cli serve --no-browser --port <free> *args``."""
    port = free_port(HOST)
    command = [sys.executable, "-m", "tensorrec_explore.cli", "serve", "--no-browser",
               "--port", str(port), "--verbose", *args]
    return start_server(command, port, tmp_path, timeout=timeout, env=env)


# ---------------------------------------------------------------------------------------------
# page helpers (plotly figures are counted from the element's ``data``, never from SVG paths:
# plotly simplifies line paths; a widget's CSS class sits on the ``.js-plotly-plot`` element)

PAGE_TIMEOUT_MS = 240_000  # a page load runs the app notebook and imports TensorFlow (~20-40 s)

_TRACE_LENGTHS_JS = """
(selector) => {
  const el = document.querySelector(selector + '.js-plotly-plot');
  if (!el || !el.data) return null;
  return el.data.map(t => {
    const x = t.x;
    if (x == null) return 0;
    if (typeof x.length === 'number') return x.length;
    if (x.bdata !== undefined) {                      // plotly's base64 typed-array form
      const size = {f8: 8, f4: 4, i4: 4, u4: 4, i2: 2, u2: 2, i1: 1, u1: 1}[x.dtype] || 8;
      return Math.floor(atob(x.bdata).length / size);
    }
    return 0;
  });
}
"""

_TRACE_NAMES_JS = """
(selector) => {
  const el = document.querySelector(selector + '.js-plotly-plot');
  return el && el.data ? el.data.map(t => t.name || '') : null;
}
"""


def trace_lengths(page, css_class: str) -> list[int]:
    """Points per trace of the plotly figure carrying ``css_class`` ([] before it renders)."""
    return page.evaluate(_TRACE_LENGTHS_JS, f".{css_class}") or []


def trace_names(page, css_class: str) -> list[str]:
    return page.evaluate(_TRACE_NAMES_JS, f".{css_class}") or []


def wait_until(predicate, timeout: float, what: str, interval: float = 0.25):
    """Poll ``predicate`` until it returns something truthy; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})")


def kernel_status(base_url: str, kernel_id: str) -> int:
    """HTTP status of ``/api/kernels/<id>``: 200 while the kernel lives, 404 once it is gone."""
    import json
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"{base_url}api/kernels/{kernel_id}", timeout=5) as response:
            json.load(response)
            return response.status
    except urllib.error.HTTPError as e:
        return e.code


def kernel_id_of(page) -> str:
    """The id of the kernel behind a served page (the app writes it in ``.tre-app-meta``)."""
    return page.locator(".tre-app-meta").first.get_attribute("data-kernel-id") or ""


def status_text(page) -> str:
    return page.locator(".tre-status").first.inner_text().strip()


def set_number(page, css_class: str, value) -> None:
    """Type into an ipywidgets number box and commit it (they sync on Enter / blur)."""
    box = page.locator(f".{css_class} input").first
    box.fill(str(value))
    box.press("Enter")
    box.blur()
