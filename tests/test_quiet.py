"""TensorFlow's start-up lines stay out of stderr; everything else written there still shows."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tensorrec_explore.quiet import is_noise

ROOT = Path(__file__).resolve().parents[1]

#: Lines TensorFlow 2.21 prints on a CPU machine while it loads (seen in notebooks and logs).
STARTUP_LINES = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1795967733.767319    6203 port.cc:153] oneDNN custom operations are on.",
    (
        "I0000 00:00:1795967733.767758    6203 cudart_stub.cc:31] Could not find cuda drivers on "
        "your machine, GPU will not be used."
    ),
    (
        "E0000 00:00:1795967742.238578    6203 cuda_platform.cc:52] failed call to cuInit: "
        "INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)"
    ),
    (
        "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow "
        "with the appropriate compiler flags."
    ),
]


def run_python(code: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter (this checkout first, TF_CPP_MIN_LOG_LEVEL unset)."""
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )


@pytest.mark.parametrize("line", STARTUP_LINES)
def test_startup_lines_are_noise(line):
    assert is_noise(line)


@pytest.mark.parametrize(
    "line",
    [
        "E0000 00:00:1795967742.238578    6203 op_kernel.cc:1] OOM when allocating tensor",
        "Traceback (most recent call last):",
        "ValueError: something a user must see",
        "WARNING: something else",
    ],
)
def test_other_lines_are_kept(line):
    assert not is_noise(line)


def test_filtered_stderr_drops_noise_and_keeps_the_rest():
    noise = STARTUP_LINES[2]
    result = run_python(
        "import os\nfrom tensorrec_explore.quiet import filtered_stderr\n"
        f"with filtered_stderr():\n    os.write(2, b'{noise}\\nkeep me\\n')\n"
        "os.write(2, b'after\\n')\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == "keep me\nafter\n"


@pytest.mark.slow
def test_importing_and_training_writes_nothing_to_stderr():
    result = run_python(
        "import numpy as np, scipy.sparse as sp\n"
        "from tensorrec_explore import TensorRec\n"
        "x = sp.random(20, 15, density=0.3, format='csr', random_state=0)\n"
        "TensorRec(n_components=4, epochs=1, random_state=0).fit(x)\n"
        "import os\nprint(os.environ['TF_CPP_MIN_LOG_LEVEL'])\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == "", result.stderr
    assert result.stdout.strip() == "2"
