"""The explorer's architecture rules, checked: panels never import the controller, the
controller never imports a panel, and only app.py wires them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from explorer_support import train

import tensorrec_explore

ROOT = Path(tensorrec_explore.__file__).parent / "explorer"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            names.add("." * node.level + (node.module or ""))
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


@pytest.mark.parametrize("path", sorted((ROOT / "panels").glob("*.py")), ids=lambda p: p.name)
def test_panels_never_import_the_controller(path):
    assert not any(
        "controller" in name or name.endswith("training") for name in imported_modules(path)
    )


def test_controller_never_imports_panels_or_widgets():
    for name in ("controller.py", "training.py", "state.py", "projector.py", "analysis.py"):
        names = imported_modules(ROOT / name)
        assert not any("panels" in n or n.startswith(("ipywidgets", "plotly")) for n in names), name


def test_closing_stops_following_the_registries(small_dataset):
    from tensorrec_explore.explorer import Explorer

    before = len(tensorrec_explore.REPRESENTATIONS._listeners)
    ex = Explorer(small_dataset, warm_umap=False)
    assert len(tensorrec_explore.REPRESENTATIONS._listeners) == before + 1
    ex.close()
    assert len(tensorrec_explore.REPRESENTATIONS._listeners) == before


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_umap_frames_replace_pca_in_the_background(explorer):
    pytest.importorskip("umap")
    train(explorer)
    p = explorer.panels.embeddings
    p.method.value = "umap"  # returns at once: the UI never waits for UMAP
    assert explorer.state.projection_method == "umap"
    assert explorer.projector.wait_idle(800)
    last = explorer.state.snapshots[-1].epoch
    assert (last, "umap") in explorer.state.projections, explorer.state.projection_status
    assert "UMAP of epoch" in p.info.value
    assert len(p.items_trace.x) == explorer.state.n_items
    # scrubbing to another epoch starts from the previous UMAP layout (faster, aligned)
    p.epoch_slider.value = 0
    assert explorer.projector.wait_idle(600)
    assert (0, "umap") in explorer.state.projections
    assert len(explorer.projector.timings["umap"]) == 2


def test_explorer_import_skips_the_slow_jsonschema_checker_but_leaves_it_importable():
    import subprocess
    import sys

    code = (
        "import sys, importlib.util\n"
        "import tensorrec_explore.explorer\n"
        "assert 'jsonschema' in sys.modules\n"
        "assert 'rfc3987_syntax' not in sys.modules, 'imported the slow checker'\n"
        "if importlib.util.find_spec('rfc3987_syntax'):\n"
        "    import rfc3987_syntax\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
