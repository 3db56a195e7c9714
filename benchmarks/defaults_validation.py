"""Choose the default model's settings on validation splits of *train*, never on test.

    python benchmarks/defaults_validation.py --dataset ml-100k \
        --candidate 'base={}' --candidate 'd128={"n_components": 128}' --json out.json

For each dataset: BENCHMARK.md's split (seed 42) gives train; the same split of train with
seed 43 gives (inner, validation). Each candidate is ``TensorRec(random_state=42, **params)``
fitted on inner and scored by NDCG@10 on validation (inner's likes excluded), and, for the
EASE reference, EASE at the L2 that compare.py would choose. Candidates run one after another
in this process (TensorFlow imported once); fit seconds are wall time of ``fit``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _protocol


def validation_split(dataset: str, data_dir: Path, seed: int = 42):
    """Return (inner, validation): BENCHMARK.md's split of the dataset's train split."""
    positives, _ = _protocol.load_positives(dataset, data_dir)
    train, _, _ = _protocol.split(positives, seed=seed)
    inner, validation, _ = _protocol.split(train, seed=seed + 1)
    return inner, validation


def score_candidate(params: dict, inner, validation, seed: int = 42) -> dict:
    """Fit ``TensorRec(random_state=seed, **params)`` on inner; return validation metrics.

    A key ``"@module.NAME"`` sets that constant of ``tensorrec_explore.module`` for this fit
    (e.g. ``"@defaults.DENSE_L2_SCALE": 0.1``), so a candidate default can be tried unchanged.
    """
    import importlib

    from tensorrec_explore import TensorRec

    constants = {k[1:]: params.pop(k) for k in list(params) if k.startswith("@")}
    saved = {}
    for name, value in constants.items():
        module_name, _, attribute = name.rpartition(".")
        module = importlib.import_module(f"tensorrec_explore.{module_name}")
        saved[name] = (module, attribute, getattr(module, attribute))
        setattr(module, attribute, value)
    try:
        return _fit_and_score(TensorRec(random_state=seed, **params), inner, validation)
    finally:
        for module, attribute, value in saved.values():
            setattr(module, attribute, value)


def _fit_and_score(model, inner, validation) -> dict:
    started = time.perf_counter()
    model.fit(inner)
    fit_s = time.perf_counter() - started
    metrics, _ = _protocol.evaluate(model, validation, inner, k=10)
    return {
        "ndcg@10": round(metrics["ndcg@10"], 4),
        "auc": round(metrics["auc"], 4),
        "fit_seconds": round(fit_s, 2),
        "l2": getattr(model, "l2_", None),
    }


def score_ease(inner, validation, grid=(100.0, 300.0, 1000.0, 3000.0)) -> dict:
    """EASE's best validation NDCG@10 over ``grid`` (its own L2 picked on this split)."""
    import numpy as np

    best = {}
    for l2 in grid:
        scores = np.asarray(inner @ _protocol.ease_weights(inner, l2))
        best[l2] = _protocol.evaluate(scores, validation, inner, k=10)[0]["ndcg@10"]
    l2 = max(best, key=best.get)
    return {"ndcg@10": round(best[l2], 4), "l2": l2}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", action="append", required=True)
    p.add_argument("--candidate", action="append", default=[], help="NAME=JSON params")
    p.add_argument("--ease", action="store_true", help="also score EASE on the same split")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--data-dir", type=Path, default=None)
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    data_dir = args.data_dir or _protocol.default_data_dir()
    rows = []
    for dataset in args.dataset:
        inner, validation = validation_split(dataset, data_dir)
        if args.ease:
            rows.append({"dataset": dataset, "name": "ease", **score_ease(inner, validation)})
            print(json.dumps(rows[-1]), flush=True)
        for spec in args.candidate:
            name, _, params = spec.partition("=")
            result = score_candidate(json.loads(params or "{}"), inner, validation)
            rows.append({"dataset": dataset, "name": name, "params": params, **result})
            rows[-1]["load"] = round(os.getloadavg()[0], 1)
            print(json.dumps(rows[-1]), flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
