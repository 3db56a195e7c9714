"""Measure the explorer on MovieLens 100k.

Not a test: run ``python tests/explorer/measure_explorer.py``.

Prints: time from Train click to the first curve point (cold: first run in the process, with
the TensorFlow import; warm: a later run), epochs/s of a headless ``fit`` vs the same fit driven
by the explorer (same settings, validation every epoch, snapshots, throttled pushes, PCA of every
snapshot), and projection times (PCA; UMAP cold, warm, and warm from the previous layout) for the
ml-100k users and items.
"""

from __future__ import annotations

import json
import os
import sys
import time

import numpy as np

ML = os.environ.get("TENSORREC_EXPLORE_DATA", "/work/shared/data")
CONFIG = {
    "n_components": 32,
    "loss": "softmax",
    "learning_rate": 0.05,
    "l2": 1e-5,
    "random_state": 0,
}
EPOCHS = int(os.environ.get("MEASURE_EPOCHS", "30"))


def headless(split, epochs: int) -> float:
    from tensorrec_explore import TensorRec
    from tensorrec_explore.callbacks import ValidationMetrics

    model = TensorRec(epochs=epochs, **CONFIG)
    t0 = time.perf_counter()
    model.fit(split["train"], epochs=epochs, validation=ValidationMetrics(split["test"], k=10))
    return epochs / (time.perf_counter() - t0)


def main() -> None:
    from tensorrec_explore.data import load_movielens
    from tensorrec_explore.explorer import Explorer
    from tensorrec_explore.explorer.datasets import prepare

    results: dict = {}
    ds = load_movielens("100k", path=os.path.join(ML, "ml-100k")).to_implicit(4)
    ex = Explorer(ds, warm_umap=False, epochs=3, **CONFIG)
    ex.panels.curves.train_button.click()  # cold: TensorFlow import, graph tracing
    ex.controller.join()
    results["click_to_first_point_cold_s"] = ex.controller.timings["first_point"]
    ex.panels.curves.train_button.click()
    ex.controller.join()
    results["click_to_first_point_warm_s"] = ex.controller.timings["first_point"]
    ex.projector.wait_idle()

    split = prepare(ds, split="random_holdout", user_feature_set="ids", item_feature_set="ids")
    headless(split, 2)  # warm tracing for this shape
    speeds = {"headless": [], "explorer": []}
    for _ in range(int(os.environ.get("MEASURE_REPEATS", "3"))):  # interleaved: load drifts
        speeds["headless"].append(headless(split, EPOCHS))
        ex.panels.config.epochs.value = EPOCHS
        ex.panels.curves.train_button.click()
        ex.controller.join()
        ex.projector.wait_idle()
        speeds["explorer"].append(EPOCHS / ex.controller.timings["fit_seconds"])
    results["epochs_per_s_headless"] = speeds["headless"]
    results["epochs_per_s_explorer"] = speeds["explorer"]
    results["explorer_vs_headless_median"] = float(
        np.median(speeds["explorer"]) / np.median(speeds["headless"])
    )
    results["snapshots_per_run"] = len(ex.state.snapshots)

    from tensorrec_explore.explorer.projector import stack
    from tensorrec_explore.projection import align, pca_2d, umap_2d

    X, n_users = stack(ex.state.snapshots[-1])
    previous, _ = stack(ex.state.snapshots[-2])
    results["points"] = {"users": n_users, "items": len(X) - n_users}
    for name, rows in (("items", X[n_users:]), ("users", X[:n_users]), ("joint", X)):
        t0 = time.perf_counter()
        pca_2d(rows)
        results[f"pca_{name}_s"] = time.perf_counter() - t0
    if os.environ.get("MEASURE_UMAP", "1") == "0":
        json.dump(results, sys.stdout, indent=2)
        print()
        ex.close()
        return
    t0 = time.perf_counter()
    import umap  # noqa: F401

    results["umap_import_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    Y0 = umap_2d(previous)
    results["umap_cold_joint_s"] = time.perf_counter() - t0
    for name, rows in (("items", X[n_users:]), ("users", X[:n_users]), ("joint", X)):
        t0 = time.perf_counter()
        umap_2d(rows)
        results[f"umap_warm_{name}_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    align(umap_2d(X, init=Y0), Y0)
    results["umap_warm_joint_from_previous_layout_s"] = time.perf_counter() - t0
    json.dump(results, sys.stdout, indent=2)
    print()
    ex.close()


if __name__ == "__main__":
    main()
