"""The thread limits every benchmark process runs under (BENCHMARK.md: the same for every model).

No numpy here: :mod:`nonlinear_features` sets them in its own environment before numpy loads.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

#: The variables that cap the BLAS, OpenMP and TensorFlow thread pools.
THREAD_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS",
)


def thread_env(threads: int, base: Mapping[str, str], repo: Path | None = None) -> dict[str, str]:
    """Return ``base`` with every pool capped at ``threads`` and TensorFlow's start-up lines
    muted; with ``repo``, the repository first on ``PYTHONPATH`` (for child processes)."""
    env = dict(base)
    env.update({var: str(threads) for var in THREAD_VARS})
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if repo is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(repo), env.get("PYTHONPATH")]))
    return env
