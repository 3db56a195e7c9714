"""Keep TensorFlow's start-up lines (absl, oneDNN, CUDA probes) out of notebooks and server logs.

TensorFlow 2.21 writes them from C++ straight to file descriptor 2 while its libraries load and
its devices are probed, before ``TF_CPP_MIN_LOG_LEVEL`` can apply to them ("All log messages
before absl::InitializeLog() ...", "Could not find cuda drivers ...", "failed call to cuInit").
A Jupyter kernel forwards that descriptor to the notebook as a red stderr stream.

:func:`install` (called once by ``import tensorrec_explore``, at no cost: nothing is imported)
puts a finder on ``sys.meta_path`` that wraps the first ``import tensorflow`` of the process,
whoever triggers it: during that import and the first device probe, descriptor 2 goes to a
temporary file; afterwards the lines are written back to the real stderr, *except* those that
match :data:`NOISE`. Real errors and warnings therefore still show. ``TF_CPP_MIN_LOG_LEVEL``
defaults to ``2`` (errors only) for what TensorFlow logs later; a value set by the user wins.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.util
import os
import re
import sys
import tempfile
import threading
from collections.abc import Iterator

#: Start-up lines that say nothing to a user of a CPU machine (one regex per line).
NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|[IW]\d{4} [\d:.]+ +\d+ \S+\] .*"  # absl INFO / WARNING lines (oneDNN, cudart stub, CPU)
    r"|E\d{4} [\d:.]+ +\d+ cuda_\w+\.cc:\d+\] .*"  # CUDA probes failing on a machine without GPU
    r"|To enable the following instructions: .* rebuild TensorFlow with the appropriate compiler "
    r"flags\.)$"
)

_lock = threading.Lock()


def is_noise(line: str) -> bool:
    """Return True when ``line`` (without its newline) is one of TensorFlow's start-up lines."""
    return NOISE.match(line.rstrip("\r\n")) is not None


@contextlib.contextmanager
def filtered_stderr() -> Iterator[None]:
    """Send file descriptor 2 to a temporary file; on exit, write back all but :data:`NOISE`."""
    with _lock, tempfile.TemporaryFile(mode="w+b") as captured:
        with contextlib.suppress(Exception):
            sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            kept = [
                line
                for line in captured.read().decode(errors="replace").splitlines(True)
                if line.strip() and not is_noise(line)
            ]
            if kept:
                os.write(2, "".join(kept).encode())


class _QuietLoader(importlib.abc.Loader):
    """Run TensorFlow's own loader inside :func:`filtered_stderr`, then probe its devices."""

    def __init__(self, loader: importlib.abc.Loader) -> None:
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def __getattr__(self, name: str):  # anything else a loader offers: TensorFlow's own
        return getattr(self._loader, name)

    def exec_module(self, module) -> None:
        # the module keeps TensorFlow's own loader (this wrapper leaves no trace)
        module.__loader__ = module.__spec__.loader = self._loader
        with filtered_stderr():
            self._loader.exec_module(module)
            with contextlib.suppress(Exception):  # the CUDA probe logs at the first device use
                module.config.list_physical_devices()


class _TensorFlowFinder(importlib.abc.MetaPathFinder):
    """Wraps the loader of the top-level ``tensorflow`` package, once, then steps aside."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "tensorflow":
            return None
        uninstall()
        spec = importlib.util.find_spec(fullname)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


_FINDER = _TensorFlowFinder()


def install() -> None:
    """Quiet TensorFlow's start-up for this process (no effect once TensorFlow is imported)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "tensorflow" not in sys.modules and _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)


def uninstall() -> None:
    """Remove the finder of :func:`install` (TensorFlow's later imports are left alone)."""
    with contextlib.suppress(ValueError):
        sys.meta_path.remove(_FINDER)
