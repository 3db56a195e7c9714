"""What the app notebook runs inside its kernel: read the dataset choice, show the explorer.

The choice comes from the environment of the Voila server (set by ``tensorrec-explore``):
``TENSORREC_EXPLORE_DATASET`` (default ``synthetic``) and ``TENSORREC_EXPLORE_DATA_DIR``, and
for ``tensorrec-explore open MODEL`` the saved model's folder, ``TENSORREC_EXPLORE_MODEL``, and
the split it was trained on, ``TENSORREC_EXPLORE_SPLIT`` (default: none, every pair is train).
A page URL may pick another *named* dataset with ``?dataset=movielens-100k`` (Voila hands the
query string to the kernel as ``QUERY_STRING``); file paths are accepted only from the command
line.

A dataset that cannot be loaded shows a one-line message in the page (``.tre-app-error``) instead
of a traceback. The widget stack (and IPython's display, through
:func:`tensorrec_explore.explorer.app.show_in_notebook`) is imported inside :func:`launch` only.
"""

from __future__ import annotations

import html
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from ..errors import InputError, TensorRecError, describe
from .datasets import NAMED_DATASETS, dataset_label, load_dataset
from .server import ENV_DATA_DIR, ENV_DATASET, ENV_MODEL, ENV_SPLIT


def dataset_choice(environ: Mapping[str, str] | None = None) -> tuple[str, str | None]:
    """Return ``(dataset spec, data dir)`` from the environment and the page's query string."""
    environ = os.environ if environ is None else environ
    spec = environ.get(ENV_DATASET) or "synthetic"
    data_dir = environ.get(ENV_DATA_DIR) or None
    query = parse_qs(environ.get("QUERY_STRING", ""))
    if "dataset" in query:
        asked = query["dataset"][-1]
        if asked not in NAMED_DATASETS:
            raise InputError(
                f"the page's ?dataset= is {describe(asked)}; a URL may choose only "
                f"{', '.join(NAMED_DATASETS)} (a file goes on the command line: "
                f"tensorrec-explore --dataset PATH.csv)."
            )
        spec = asked
    return spec, data_dir


def kernel_id() -> str:
    """Return this kernel's id (from its connection file name), or '' outside a kernel."""
    try:
        from ipykernel import get_connection_file

        name = Path(get_connection_file()).stem
    except Exception:
        return ""
    return name.removeprefix("kernel-")


def _meta_html(spec: str, error: str | None = None) -> str:
    """A hidden marker with the kernel id and dataset (for tests and support), plus any error."""
    parts = [
        (
            f'<div class="tre-app-meta" style="display:none" '
            f'data-kernel-id="{html.escape(kernel_id())}" '
            f'data-dataset="{html.escape(dataset_label(spec))}"></div>'
        )
    ]
    if error is not None:
        parts.append(
            '<div class="tre-app-error" style="color:#b00020;font-family:sans-serif;'
            'font-size:15px;padding:12px;border:1px solid #b00020;border-radius:4px">'
            f"<b>The explorer could not start:</b> {html.escape(error)}</div>"
        )
    return "".join(parts)


def launch(environ: Mapping[str, str] | None = None) -> Any:
    """Load the chosen dataset, build the explorer and display it; return it (None on error)."""
    from ..explorer.app import Explorer, show_in_notebook

    env = environ or os.environ
    spec = env.get(ENV_DATASET) or "synthetic"
    try:
        spec, data_dir = dataset_choice(environ)
        dataset = load_dataset(spec, data_dir)
        model, config = None, {}
        if env.get(ENV_MODEL):  # tensorrec-explore open MODEL: show it, train nothing
            from ..model import TensorRec

            model = TensorRec.load(env[ENV_MODEL])
            if env.get(ENV_SPLIT):  # its held-out items and metrics on the split it knew
                config["split"] = env[ENV_SPLIT]
        explorer = Explorer(dataset, model=model, **config)
    except TensorRecError as e:
        show_in_notebook(_meta_html(spec, f"{type(e).__name__}: {e}"))
        return None
    show_in_notebook(_meta_html(spec), explorer)
    return explorer
