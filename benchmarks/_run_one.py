"""Run ONE model of the comparison in this process and print its figures as JSON on stdout.

Called by compare.py, one subprocess per model, so that peak memory (ru_maxrss) belongs to that
model alone. Usable by hand too:

    python benchmarks/_run_one.py lightfm-warp --dataset ml-100k --threads 2

Everything a library prints goes to stderr; stdout carries only the final JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys


def _parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "model",
        help="popularity | lightfm-warp | lightfm-bpr | lightfm-logistic | "
        "implicit-als | implicit-bpr | ease | tensorrec",
    )
    p.add_argument("--dataset", default="ml-100k")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument(
        "--tensorflow-intra-op-threads",
        type=int,
        default=None,
        help="TensorFlow's intra-op pool (default: --threads)",
    )
    p.add_argument(
        "--params",
        default="{}",
        help="JSON dict of constructor arguments overriding the reference "
        "configuration (variants such as 'implicit-als[reg10]')",
    )
    p.add_argument(
        "--check-identical",
        action="store_true",
        help="tensorrec: compare recommend()'s top-10 with ranking predict()'s scores",
    )
    p.add_argument(
        "--split",
        default=None,
        help="a .npz with train/test CSR parts written by compare.py (skips loading "
        "and splitting here, so peak memory is the model's, not the loader's)",
    )
    p.add_argument(
        "--profile", default=None, help="write a cProfile of the fit call to this path (.prof)"
    )
    return p.parse_args(argv)


ARGS = _parse()
# Thread settings must be in the environment before numpy / TensorFlow load their pools.
for _var in (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "TF_NUM_INTEROP_THREADS",
):
    os.environ[_var] = str(ARGS.threads)
os.environ["TF_NUM_INTRAOP_THREADS"] = str(ARGS.tensorflow_intra_op_threads or ARGS.threads)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# Keep stdout clean for the JSON result: anything written to fd 1 goes to stderr meanwhile.
_RESULT_FD = os.dup(1)
os.dup2(2, 1)
sys.stdout = sys.stderr

import resource
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _protocol

K = 10


def peak_mb() -> float:
    return _protocol.peak_rss_mb()


def top_k_masked(scores: np.ndarray, train: sp.csr_matrix, k: int = K) -> np.ndarray:
    """Mask train positives in place with -inf, then the k best per row (argpartition + sort)."""
    r, c = train.nonzero()
    scores[r, c] = -np.inf
    part = np.argpartition(-scores, k, axis=1)[:, :k]
    vals = np.take_along_axis(scores, part, axis=1)
    order = np.argsort(-vals, axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


CPU: dict[str, float] = {}  # process CPU seconds (all threads) of the timed regions


def _timed_fit(fit, profile_path):
    c0 = time.process_time()
    if profile_path:
        import cProfile

        prof = cProfile.Profile()
        t0, c0 = time.perf_counter(), time.process_time()
        prof.runcall(fit)
        seconds = time.perf_counter() - t0
        CPU["fit"] = time.process_time() - c0
        prof.dump_stats(profile_path)
        return seconds
    t0, c0 = time.perf_counter(), time.process_time()
    fit()
    seconds = time.perf_counter() - t0
    CPU["fit"] = time.process_time() - c0
    return seconds


# --------------------------------------------------------------------------- models
def run_popularity(train, args):
    state = {}

    def fit():
        state["counts"] = np.asarray(train.sum(axis=0)).ravel().astype(np.float32)

    fit_s = _timed_fit(fit, args.profile)
    t0, c0 = time.perf_counter(), time.process_time()
    scores = np.broadcast_to(state["counts"], train.shape).copy()
    top = top_k_masked(scores, train)
    score_s = time.perf_counter() - t0
    CPU["scoring"] = time.process_time() - c0
    return fit_s, score_s, top, np.broadcast_to(state["counts"], train.shape), {}


def run_lightfm(train, args, loss):
    from lightfm import LightFM

    settings = {
        "no_components": 64,
        "learning_rate": 0.05,
        "loss": loss,
        "random_state": args.seed,
    } | json.loads(args.params)
    model = LightFM(**settings)
    train_coo = train.tocoo()
    fit_s = _timed_fit(
        lambda: model.fit(train_coo, epochs=30, num_threads=args.threads), args.profile
    )
    n_users, n_items = train.shape
    uids = np.repeat(np.arange(n_users, dtype=np.int32), n_items)
    iids = np.tile(np.arange(n_items, dtype=np.int32), n_users)
    t0, c0 = time.perf_counter(), time.process_time()
    scores = model.predict(uids, iids, num_threads=args.threads).reshape(n_users, n_items)
    top = top_k_masked(scores, train)
    score_s = time.perf_counter() - t0
    CPU["scoring"] = time.process_time() - c0
    del uids, iids
    r, c = train.nonzero()
    scores[r, c] = model.predict(r.astype(np.int32), c.astype(np.int32), num_threads=args.threads)
    return fit_s, score_s, top, scores, {"epochs": 30, "params": json.loads(args.params)}


def run_implicit(train, args, kind):
    from threadpoolctl import threadpool_limits

    if kind == "als":
        from implicit.cpu.als import AlternatingLeastSquares

        model = AlternatingLeastSquares(
            **{
                "factors": 64,
                "iterations": 15,
                "num_threads": args.threads,
                "random_state": args.seed,
            }
            | json.loads(args.params)
        )
    else:
        from implicit.cpu.bpr import BayesianPersonalizedRanking

        model = BayesianPersonalizedRanking(
            **{"factors": 64, "num_threads": args.threads, "random_state": args.seed}
            | json.loads(args.params)
        )
    user_items = sp.csr_matrix(train, dtype=np.float32)

    # implicit parallelises with its own `num_threads` pool and asks for a single-threaded BLAS
    # underneath (its check_blas_config warning); we follow that recommendation.
    def fit():
        with threadpool_limits(1, "blas"):
            model.fit(user_items, show_progress=False)

    fit_s = _timed_fit(fit, args.profile)
    users = np.arange(train.shape[0])
    t0, c0 = time.perf_counter(), time.process_time()
    top, _ = model.recommend(users, user_items, N=K, filter_already_liked_items=True)
    score_s = time.perf_counter() - t0
    CPU["scoring"] = time.process_time() - c0
    scores = np.asarray(model.user_factors @ model.item_factors.T, dtype=np.float32)
    extra = {"iterations": int(model.iterations), "params": json.loads(args.params)}
    return fit_s, score_s, np.asarray(top), scores, extra


#: EASE's L2 candidates; the one with the best validation NDCG@10 is refitted on all of train.
EASE_L2_GRID = (10.0, 30.0, 100.0, 300.0, 1000.0, 3000.0)


def run_ease(train, args):
    """EASE with its L2 chosen on a validation split of train (BENCHMARK.md's split, seed + 1),
    never on test; fit seconds include that selection."""
    grid = json.loads(args.params).get("l2_grid", EASE_L2_GRID)
    state = {}

    def fit():
        inner, validation, _ = _protocol.split(train, seed=args.seed + 1)
        ndcg = {}
        for l2 in grid:
            scores = np.asarray(inner @ _protocol.ease_weights(inner, l2))
            ndcg[l2] = _protocol.evaluate(scores, validation, inner, k=K)[0]["ndcg@10"]
        state["l2"] = max(ndcg, key=ndcg.get)
        state["validation_ndcg"] = {str(k): round(v, 4) for k, v in ndcg.items()}
        state["weights"] = _protocol.ease_weights(train, state["l2"])

    fit_s = _timed_fit(fit, args.profile)
    t0, c0 = time.perf_counter(), time.process_time()
    scores = np.asarray(train @ state["weights"])
    top = top_k_masked(scores.copy(), train)
    score_s = time.perf_counter() - t0
    CPU["scoring"] = time.process_time() - c0
    return (
        fit_s,
        score_s,
        top,
        scores,
        {"l2": state["l2"], "validation_ndcg": state["validation_ndcg"]},
    )


def run_tensorrec(train, test, args):
    t0, c0 = time.perf_counter(), time.process_time()
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(
        args.tensorflow_intra_op_threads or args.threads
    )
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    from tensorrec_explore import TensorRec

    import_s = time.perf_counter() - t0
    params = json.loads(args.params)
    # The package's own defaults (n_components among them); a variant's params override any.
    model = TensorRec(**({"random_state": args.seed} | params))
    fit_s = _timed_fit(lambda: model.fit(train), args.profile)
    users = np.arange(train.shape[0])
    t0, c0 = time.perf_counter(), time.process_time()
    top, _ = model.recommend(users, k=K, exclude=train)
    score_s = time.perf_counter() - t0
    CPU["scoring"] = time.process_time() - c0
    extra = {"tensorflow_import_seconds": round(import_s, 3), "params": params}
    hist = getattr(model, "history_", None)
    logs = list(getattr(hist, "logs", []) or [])
    if logs:
        secs = [lg.get("epoch_seconds") for lg in logs if lg.get("epoch_seconds") is not None]
        extra["epochs_run"] = len(logs)
        if secs:
            extra["first_epoch_seconds"] = round(float(secs[0]), 4)
            extra["median_epoch_seconds"] = round(float(np.median(secs)), 4)
        extra["final_loss"] = logs[-1].get("loss")
    for name in (
        "n_components_",
        "epochs_",
        "learning_rate_",
        "learning_rate_schedule_",
        "loss",
        "batch_size",
        "l2_",
        "n_sampled_items",
    ):
        if hasattr(model, name):
            value = getattr(model, name)
            extra.setdefault("model_settings", {})[name] = (
                value if isinstance(value, (int, float, str, type(None))) else repr(value)
            )
    return fit_s, score_s, np.asarray(top), model, extra


# --------------------------------------------------------------------------- main
def main(args) -> dict:
    if args.split:
        train, test, loaded_by, split_by = _protocol.load_split(args.split)
    else:
        data_dir = Path(args.data_dir) if args.data_dir else _protocol.default_data_dir()
        positives, loaded_by = _protocol.load_positives(args.dataset, data_dir)
        train, test, split_by = _protocol.split(positives, seed=args.seed)
        del positives
    rss_data = peak_mb()
    load_at_start = os.getloadavg()[0]

    base = args.model.split("[", 1)[0]  # "implicit-als[reg10]" -> "implicit-als"
    if base == "popularity":
        fit_s, score_s, top, scorer, extra = run_popularity(train, args)
    elif base in ("lightfm-warp", "lightfm-bpr", "lightfm-logistic"):
        fit_s, score_s, top, scorer, extra = run_lightfm(train, args, base.split("-", 1)[1])
    elif base in ("implicit-als", "implicit-bpr"):
        fit_s, score_s, top, scorer, extra = run_implicit(train, args, base.split("-")[1])
    elif base == "ease":
        fit_s, score_s, top, scorer, extra = run_ease(train, args)
    elif base == "tensorrec":
        fit_s, score_s, top, scorer, extra = run_tensorrec(train, test, args)
    else:
        raise SystemExit(f"model={args.model!r}: unknown; see --help for the list")
    peak_after_scoring = peak_mb()

    metrics, metrics_by = _protocol.evaluate(scorer, test, train, k=K)

    # The timed top-10 must be the top-10 the metrics were computed from (ties aside).
    ref_scores = scorer if isinstance(scorer, np.ndarray) else None
    if ref_scores is None and args.check_identical:
        ref_scores = np.asarray(scorer.predict(), dtype=np.float32)
    if ref_scores is not None:
        ref_top, ref_vals = _protocol.top_k_from_scores(ref_scores, train, K)
        same_rows = np.all(np.sort(top, axis=1) == np.sort(ref_top, axis=1), axis=1)
        # rows that differ only by items tied at the 10th score are not real disagreements
        got_vals = np.take_along_axis(
            np.where(np.isfinite(ref_scores), ref_scores, -np.inf).astype(np.float64),
            np.asarray(top),
            axis=1,
        )
        tie_only = np.isclose(
            np.sort(got_vals, axis=1), np.sort(ref_vals, axis=1), rtol=1e-5, atol=1e-6
        ).all(axis=1)
        extra["top10_rows_identical_to_scores"] = float(same_rows.mean())
        extra["top10_rows_identical_up_to_ties"] = float((same_rows | tie_only).mean())
        if args.check_identical:
            extra["check_identical"] = bool(same_rows.all())

    return {
        "model": args.model,
        "dataset": args.dataset,
        "seed": args.seed,
        "threads": args.threads,
        "n_users": int(train.shape[0]),
        "n_items": int(train.shape[1]),
        "n_train": int(train.nnz),
        "n_test": int(test.nnz),
        "metrics": metrics,
        "fit_seconds": round(fit_s, 4),
        "scoring_seconds": round(score_s, 4),
        "fit_cpu_seconds": round(CPU.get("fit", float("nan")), 4),
        "scoring_cpu_seconds": round(CPU.get("scoring", float("nan")), 4),
        "peak_mb": round(peak_after_scoring, 1),
        "peak_mb_with_evaluation": round(peak_mb(), 1),
        "ru_maxrss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1),
        "rss_mb_after_data_load": round(rss_data, 1),
        "loadavg_1min_at_start": load_at_start,
        "data_loaded_by": loaded_by,
        "split_by": split_by,
        "metrics_by": metrics_by,
        "extra": extra,
    }


if __name__ == "__main__":
    result = main(ARGS)
    os.write(_RESULT_FD, (json.dumps(result) + "\n").encode())
