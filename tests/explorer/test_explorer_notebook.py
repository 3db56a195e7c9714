"""notebooks/explorer.ipynb runs top to bottom in a real kernel (nbclient)."""

from __future__ import annotations

from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "explorer.ipynb"


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_explorer_notebook_executes():
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    for cell in nb.cells:  # shipped without outputs (the widgets' JavaScript is ~5 MB)
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None
    client = nbclient.NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    client.execute()
    texts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            assert output.output_type != "error", output
            texts.append(output.get("text", "") + str(output.get("data", {}).get("text/plain", "")))
    joined = "\n".join(texts)
    assert "True" in joined  # the custom representation is in the dropdown
    assert "Finished at epoch 5" in joined
    assert "application/vnd.jupyter.widget-view+json" in str(nb.cells[1].outputs)
