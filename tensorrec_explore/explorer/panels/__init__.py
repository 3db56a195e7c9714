"""Views over :class:`~tensorrec_explore.explorer.state.ExplorerState`.

Each panel builds its widgets once, writes user choices into the state and observes the state
(always with ``names=[...]``) to redraw. Panels never import the controller: the app connects
their buttons to it.
"""

from .config import ConfigPanel
from .curves import CurvesPanel
from .diagram import DiagramPanel
from .embeddings import EmbeddingsPanel
from .inspector import InspectorPanel
from .runs import RunsPanel
from .status import StatusPanel

__all__ = [
    "ConfigPanel",
    "CurvesPanel",
    "DiagramPanel",
    "EmbeddingsPanel",
    "InspectorPanel",
    "RunsPanel",
    "StatusPanel",
]
