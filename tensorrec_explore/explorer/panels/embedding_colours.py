"""Colours and sizes of the embedding map's points, and the legend of a categorical colouring."""

from __future__ import annotations

import html
from typing import Any

import numpy as np
import pandas as pd

PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
    "#393b79",
    "#ad494a",
    "#637939",
    "#843c39",
)


def _f32(values) -> np.ndarray:
    return np.asarray(values, dtype=np.float32)


def colour_values(values: Any) -> tuple[Any, bool, list[str]]:
    """Marker colours for a metadata column: (colours, continuous?, text per point)."""
    series = pd.Series(values)
    if pd.api.types.is_numeric_dtype(series) and series.nunique() > 12:
        return _f32(series.to_numpy(dtype=np.float64)), True, [f"{v:.4g}" for v in series]
    codes, _ = pd.factorize(series.astype(str), sort=True)
    colours = [PALETTE[c % len(PALETTE)] if c >= 0 else "#cccccc" for c in codes]
    return colours, False, [str(v) for v in series.astype(str)]


def legend_html(
    title: str, values: Any, colours: Any, symbol: str, limit: int = len(PALETTE)
) -> str:
    """A legend line for a categorical colouring: each value's colour chip and name."""
    seen: dict[str, str] = {}
    for value, colour in zip(values, colours, strict=True):
        seen.setdefault(str(value), colour)
    shape = "50%" if symbol == "circle" else "2px"
    chips = [
        f"<span style='white-space:nowrap;margin-right:10px'><span style='display:"
        f"inline-block;width:10px;height:10px;border-radius:{shape};background:{colour};"
        f"margin-right:3px'></span>{html.escape(value)}</span>"
        for value, colour in sorted(seen.items())[:limit]
    ]
    more = f" +{len(seen) - limit} more" if len(seen) > limit else ""
    return f"<div style='font-size:12px'><b>{html.escape(title)}</b>: {''.join(chips)}{more}</div>"


def marker_sizes(counts: np.ndarray, lo: float = 3.0, hi: float = 14.0) -> np.ndarray:
    counts = np.asarray(counts, dtype=np.float64)
    top = counts.max() if counts.size and counts.max() > 0 else 1.0
    return _f32(lo + (hi - lo) * np.sqrt(counts / top))


def category_labels(
    points: np.ndarray, values: Any, min_share: float = 0.02, limit: int = 20
) -> list[tuple[Any, float, float]]:
    """``(category, x, y)`` at the median position of each category's points, for categories
    holding at least ``min_share`` of the points (at most ``limit``, largest first); none for a
    numeric column with many values (a colour bar says more there)."""
    series = pd.Series(values)
    if pd.api.types.is_numeric_dtype(series) and series.nunique() > 12:
        return []
    counts = series.astype(str).value_counts()
    keep = counts[counts >= max(1, min_share * len(series))].index[:limit]
    labels = []
    names = series.astype(str).to_numpy()
    for name in keep:
        x, y = np.median(points[names == name], axis=0)
        labels.append((name, float(x), float(y)))
    return labels
