"""Features LightFM cannot use: cold-start items whose appeal is a non-linear function of features.

    python benchmarks/nonlinear_features.py                 # seeds 0,1,2; markdown table
    python benchmarks/nonlinear_features.py --seeds 0 --json nonlinear.json

Data: ``tensorrec_explore.data.make_synthetic(flavour="nonlinear")`` — item features are random
bits and an item's taste cluster code is the XOR of bit pairs, so no linear map of the features
expresses it. Split: ``cold_start_items`` (20% of items lose every interaction). Every model is
trained on the warm items and ranks the cold items from their features alone (no identity
column for items; users are warm and enter by identity). Metrics are BENCHMARK.md's, over the
cold items only (users with at least one cold test positive).

Models: TensorRec with ``item_representation="relu"`` (deep; softmax, or ``-bpr`` / ``-wmrb``)
and ``"linear"``, LightFM-WARP with
the same item features, plus two references: the true planted affinity (an upper bound: the
item popularity noise is not knowable from features) and random scores.
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
from _threads import thread_env  # no numpy: the thread limits are set before numpy loads

MODELS = (
    "tensorrec-relu",
    "tensorrec-relu-bpr",
    "tensorrec-relu-wmrb",
    "tensorrec-linear",
    "lightfm-warp",
    "oracle",
    "random",
)


def _args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", default="0,1,2", help="data seeds (model seed = 42 throughout)")
    p.add_argument("--models", default=",".join(MODELS))
    p.add_argument("--n-users", type=int, default=1000)
    p.add_argument("--n-items", type=int, default=1000)
    p.add_argument("--cold-fraction", type=float, default=0.2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", type=Path, default=None)
    return p.parse_args(argv)


ARGS = _args() if __name__ == "__main__" else None
if ARGS is not None:
    os.environ.update(thread_env(ARGS.threads, os.environ))

import numpy as np
import scipy.sparse as sp

import _protocol


def _tensorrec_scores(train, item_x, name, threads):
    """``name``: ``representation`` or ``representation-loss`` (the loss defaults to softmax)."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    from tensorrec_explore import TensorRec

    representation, _, loss = name.partition("-")
    model = TensorRec(
        n_components=64, item_representation=representation, loss=loss or "softmax", random_state=42
    )
    t0 = time.perf_counter()
    model.fit(train, item_features=item_x)
    fit_s = time.perf_counter() - t0
    return np.asarray(model.predict(item_features=item_x)), fit_s


def _lightfm_scores(train, item_x, threads):
    from lightfm import LightFM

    model = LightFM(no_components=64, learning_rate=0.05, loss="warp", random_state=42)
    t0 = time.perf_counter()
    model.fit(train.tocoo(), item_features=item_x, epochs=30, num_threads=threads)
    fit_s = time.perf_counter() - t0
    n_users, n_items = train.shape
    uids = np.repeat(np.arange(n_users, dtype=np.int32), n_items)
    iids = np.tile(np.arange(n_items, dtype=np.int32), n_users)
    scores = model.predict(uids, iids, item_features=item_x, num_threads=threads)
    return scores.reshape(n_users, n_items), fit_s


def run_seed(seed: int, models: list[str], args) -> list[dict]:
    from tensorrec_explore.data import cold_start_items, make_synthetic

    ds = make_synthetic(flavour="nonlinear", seed=seed, n_users=args.n_users, n_items=args.n_items)
    split = cold_start_items(ds.interactions, fraction=args.cold_fraction, seed=42)
    train, test, cold = split.train, split.test, split.cold_items
    item_x = sp.csr_matrix(ds.features("item", mode="features"), dtype=np.float32)
    assert np.asarray(train[:, cold].sum()) == 0  # the split's promise, not user input
    rows = []
    for name in models:
        fit_s = None
        if name.startswith("tensorrec-"):
            try:
                scores, fit_s = _tensorrec_scores(
                    train, item_x, name.split("-", 1)[1], args.threads
                )
            except ImportError as e:
                rows.append({"model": name, "seed": seed, "error": f"{type(e).__name__}: {e}"})
                continue
        elif name == "lightfm-warp":
            scores, fit_s = _lightfm_scores(train, item_x, args.threads)
        elif name == "oracle":
            scores = ds.truth.affinity
        elif name == "random":
            scores = np.random.default_rng(seed).random(train.shape)
        else:
            raise SystemExit(f"model={name!r}: expected one of {MODELS}")
        cold_scores = np.ascontiguousarray(np.asarray(scores)[:, cold], dtype=np.float32)
        summary, _ = _protocol.evaluate(cold_scores, test[:, cold], train[:, cold], k=10)
        rows.append(
            {
                "model": name,
                "seed": seed,
                "n_cold_items": len(cold),
                "n_users_evaluated": summary["n_users_evaluated"],
                "ndcg@10": summary["ndcg@10"],
                "auc": summary["auc"],
                "precision@10": summary["precision@10"],
                "fit_seconds": None if fit_s is None else round(fit_s, 3),
            }
        )
        print(
            f"[nonlinear] seed {seed} {name}: ndcg@10={summary['ndcg@10']:.4f} "
            f"auc={summary['auc']:.4f}",
            file=sys.stderr,
            flush=True,
        )
    return rows


def main(args) -> int:
    seeds = [int(s) for s in args.seeds.split(",")]
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    rows = [r for seed in seeds for r in run_seed(seed, models, args)]
    print(
        f"Cold-start items on make_synthetic('nonlinear', n_users={args.n_users}, "
        f"n_items={args.n_items}), {int(args.cold_fraction * 100)}% cold items, "
        f"seeds {args.seeds}; mean (min..max) over seeds\n"
    )
    print(
        "| model | NDCG@10 (cold items) | AUC (cold items) | P@10 | fit s |\n"
        "|---|---:|---:|---:|---:|"
    )
    for name in models:
        ok = [r for r in rows if r["model"] == name and "error" not in r]
        if not ok:
            err = next((r["error"] for r in rows if r["model"] == name), "no result")
            print(f"| {name} | error: {err[:70]} | | | |")
            continue

        def cell(key, nd=3, ok=ok):
            v = np.array([r[key] for r in ok], dtype=float)
            return f"{v.mean():.{nd}f} ({v.min():.{nd}f}..{v.max():.{nd}f})"

        fit = [r["fit_seconds"] for r in ok if r["fit_seconds"] is not None]
        print(
            f"| {name} | {cell('ndcg@10')} | {cell('auc')} | {cell('precision@10')} | "
            f"{np.mean(fit):.2f} |"
            if fit
            else f"| {name} | {cell('ndcg@10')} | {cell('auc')} | {cell('precision@10')} | — |"
        )
    if args.json:
        from compare import machine_info, versions

        args.json.write_text(
            json.dumps(
                {
                    "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "machine": machine_info(),
                    "versions": versions(),
                    "settings": vars(args) | {"json": str(args.json)},
                    "results": rows,
                },
                indent=2,
            )
        )
    return 1 if any("error" in r for r in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main(ARGS))
