"""The figures behind a few design choices of the explorer and the data layer.

    python benchmarks/explorer_design_figures.py [--repeats 3] [--skip-umap]

Each measurement runs in a fresh Python process (imports and compiled code are what is
measured), ``--repeats`` times; the median and the range are printed as a Markdown table, with
the machine's load. What is measured, and the choice it backs:

- **figure template**: five ``go.FigureWidget`` built with ``template="plotly_white"`` vs with
  ``explorer.panels.figure_style.light_layout()`` (why the explorer does not use the template);
- **jsonschema import**: ``import jsonschema`` as is vs through
  ``explorer.fast_imports.import_jsonschema_quickly`` (rfc3987-syntax hidden);
- **UMAP**: ``umap_runtime.import_umap()`` then ``projection.warm_up_umap()`` with an empty numba
  cache (``NUMBA_CACHE_DIR`` a new folder: a brand-new machine) and again with that cache filled
  (every later kernel);
- **PCA**: ``projection.pca_2d`` vs a thin SVD of the data, on ml-100k-sized points
  (943 + 1,682 rows x 64);
- **sandbox fold-in**: the inspector's sandbox (``explorer.analysis.sandbox``: ``fold_in`` +
  ``recommend``) for a new user with 10 likes, on a model fitted to the synthetic dataset; the
  first call in a process and a later one.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

FIGURES = """
import time
import plotly.graph_objects as go
from tensorrec_explore.explorer.panels.figure_style import light_layout
t0 = time.perf_counter()
for _ in range(5):
    go.FigureWidget(layout=go.Layout(template="plotly_white"))
t1 = time.perf_counter()
for _ in range(5):
    go.FigureWidget(layout=light_layout())
t2 = time.perf_counter()
print({"template_5": t1 - t0, "light_5": t2 - t1})
"""

JSONSCHEMA_PLAIN = """
import time
t0 = time.perf_counter()
import jsonschema
print({"jsonschema_plain": time.perf_counter() - t0})
"""

# fast_imports.py loaded by path: importing the explorer package would import plotly too
JSONSCHEMA_QUICK = """
import importlib.util, time
t0 = time.perf_counter()
spec = importlib.util.spec_from_file_location(
    "fast_imports", "tensorrec_explore/explorer/fast_imports.py"
)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
module.import_jsonschema_quickly()
print({"jsonschema_quick": time.perf_counter() - t0})
"""

UMAP = """
import time
t0 = time.perf_counter()
from tensorrec_explore.umap_runtime import import_umap
import_umap()
t1 = time.perf_counter()
from tensorrec_explore.projection import warm_up_umap
warm_up_umap(random_state=0)
t2 = time.perf_counter()
print({"umap_import": t1 - t0, "umap_warm_up": t2 - t1})
"""

PCA = """
import time
import numpy as np
from tensorrec_explore.projection import pca_2d
X = np.random.default_rng(0).standard_normal((943 + 1682, 64)).astype(np.float32)
pca_2d(X)
t0 = time.perf_counter()
pca_2d(X)
t1 = time.perf_counter()
np.linalg.svd(X - X.mean(axis=0), full_matrices=False)
t2 = time.perf_counter()
print({"pca_gram": t1 - t0, "pca_thin_svd": t2 - t1})
"""

SANDBOX = """
import time
import numpy as np
from tensorrec_explore import TensorRec
from tensorrec_explore.data import make_synthetic
from tensorrec_explore.explorer import analysis
data = make_synthetic()
model = TensorRec(n_components=16, random_state=0).fit(data.interactions)
liked = list(range(0, 400, 40))
titles = list(data.item_titles)
t0 = time.perf_counter()
analysis.sandbox(model, liked, [], data.n_items, 10, titles)
t1 = time.perf_counter()
analysis.sandbox(model, liked[:-1], [], data.n_items, 10, titles)
t2 = time.perf_counter()
print({"sandbox_first": t1 - t0, "sandbox_later": t2 - t1})
"""


def run(code: str, env: dict[str, str] | None = None) -> dict[str, float]:
    """Run ``code`` in a fresh interpreter; return the dict it prints on its last line."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})}
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=full_env,
        check=True,
        cwd=ROOT,
    )
    return json.loads(done.stdout.strip().splitlines()[-1].replace("'", '"'))


def collect(repeats: int, skip_umap: bool) -> dict[str, list[float]]:
    """Return every measurement's values over ``repeats`` fresh processes."""
    values: dict[str, list[float]] = {}

    def add(result: dict[str, float]) -> None:
        for key, value in result.items():
            values.setdefault(key, []).append(value)

    for _ in range(repeats):
        for code in (FIGURES, JSONSCHEMA_PLAIN, JSONSCHEMA_QUICK, PCA, SANDBOX):
            add(run(code))
        if not skip_umap:
            with tempfile.TemporaryDirectory() as cache:
                cold = run(UMAP, {"NUMBA_CACHE_DIR": cache})
                warm = run(UMAP, {"NUMBA_CACHE_DIR": cache})
            add({f"{key} (empty cache)": value for key, value in cold.items()})
            add({f"{key} (filled cache)": value for key, value in warm.items()})
    return values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-umap", action="store_true", help="skip the UMAP compile rows")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    values = collect(args.repeats, args.skip_umap)
    print(
        f"1-minute load {load_before:.1f} at start, {os.getloadavg()[0]:.1f} at end; "
        f"{os.cpu_count()} CPUs; median of {args.repeats} fresh processes, seconds\n"
    )
    print("| measurement | median | range |")
    print("|---|---:|---:|")
    for key, series in values.items():
        print(f"| {key} | {statistics.median(series):.3f} | {min(series):.3f}-{max(series):.3f} |")


if __name__ == "__main__":
    main()
