"""The explorer as a web app: a Voila notebook shipped with the package and its launcher.

``explorer_app.ipynb`` is the page (it calls :func:`tensorrec_explore.app.kernel.launch`);
:mod:`tensorrec_explore.app.server` starts and stops Voila for ``tensorrec-explore serve``;
:mod:`tensorrec_explore.app.datasets` resolves ``--dataset`` for the app and the headless commands.
Importing this package imports neither TensorFlow nor the widget stack.
"""

from __future__ import annotations

from .server import ENV_DATA_DIR, ENV_DATASET, AppServer, app_notebook

__all__ = ["ENV_DATASET", "ENV_DATA_DIR", "AppServer", "app_notebook"]
