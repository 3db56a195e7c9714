"""Importing the package is cheap: no widget stack, no TensorFlow until a model is used."""

import subprocess
import sys


def test_core_import_does_not_load_widgets_or_tensorflow() -> None:
    code = (
        "import sys, tensorrec_explore, tensorrec_explore.data, tensorrec_explore.metrics;"
        "bad = [m for m in ('ipywidgets', 'plotly', 'umap', 'tensorflow', 'IPython') "
        "if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_model_import_does_not_load_widgets() -> None:
    code = (
        "import sys; from tensorrec_explore import TensorRec;"
        "bad = [m for m in ('ipywidgets', 'plotly', 'umap') if m in sys.modules];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
