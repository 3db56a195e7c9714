"""Run the explorer app under Voila: start, wait until ready, stop without leaving a kernel.

Voila runs in its own process group (its own session on POSIX) so that a Ctrl-C in the terminal
reaches only ``tensorrec-explore``, which then stops Voila in order: SIGINT (Voila shuts its
kernels down), SIGTERM, SIGKILL. Kernels run in sessions of their own, so their process ids are
collected before Voila is signalled and any survivor is killed afterwards.

Readiness is a TCP connect to the port, never ``GET /``: every page request starts a kernel and
runs the whole app notebook.

Nothing here imports TensorFlow or the widget stack; the CLI imports this module lazily.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import webbrowser
from pathlib import Path
from typing import IO

from ..errors import TensorRecError, describe
from .processes import default_sigint, descendants, stop_process_tree
import contextlib

ENV_DATASET = "TENSORREC_EXPLORE_DATASET"
ENV_DATA_DIR = "TENSORREC_EXPLORE_DATA_DIR"
ENV_MODEL = "TENSORREC_EXPLORE_MODEL"  # a saved model to show instead of training one
ENV_SPLIT = "TENSORREC_EXPLORE_SPLIT"  # the split that saved model was trained on
DEFAULT_HOST = "127.0.0.1"


class ServerError(TensorRecError, RuntimeError):
    """The Voila server could not start, or stopped on its own."""


#: The Voila template of the app: Voila's "lab" page, written to a temporary folder that the
#: server's JUPYTER_PATH points to (so no template file needs packaging), with two changes:
#: - the page runs :data:`LABEXTENSION`'s script first: it raises anywidget's 2 s module-load limit
#:   (plotly's ~5 MB FigureWidget module misses it on a busy machine and the figures stay empty)
#:   and runs that module once for the four figures instead of once per figure; JupyterLab and
#:   Notebook 7 load the same file as an extension;
#: - lines of the page head that fetch from a CDN (Voila's Font Awesome stylesheets) are dropped:
#:   the app makes no request beyond its own server (the buttons carry text labels).
TEMPLATE_NAME = "tensorrec"
_TEMPLATE_CONF = '{"base_template": "lab"}\n'
_TEMPLATE_INDEX = """{%- extends 'lab/index.html.j2' -%}
{%- block notebook_css -%}
{%- for line in super().split('\\n') if '://cdn.' not in line %}
{{ line }}
{%- endfor %}
{%- endblock notebook_css -%}
{%- block html_head_js -%}
<script>
@SCRIPT@
</script>
{{ super() }}
{%- endblock html_head_js -%}
"""

#: The folder holding ``labextensions/tensorrec-explore`` (installed into
#: ``share/jupyter/labextensions`` by pip; put on JUPYTER_PATH to use this copy).
JUPYTER_DATA = Path(__file__).with_name("jupyter")
LABEXTENSION = JUPYTER_DATA / "labextensions" / "tensorrec-explore" / "static" / "remoteEntry.js"


def write_template(root: Path) -> Path:
    """Write the app's Voila template under ``root`` (a JUPYTER_PATH entry); return ``root``."""
    folder = root / "voila" / "templates" / TEMPLATE_NAME
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "conf.json").write_text(_TEMPLATE_CONF, encoding="utf-8")
    script = LABEXTENSION.read_text(encoding="utf-8")
    (folder / "index.html.j2").write_text(
        _TEMPLATE_INDEX.replace("@SCRIPT@", script), encoding="utf-8"
    )
    return root


def app_notebook() -> Path:
    """Return the path of the Voila notebook shipped with the package (the explorer app)."""
    return Path(__file__).with_name("explorer_app.ipynb")


