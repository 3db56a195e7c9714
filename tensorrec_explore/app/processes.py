"""Process-tree plumbing for the app server: find, signal and reap a server and its kernels.

POSIX first (process groups, /proc); elsewhere the functions degrade to what the platform allows.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path


def descendants(pid: int) -> list[int]:
    """Return the ids of every living descendant of ``pid`` (Linux /proc; [] elsewhere)."""
    children: dict[int, list[int]] = {}
    proc = Path("/proc")
    if not proc.is_dir():
        return []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ..." where comm may hold spaces and parentheses.
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 1:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def alive(pid: int) -> bool:
    """Return True while ``pid`` runs (a zombie counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited, not yet reaped by its parent) counts as gone.
    try:
        state = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return state[state.rfind(")") + 2 :].split()[:1] != ["Z"]


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        if os.name == "posix":
            os.killpg(proc.pid, sig)
        elif sig == signal.SIGINT:
            proc.send_signal(signal.CTRL_BREAK_EVENT)  # type: ignore[attr-defined]
        else:
            proc.kill()
    except (ProcessLookupError, PermissionError, OSError):
        pass


def stop_process_tree(
    proc: subprocess.Popen, *, grace: float = 10.0, term_grace: float = 5.0
) -> list[int]:
    """Stop ``proc`` and everything it started: SIGINT, then SIGTERM, then SIGKILL.

    ``proc`` must have been started in its own process group. Returns the ids of descendants that
    had to be killed after Voila itself had stopped (normally none).
    """
    kernels = descendants(proc.pid)
    kill = getattr(signal, "SIGKILL", signal.SIGTERM)
    for sig, wait in ((signal.SIGINT, grace), (signal.SIGTERM, term_grace), (kill, 5.0)):
        if proc.poll() is not None:
            break
        _signal_group(proc, sig)
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
    # Kernels live in sessions of their own: give them a moment to follow their parent.
    deadline = time.monotonic() + 3.0
    while any(alive(k) for k in kernels) and time.monotonic() < deadline:
        time.sleep(0.1)
    killed = []
    for pid in kernels:
        if alive(pid):
            killed.append(pid)
            for sig in (signal.SIGTERM, kill):
                try:
                    os.kill(pid, sig)
                except OSError:
                    break
                time.sleep(0.5)
                if not alive(pid):
                    break
    return killed
