"""The marks drawn over the embedding map, each in its own trace so none overwrites another.

For the selected user: their training items, their held-out likes and held-out dislikes, their
top-k (joined to the user by thin lines) and the user (each taste vector); for the selected
item: itself and its nearest neighbours; for the sandbox user: where their folded-in vector
lands and their top-k.
:func:`mark_points` computes every mark's coordinates from a 2-D frame and the state; the
embeddings panel only assigns them to the traces :func:`mark_traces` created.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go
import scipy.sparse as sp

from ..records import Projection

#: (trace name, Scattergl keyword arguments), drawn in this order (later ones on top).
MARKS: tuple[tuple[str, dict], ...] = (
    (
        "links",
        {
            "mode": "lines",
            "line": {"color": "rgba(60,60,60,0.35)", "width": 1},
            "hoverinfo": "skip",
        },
    ),
    (
        "train items",
        {
            "marker": {
                "size": 9,
                "symbol": "square-open",
                "color": "#6e7781",
                "line": {"width": 1.5},
            }
        },
    ),
    (
        "held-out items",
        {
            "marker": {
                "size": 12,
                "symbol": "triangle-up",
                "color": "#1a7f37",
                "line": {"width": 1, "color": "white"},
            }
        },
    ),
    (
        "held-out dislikes",
        {
            "marker": {
                "size": 12,
                "symbol": "triangle-down",
                "color": "#cf222e",
                "line": {"width": 1, "color": "white"},
            }
        },
    ),
    (
        "top-k items",
        {"marker": {"size": 13, "symbol": "circle-open", "color": "black", "line": {"width": 2}}},
    ),
    ("neighbours", {"marker": {"size": 11, "symbol": "x", "color": "#d1242f"}}),
    (
        "selected item",
        {
            "marker": {
                "size": 16,
                "symbol": "hexagon",
                "color": "#ff7f0e",
                "line": {"width": 1, "color": "black"},
            }
        },
    ),
    (
        "selected user",
        {
            "marker": {
                "size": 16,
                "symbol": "star",
                "color": "gold",
                "line": {"width": 1, "color": "black"},
            }
        },
    ),
    (
        "new user (sandbox)",
        {
            "marker": {
                "size": 16,
                "symbol": "diamond",
                "color": "magenta",
                "line": {"width": 1, "color": "black"},
            }
        },
    ),
    (
        "sandbox top-k",
        {
            "marker": {
                "size": 17,
                "symbol": "diamond-open",
                "color": "magenta",
                "line": {"width": 2},
            }
        },
    ),
)

Points = tuple[np.ndarray, np.ndarray, list[str]]


def _empty() -> Points:
    return np.zeros(0, np.float32), np.zeros(0, np.float32), []


def mark_traces() -> list[go.Scattergl]:
    """One empty trace per mark, styled."""
    traces = []
    for name, style in MARKS:
        kwargs = {"mode": "markers", "hoverinfo": "text", **style}
        traces.append(
            go.Scattergl(x=np.zeros(0, np.float32), y=np.zeros(0, np.float32), name=name, **kwargs)
        )
    return traces


def _row(matrix: Any, user: int, sign: int = 1) -> list[int]:
    if matrix is None:
        return []
    row = sp.csr_matrix(matrix)[user]
    return [int(i) for i, v in zip(row.indices, row.data, strict=True) if v * sign > 0]


def _items(frame: Projection, items: list[int], titles: list[str]) -> Points:
    items = [i for i in items if 0 <= i < len(frame.items)]
    if not items:
        return _empty()
    xy = frame.items[items]
    return xy[:, 0], xy[:, 1], [f"{titles[i]} (item {i})" for i in items]


def _links(user_xy: np.ndarray, item_xy: np.ndarray) -> Points:
    """Segments from the (first taste of the) user to each item, separated by NaN."""
    if not len(user_xy) or not len(item_xy):
        return _empty()
    n = len(item_xy)
    x = np.full(3 * n, np.nan, np.float32)
    y = np.full(3 * n, np.nan, np.float32)
    x[0::3], y[0::3] = user_xy[0, 0], user_xy[0, 1]
    x[1::3], y[1::3] = item_xy[:, 0], item_xy[:, 1]
    return x, y, []


def mark_points(frame: Projection, state: Any, sandbox_xy: np.ndarray | None) -> dict[str, Points]:
    """Coordinates and hover text of every mark for the 2-D ``frame`` on screen."""
    titles = list(state.item_titles)
    n_tastes = frame.n_tastes
    marks = {name: _empty() for name, _ in MARKS}
    u = state.selected_user
    if 0 <= u < len(frame.users) // n_tastes:
        rows = frame.users[u * n_tastes : (u + 1) * n_tastes]
        marks["selected user"] = (
            rows[:, 0],
            rows[:, 1],
            [f"{state.user_labels[u]} (user {u})"] * len(rows),
        )
        data = state.data or {}
        marks["train items"] = _items(frame, _row(data.get("train"), u), titles)
        marks["held-out items"] = _items(frame, _row(data.get("test"), u), titles)
        marks["held-out dislikes"] = _items(frame, _row(data.get("test_dislikes"), u, -1), titles)
        top = _items(frame, list(state.highlighted_items), titles)
        marks["top-k items"] = top
        marks["links"] = _links(rows, np.stack([top[0], top[1]], axis=1))
    elif state.highlighted_items:
        marks["top-k items"] = _items(frame, list(state.highlighted_items), titles)
    i = state.selected_item
    marks["selected item"] = _items(frame, [i], titles)
    marks["neighbours"] = _items(frame, list(state.neighbour_items), titles)
    marks["sandbox top-k"] = _items(frame, list(state.sandbox_items), titles)
    if sandbox_xy is not None:
        marks["new user (sandbox)"] = (
            np.asarray(sandbox_xy[:, 0], np.float32),
            np.asarray(sandbox_xy[:, 1], np.float32),
            ["new user (sandbox)"] * len(sandbox_xy),
        )
    return marks