def free_port(host: str = DEFAULT_HOST) -> int:
    """Return a TCP port on ``host`` that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_in_use(host: str, port: int) -> bool:
    """Return True when ``port`` on ``host`` cannot be bound (another server holds it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def accepts_connections(host: str, port: int, timeout: float = 0.5) -> bool:
    """Return True when a TCP connect to ``host:port`` succeeds."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def voila_command(
    notebook: str | os.PathLike,
    *,
    host: str = DEFAULT_HOST,
    port: int,
    log_level: str = "WARN",
    kernel_timeout: int = 60,
) -> list[str]:
    """Return the argument list that serves ``notebook`` with Voila on ``host:port``.

    Voila must not try another port (the URL is printed before the browser opens), must not open a
    browser itself, and shows tracebacks in the page so that a kernel error is visible.

    A closed tab's kernel is freed by culling: a kernel with no page connected and idle for
    ``kernel_timeout`` seconds is shut down (checked every few seconds). Voila's own "shut down on
    page unload" request is refused by its XSRF check (voila-dashboards/voila#1458, open in Voila
    0.5.13), and would miss crashed browsers anyway. Connected or busy (training) kernels are
    never culled.
    """
    return [
        sys.executable,
        "-m",
        "voila",
        str(notebook),
        f"--Voila.ip={host}",
        f"--port={port}",
        "--Voila.port_retries=0",
        "--no-browser",
        "--theme=light",
        f"--template={TEMPLATE_NAME}",
        f"--Voila.log_level={log_level}",
        "--VoilaConfiguration.show_tracebacks=True",
        f"--MappingKernelManager.cull_idle_timeout={kernel_timeout}",
        f"--MappingKernelManager.cull_interval={max(1, min(10, kernel_timeout // 3))}",
        "--MappingKernelManager.cull_connected=False",
        "--MappingKernelManager.cull_busy=False",
    ]


class AppServer:
    """One Voila server for the explorer app (or any notebook), as a context manager.

    >>> with AppServer(dataset="synthetic") as server:   # doctest: +SKIP
    ...     print(server.url)

    ``dataset`` and ``data_dir`` reach the kernel through the ``TENSORREC_EXPLORE_DATASET`` and
    ``TENSORREC_EXPLORE_DATA_DIR`` environment variables, read by the app notebook; ``model``
    (a saved model's folder, for ``tensorrec-explore open``) through
    ``TENSORREC_EXPLORE_MODEL`` and ``split`` (the split it was trained on) through
    ``TENSORREC_EXPLORE_SPLIT``. Voila's log goes
    to ``log`` (a file object) or, when None, to a temporary file whose path is ``log_path``.
    """

    def __init__(
        self,
        notebook: str | os.PathLike | None = None,
        *,
        dataset: str = "synthetic",
        data_dir: str | os.PathLike | None = None,
        host: str = DEFAULT_HOST,
        port: int | None = None,
        log_level: str = "WARN",
        kernel_timeout: int = 60,
        log: IO | None = None,
        env: dict[str, str] | None = None,
        model: str | os.PathLike | None = None,
        split: str | None = None,
    ) -> None:
        self.notebook = Path(notebook) if notebook is not None else app_notebook()
        self.dataset = dataset
        self.model = None if model is None else str(model)
        self.split = split
        self.data_dir = None if data_dir is None else str(data_dir)
        self.host = host
        self.port = port
        self.log_level = log_level
        self.kernel_timeout = kernel_timeout
        self.extra_env = dict(env or {})
        self._log = log
        self.log_path: Path | None = None
        self.proc: subprocess.Popen | None = None
        self._template_root: Path | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env[ENV_DATASET] = self.dataset
        if self.model is not None:
            env[ENV_MODEL] = self.model
        else:
            env.pop(ENV_MODEL, None)
        if self.split is not None:
            env[ENV_SPLIT] = self.split
        else:
            env.pop(ENV_SPLIT, None)
        if self.data_dir is not None:
            env[ENV_DATA_DIR] = self.data_dir
        else:
            env.pop(ENV_DATA_DIR, None)
        env.setdefault("PYTHONUNBUFFERED", "1")
        if self._template_root is not None:
            paths = [str(self._template_root), env.get("JUPYTER_PATH", "")]
            env["JUPYTER_PATH"] = os.pathsep.join(p for p in paths if p)
        env.update(self.extra_env)
        return env

    def start(self, timeout: float = 60.0) -> AppServer:
        """Start Voila and return once its port accepts connections (no page is requested)."""
        if not self.notebook.is_file():
            raise ServerError(
                f"notebook {describe(str(self.notebook))} does not exist; pass the path of an "
                f"existing .ipynb file (or reinstall tensorrec_explore for the built-in app)."
            )
        if self.port is None:
            self.port = free_port(self.host)
        elif port_in_use(self.host, self.port):
            raise ServerError(
                f"port {self.port} on {self.host} is already in use; choose another --port "
                f"or omit --port to pick a free one."
            )
        self._template_root = write_template(
            Path(tempfile.mkdtemp(prefix="tensorrec-explore-voila-template-"))
        )
        if self._log is None:
            handle, name = tempfile.mkstemp(prefix="tensorrec-explore-voila-", suffix=".log")
            os.close(handle)
            self.log_path = Path(name)
            self._log = open(name, "w", encoding="utf-8")  # noqa: SIM115 closed in stop()
            self._own_log = True
        else:
            self._own_log = False
        kwargs: dict = {}
        if os.name == "posix":
            kwargs["start_new_session"] = True
            if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
                # Inherited from a shell's background job: Voila must still stop on SIGINT.
                kwargs["preexec_fn"] = default_sigint
        else:
            kwargs["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP  # type: ignore[attr-defined]
        self.proc = subprocess.Popen(
            voila_command(
                self.notebook,
                host=self.host,
                port=self.port,
                log_level=self.log_level,
                kernel_timeout=self.kernel_timeout,
            ),
            env=self.environment(),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=str(self.notebook.parent),
            **kwargs,
        )
        try:
            self.wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Block until the port accepts a TCP connection; raise ServerError if Voila exits first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise ServerError(
                    f"Voila exited with code {self.proc.returncode} before serving; "
                    f"its log says: {self.log_tail() or '(nothing)'}"
                )
            if accepts_connections(self.host, self.port):
                return
            time.sleep(0.1)
        raise ServerError(
            f"Voila did not accept connections on {self.host}:{self.port} within {timeout:.0f} s; "
            f"its log says: {self.log_tail() or '(nothing)'}"
        )

    def log_tail(self, lines: int = 5) -> str:
        """Return the last lines of Voila's log when it was written to a file ('' otherwise)."""
        name = getattr(self._log, "name", None)
        if not isinstance(name, str) or not os.path.isfile(name):
            return ""
        with contextlib.suppress(OSError, ValueError):
            self._log.flush()
        with open(name, encoding="utf-8", errors="replace") as fh:
            text = fh.read().strip().splitlines()
        return " | ".join(line.strip() for line in text[-lines:])

    def kernel_pids(self) -> list[int]:
        """Return the process ids of the kernels (and their children) Voila runs right now."""
        return [] if self.proc is None else descendants(self.proc.pid)

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, grace: float = 10.0) -> list[int]:
        """Stop Voila and its kernels; safe to call twice. Returns kernels that had to be killed."""
        killed: list[int] = []
        if self.proc is not None:
            killed = stop_process_tree(self.proc, grace=grace)
        if self._log is not None and getattr(self, "_own_log", False):
            self._log.close()
        if self._template_root is not None:
            shutil.rmtree(self._template_root, ignore_errors=True)
            self._template_root = None
        return killed

    def __enter__(self) -> AppServer:
        return self.start() if self.proc is None else self

    def __exit__(self, *exc) -> None:
        self.stop()


