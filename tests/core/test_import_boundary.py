"""Importing the package is cheap: no widget stack, no TensorFlow until a model is used, and
the command line starts without numpy."""

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "imports,forbidden",
    [
        (
            "import tensorrec_explore, tensorrec_explore.data, tensorrec_explore.metrics",
            ("ipywidgets", "plotly", "umap", "tensorflow", "IPython"),
        ),
        ("from tensorrec_explore import TensorRec", ("ipywidgets", "plotly", "umap")),
        # the CLI's --help and the settings' declaration start without numpy or pandas
        ("import tensorrec_explore.cli, tensorrec_explore.settings", ("numpy", "pandas")),
    ],
)
def test_imports_stay_light(imports: str, forbidden: tuple[str, ...]) -> None:
    code = (
        f"import sys; {imports}; loaded = [m for m in {forbidden!r} if m in sys.modules];"
        "print(loaded); sys.exit(1 if loaded else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
