"""The interactive explorer: ``Explorer(dataset)`` trains, plots and inspects in a notebook.

This subpackage is the only one importing ipywidgets, plotly and traitlets; install them with
``pip install "tensorrec_explore[explorer]"``.
"""

from __future__ import annotations

from .fast_imports import import_jsonschema_quickly

import_jsonschema_quickly()  # before plotly: seconds off every page load (see fast_imports)

try:
    import ipywidgets  # noqa: F401
    import plotly  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    from ..errors import MissingExtraError

    raise MissingExtraError(
        f"The explorer needs the widget stack ({exc.name} is missing); install it with: "
        f'pip install "tensorrec_explore[explorer]"'
    ) from exc

from .app import Explorer  # noqa: E402 (after the extra check above)
from .state import ExplorerState  # noqa: E402

__all__ = ["Explorer", "ExplorerState"]
