"""Helpers of the app tests: start the app by its real command, stop it clean, browser settings.

The server is started as ``python -m tensorrec_explore.cli serve --no-browser --port <free>`` in
a process group of its own, waited for by TCP connect (a ``GET /`` would start a kernel), and
stopped whatever happened: SIGINT to the command (which stops Voila and its kernels), then
SIGTERM / SIGKILL, then any process of the tree still alive is killed.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from tensorrec_explore.app.processes import alive, descendants, stop_process_tree
from tensorrec_explore.app.server import JUPYTER_DATA, accepts_connections, free_port

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

#: Environment of a server whose TensorFlow may speak: its start-up lines must be filtered by
#: tensorrec_explore itself (quiet.py), not by a variable the test run happens to set.
UNQUIET_TF = {"TF_CPP_MIN_LOG_LEVEL": None}

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


def start_server(
    command: list[str],
    port: int,
    tmp_path: Path,
    *,
    timeout: float = 60.0,
    env=None,
    name: str = "app",
) -> RunningApp:
    """Start ``command`` (which serves on ``port``) in its own session; wait by TCP connect.

    ``env`` adds to this process's environment; a value of None removes that variable.
    """
    log_path = tmp_path / f"{name}-{port}.log"
    with open(log_path, "w") as log:
        started = time.monotonic()
        proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={k: v for k, v in {**os.environ, **(env or {})}.items() if v is not None},
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


@contextlib.contextmanager
def busy_cpus(count: int | None = None) -> Iterator[list[int]]:
    """Keep ``count`` (default: every) CPU busy with spinning processes until the block ends.

    Each spinner runs in a session of its own and is killed by its id at the end.
    """
    count = count or os.cpu_count() or 2
    spinners = [
        subprocess.Popen(
            [sys.executable, "-c", "while True: pass"],
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        for _ in range(count)
    ]
    try:
        yield [p.pid for p in spinners]
    finally:
        for proc in spinners:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def start_app(
    tmp_path: Path, *args: str, timeout: float = 60.0, env=None, command: str = "serve"
) -> RunningApp:
    """Run ``python -m tensorrec_explore.cli COMMAND --no-browser --port <free> *args``
    (``command`` is ``serve`` or ``open``; for ``open``, ``args`` start with the model)."""
    port = free_port(HOST)
    command_line = [
        sys.executable,
        "-m",
        "tensorrec_explore.cli",
        command,
        "--no-browser",
        "--port",
        str(port),
        "--verbose",
        *args,
    ]
    return start_server(command_line, port, tmp_path, timeout=timeout, env=env, name=command)


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


def press(locator) -> None:
    """Click a widget button. A widget button never navigates, so Playwright is told not to wait
    for navigations after the click: on a busy renderer that wait alone can outlast the timeout
    (seen in CI: "click action done - waiting for scheduled navigations to finish")."""
    locator.click(no_wait_after=True)


def set_number(page, css_class: str, value) -> None:
    """Type into an ipywidgets number box and commit it (they sync on Enter / blur)."""
    box = page.locator(f".{css_class} input").first
    box.fill(str(value))
    box.press("Enter")
    box.blur()


# ---------------------------------------------------------------------------------------------
# JupyterLab and Notebook 7 serving a copy of a notebook

NEVER_CHECK = "jupyterlab.handlers.announcements.NeverCheckForUpdate"
#: ``python -m <module>`` of each notebook front end, and the URL that opens a notebook alone
#: (JupyterLab would otherwise restore the tabs of its last window).
FRONTENDS = {
    "jupyterlab": ("jupyterlab", "lab/tree/{}?reset"),
    "notebook": ("notebook", "notebooks/{}"),
}


def start_jupyter(frontend: str, notebook: Path, tmp_path: Path) -> RunningApp:
    """Serve a copy of ``notebook`` with JupyterLab or Notebook 7 (``frontend``), isolated.

    The copy lives in a temporary folder (autosave writes into it); settings, workspaces and
    config folders are temporary too; news and update checks are off; no token (127.0.0.1 only);
    ``--allow-root`` when run as root. JUPYTER_PATH starts with this checkout's extension folder,
    so the tests exercise this copy of the tensorrec-explore labextension.
    """
    module, _ = FRONTENDS[frontend]
    root = tmp_path / "notebooks"
    root.mkdir(exist_ok=True)
    shutil.copy(notebook, root / notebook.name)
    settings = tmp_path / "lab-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True, exist_ok=True)
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )
    port = free_port(HOST)
    command = [
        sys.executable,
        "-m",
        module,
        "--no-browser",
        f"--port={port}",
        f"--ServerApp.ip={HOST}",
        "--ServerApp.port_retries=0",
        "--IdentityProvider.token=",
        "--ServerApp.password=",
        f"--ServerApp.root_dir={root}",
    ]
    if frontend == "jupyterlab":
        command += [
            f"--LabApp.check_for_updates_class={NEVER_CHECK}",
            "--LabApp.news_url=None",
        ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    env = {
        "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "lab-settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "lab-workspaces"),
        "JUPYTER_CONFIG_DIR": str(tmp_path / "jupyter-config"),
        "JUPYTER_PATH": os.pathsep.join(
            p for p in (str(JUPYTER_DATA), os.environ.get("JUPYTER_PATH", "")) if p
        ),
    }
    return start_server(command, port, tmp_path, env=env, name=frontend, timeout=120)


def accept_dialogs(page) -> None:
    """Accept any JupyterLab dialog in the way (e.g. a kernel prompt on a busy machine).

    Its text is printed, so a run that needed it says what JupyterLab asked.
    """
    dialogs = page.locator(".jp-Dialog")
    for _ in range(3):
        if not dialogs.count() or not dialogs.first.is_visible():
            return
        print("dialog accepted:", dialogs.first.inner_text()[:300].replace("\n", " | "))
        dialogs.first.locator(".jp-mod-accept").first.click(timeout=10_000)
        page.wait_for_timeout(500)


def open_notebook(page, server: RunningApp, frontend: str, name: str):
    """Open notebook ``name`` in ``frontend``, wait for its kernel; return the first code cell."""
    _, path = FRONTENDS[frontend]
    page.goto(server.url + path.format(name), timeout=PAGE_TIMEOUT_MS)
    first_code = page.locator(".jp-Notebook .jp-CodeCell").first
    first_code.wait_for(state="visible", timeout=120_000)
    wait_until(lambda: kernel_idle(server), 120, "the notebook's kernel to be idle")
    return first_code


def kernel_idle(server: RunningApp) -> bool:
    """True when the server runs at least one kernel and every kernel is idle (False while the
    server cannot say, e.g. a 500 or a timeout of its API on a busy machine: ask again)."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"{server.url}api/kernels", timeout=5) as response:
            kernels = json.load(response)
    except (urllib.error.URLError, TimeoutError, ConnectionError):  # HTTPError included
        return False
    return bool(kernels) and all(k.get("execution_state") == "idle" for k in kernels)


