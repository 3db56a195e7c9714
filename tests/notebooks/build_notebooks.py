"""Write the tutorial notebooks (notebooks/0*_*.ipynb) from the cell sources in this folder.

It also sets the metadata of the hand-written notebooks/explorer.ipynb (the same as the others:
what JupyterLab would write, so that opening a notebook there leaves the file unchanged).

    python tests/notebooks/build_notebooks.py          # rewrite the notebooks
    python tests/notebooks/build_notebooks.py --check  # exit 1 if a notebook is out of date
    python tests/notebooks/build_notebooks.py 03_custom_loss  # just that one

The notebooks are generated so that they are always committed without outputs, execution
counts or widget state (an executed explorer carries ~5 MB of JavaScript). Edit the cell sources
in ``sources/NAME.py``: cells are separated by lines ``# %% [markdown]`` and ``# %%`` (the
"percent" format); markdown cells are written as ``# ``-prefixed comment lines.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
SOURCES = HERE / "sources"
NOTEBOOKS = HERE.parents[1] / "notebooks"
NAMES = (
    "01_getting_started",
    "02_custom_representation",
    "03_custom_loss",
    "04_why_deep_representations",
)
#: Hand-written notebooks (not built from sources) whose metadata the builder still sets.
HAND_WRITTEN = ("explorer",)
#: What JupyterLab 4 writes itself when it opens a notebook with ipykernel: with exactly this,
#: opening a shipped notebook changes nothing on disk. ``version`` is the Python the notebooks
#: are built and tested with (``PYTHON_VERSION``); JupyterLab records its own kernel's version.
PYTHON_VERSION = "3.11.7"
METADATA = {
    "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
    "language_info": {
        "codemirror_mode": {"name": "ipython", "version": 3},
        "file_extension": ".py",
        "mimetype": "text/x-python",
        "name": "python",
        "nbconvert_exporter": "python",
        "pygments_lexer": "ipython3",
        "version": PYTHON_VERSION,
    },
}


def parse_cells(text: str) -> list[nbformat.NotebookNode]:
    """Split a percent-format script into notebook cells (no outputs)."""
    cells: list[nbformat.NotebookNode] = []
    kind, lines = None, []

    def flush() -> None:
        if kind is None:
            return
        body = "\n".join(lines).strip("\n")
        if not body:
            return
        if kind == "markdown":
            body = "\n".join(
                line[2:] if line.startswith("# ") else line.lstrip("#")
                for line in body.splitlines()
            )
            cells.append(nbformat.v4.new_markdown_cell(body))
        else:
            cells.append(nbformat.v4.new_code_cell(body))

    for line in text.splitlines():
        if line.startswith("# %% [markdown]"):
            flush()
            kind, lines = "markdown", []
        elif line.startswith("# %%"):
            flush()
            kind, lines = "code", []
        elif kind is not None:
            lines.append(line)
    flush()
    return cells


def build(name: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook(metadata=METADATA)
    nb.cells = parse_cells((SOURCES / f"{name}.py").read_text())
    for index, cell in enumerate(nb.cells):
        cell["id"] = f"{name[:2]}-{index:02d}"  # stable ids: regenerating changes nothing
    return nb


def render(name: str) -> str:
    """The text of notebook ``name``: built from its source, or (hand-written) with METADATA."""
    if name in HAND_WRITTEN:
        nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
        nb.metadata = nbformat.from_dict(METADATA)
    else:
        nb = build(name)
    return nbformat.writes(nb) + "\n"


def main(argv: list[str]) -> int:
    stale = []
    chosen = [a for a in argv if not a.startswith("--")] or NAMES + HAND_WRITTEN
    for name in chosen:
        path = NOTEBOOKS / f"{name}.ipynb"
        text = render(name)
        if "--check" in argv:
            if not path.is_file() or path.read_text() != text:
                stale.append(path.name)
        else:
            path.write_text(text)
    if stale:
        print(f"out of date (run {Path(__file__).name}): {', '.join(stale)}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