def browser_available() -> bool:
    """Return True when a graphical web browser can plausibly be opened from here."""
    if sys.platform.startswith("linux") or sys.platform.startswith("freebsd"):
        if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            return False
    try:
        webbrowser.get()
    except webbrowser.Error:
        return False
    return True


def serve(
    *,
    dataset: str = "synthetic",
    data_dir: str | None = None,
    port: int | None = None,
    host: str = DEFAULT_HOST,
    open_browser: bool = True,
    notebook: str | None = None,
    verbose: bool = False,
    kernel_timeout: int = 60,
    timeout: float = 120.0,
    out: IO = sys.stdout,
    model: str | None = None,
    split: str | None = None,
) -> int:
    """Serve the explorer until Ctrl-C (or SIGTERM / SIGHUP); return the exit code."""
    started = time.monotonic()
    server = AppServer(
        notebook,
        dataset=dataset,
        data_dir=data_dir,
        host=host,
        port=port,
        log_level="INFO" if verbose else "WARN",
        kernel_timeout=kernel_timeout,
        log=sys.stderr if verbose else None,
        model=model,
        split=split,
    )

    def _as_interrupt(signum, frame):  # SIGTERM / SIGHUP behave like Ctrl-C (even if SIGINT
        # was ignored by the shell that started us in the background)
        raise KeyboardInterrupt

    previous = {}
    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        sig = getattr(signal, name, None)
        if sig is not None:
            previous[sig] = signal.signal(sig, _as_interrupt)
    try:
        try:
            server.start(timeout=timeout)
            print(
                f"TensorRec explorer ({dataset}) is ready in "
                f"{time.monotonic() - started:.1f} s at {server.url}",
                file=out,
                flush=True,
            )
            print(
                "The first page load takes a while (TensorFlow starts in the page's own kernel). "
                "Press Ctrl-C to stop.",
                file=out,
                flush=True,
            )
            if server.log_path is not None:
                print(f"Server log: {server.log_path}", file=out, flush=True)
            if open_browser and browser_available():
                webbrowser.open(server.url)
            while server.running():
                time.sleep(0.5)
            print(
                f"The Voila server stopped on its own (exit code {server.proc.returncode}); "
                f"its log says: {server.log_tail() or '(nothing)'}",
                file=sys.stderr,
            )
            return 1
        except KeyboardInterrupt:
            print("\nStopping the explorer (and its kernels)...", file=out, flush=True)
            try:
                server.stop()
            except KeyboardInterrupt:
                server.stop(grace=0.5)
            print("Stopped.", file=out, flush=True)
            if server.log_path is not None:  # a clean stop: the log is of no further use
                server.log_path.unlink(missing_ok=True)
            return 0
        finally:
            server.stop()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