def run_cell(page, cell) -> None:
    """Run ``cell`` with Shift+Enter (retried while the notebook is not wired up yet)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for attempt in range(3):
        accept_dialogs(page)
        try:
            cell.locator(".jp-InputArea-editor").click(timeout=20_000)
            page.keyboard.press("Shift+Enter")
            cell.locator(".jp-InputPrompt").filter(has_text="[*]").or_(
                cell.locator(".jp-OutputArea-output")
            ).first.wait_for(timeout=30_000)
            return
        except PlaywrightTimeout:  # not started yet, or a dialog came up: accept it, run again
            if attempt == 2:
                raise


# ---------------------------------------------------------------------------------------------
# what a page asks for, and whether its figures draw


def record_requests(page) -> list[str]:
    """Record the URL of every request ``page`` makes from now on (the list fills as it goes)."""
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    return urls


def tensorflow_lines(text: str) -> list[str]:
    """Lines of a log or output that come from TensorFlow's start-up (absl, CUDA, oneDNN)."""
    from tensorrec_explore.quiet import is_noise

    return [
        line
        for line in text.splitlines()
        if is_noise(line) or "absl" in line or "cuda" in line.lower()
    ]


def off_machine(urls: list[str]) -> list[str]:
    """The URLs among ``urls`` that leave 127.0.0.1 (data:/blob: URLs never leave the page)."""
    return [
        u
        for u in urls
        if urlsplit(u).scheme not in ("data", "blob") and urlsplit(u).hostname != HOST
    ]


def load_limit_patched(page) -> bool:
    """True when the page runs with anywidget's module-load limit raised (our extension or
    template)."""
    return bool(
        page.evaluate("() => !!(AbortSignal.timeout && AbortSignal.timeout.tensorrecExplore)")
    )


def shared_modules(page) -> dict[str, int]:
    """How many large widget ES modules the page ran (``modules``) and how many widgets reused
    one already run (``reused``), as counted by our extension's script ({} without it)."""
    return page.evaluate("() => Object.assign({}, window.Blob.tensorrecExplore || {})")


def wait_for_curve_points(page, points: int, timeout: float = 240, where: str = "") -> None:
    """Wait until the loss figure's ``el.data`` holds ``points`` points (plotly drew them)."""
    wait_until(
        lambda: max(trace_lengths(page, "tre-loss-curve") or [0]) >= points,
        timeout,
        f"the loss curve to draw {points} points{where}",
    )


def embedding_counts(page) -> dict[str, int] | None:
    """Points per trace of the embedding scatter, by trace name (None while it is empty)."""
    names = trace_names(page, "tre-embedding")
    lengths = trace_lengths(page, "tre-embedding")
    return dict(zip(names, lengths, strict=False)) if lengths and lengths[0] else None


# ---------------------------------------------------------------------------------------------
# the embedding map by hand (points of the WebGL scatter have no DOM element: a click goes to the
# pixel plotly's axes put the point at)

MAP = ".tre-embedding.js-plotly-plot"

# Page position of the point of trace ``name`` farthest from every other drawn point (so a click
# there cannot land on a neighbour), away from the plot's edges, legend, mode bar and colour bars
# (a click there would not reach the point), with its index in that trace.
_ISOLATED_POINT_JS = """
([selector, name]) => {
  const el = document.querySelector(selector);
  const xa = el._fullLayout.xaxis, ya = el._fullLayout.yaxis;
  const box = el.getBoundingClientRect();
  const drawn = el._fullData.filter(t => t.visible === true && t.type === 'scattergl');
  const pixels = t => Array.from(t.x || [], (x, i) => [
    box.left + xa._offset + xa.l2p(x), box.top + ya._offset + ya.l2p(t.y[i])]);
  const target = pixels(drawn.find(t => t.name === name));
  const others = drawn.flatMap(pixels);
  const covers = Array.from(el.querySelectorAll('.legend, .modebar-container, .colorbar'),
                            c => c.getBoundingClientRect());
  const covered = (x, y) => covers.some(r =>
    x > r.left - 8 && x < r.right + 8 && y > r.top - 8 && y < r.bottom + 8);
  let best = null;
  target.forEach(([x, y], index) => {
    if (x < box.left + xa._offset + 15 || x > box.left + xa._offset + xa._length - 15) return;
    if (y < box.top + ya._offset + 15 || y > box.top + ya._offset + ya._length - 15) return;
    if (covered(x, y)) return;
    let gap = Infinity;
    for (const [u, v] of others) {
      const d = Math.hypot(u - x, v - y);
      if (d > 0.01 && d < gap) gap = d;
    }
    if (!best || gap > best.gap) best = {x, y, index, gap};
  });
  return best;
}
"""

# Points (x) and hover text of the trace ``name``, and the map's x range.
TRACE_JS = """
([selector, name]) => {
  const el = document.querySelector(selector);
  const t = el._fullData.find(t => t.name === name);
  return {n: t.x ? t.x.length : 0, x: Array.from(t.x || []), text: Array.from(t.hovertext || []),
          range: el._fullLayout.xaxis.range.slice()};
}
"""


def open_explorer(page, url: str) -> None:
    page.goto(url, timeout=PAGE_TIMEOUT_MS)
    page.locator(".tre-explorer").wait_for(state="visible", timeout=PAGE_TIMEOUT_MS)
    page.locator(MAP).wait_for(timeout=60_000)


def isolated_point(page, trace: str) -> dict:
    """The page position (``x``, ``y``), ``index`` in ``trace`` and ``gap`` (pixels to the
    nearest other point) of the most isolated visible point of ``trace`` on the map."""
    page.locator(MAP).scroll_into_view_if_needed()
    point = page.evaluate(_ISOLATED_POINT_JS, [MAP, trace])
    assert point and point["gap"] > 4, f"no clickable point in {trace!r}: {point}"
    return point


def hover_point(page, point: dict) -> None:
    """Move the mouse onto ``point`` (from 3 px away) and let plotly find it under the mouse."""
    page.mouse.move(point["x"] - 3, point["y"] - 3)
    page.mouse.move(point["x"], point["y"])
    page.wait_for_timeout(300)  # plotly finds the hovered point on mousemove


def click_point(page, trace: str) -> int:
    """Click, with the mouse, the most isolated point of ``trace``; return its index."""
    point = isolated_point(page, trace)
    hover_point(page, point)
    page.mouse.click(point["x"], point["y"])
    return point["index"]


def show(page, what: str) -> None:
    """Choose what the map shows ("items", "users", "users and items"); wait until it does."""
    page.locator(".tre-embeddings-panel select").first.select_option(what)
    wanted = sorted(what.split(" and "))
    wait_until(
        lambda: (
            page.evaluate(
                "s => document.querySelector(s)._fullData"
                ".filter(t => t.visible === true && ['items', 'users'].includes(t.name))"
                ".map(t => t.name).sort()",
                MAP,
            )
            == wanted
        ),
        30,
        f"the map to show {what}",
    )


def input_value(page, css_class: str) -> str:
    return page.locator(f".{css_class} input").first.input_value()


def option(page, css_class: str, index: int) -> str:
    return page.locator(f".{css_class} datalist option").nth(index).get_attribute("value")


def readout(page) -> str:
    return page.locator(".tre-epoch-slider .widget-readout").first.inner_text().strip()


def map_title(page) -> str:
    """The map's title, which names the epoch drawn."""
    return page.locator(f"{MAP} .gtitle").first.text_content()
