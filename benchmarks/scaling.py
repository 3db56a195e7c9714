"""Scaling curve: fit seconds per epoch and top-10 scoring seconds against the number of
interactions.

    python benchmarks/scaling.py                       # 1e4, 3e4, 1e5, 3e5, 1e6 interactions
    python benchmarks/scaling.py --sizes 10000,100000 --models tensorrec,lightfm-warp --json s.json
    python benchmarks/scaling.py --sizes 1e7:1e5 --models tensorrec,tensorrec-bpr  # 10^5 items

Synthetic implicit data (low-rank taste + popularity skew, ~40 interactions per user, items ~ 3
sqrt(n_interactions), or as given by ``--sizes n:items``). ``tensorrec`` is the model at its
defaults; ``tensorrec-bpr`` / ``tensorrec-warp`` change only the loss. Every (size, model) point
runs in its own subprocess with the same thread count, like compare.py, so peak memory belongs to
that point alone. Per-epoch time excludes the first epoch (graph tracing, warm-up), which is
reported separately.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
MODELS = ("tensorrec", "tensorrec-bpr", "tensorrec-warp", "lightfm-warp", "implicit-als")


#: Above this many users x items the generator samples each user's likes among
#: :data:`CANDIDATES_PER_LIKE` x likes uniform candidates instead of the whole catalogue (a
#: Gumbel top-k over 250,000 x 100,000 logits alone would take tens of minutes).
FULL_CATALOGUE_LOGITS = 1 << 30
CANDIDATES_PER_LIKE = 20


def synthetic_interactions(n_interactions: int, seed: int = 0, n_items: int | None = None):
    """CSR (n_users, n_items) 0/1 with exactly ``n_interactions`` positives, ~40 per user;
    ``n_items`` None = ``3 sqrt(n_interactions)``.

    Each user's likes are a Gumbel top-k (sampling without replacement) of low-rank taste plus
    a Zipf popularity, over the whole catalogue up to :data:`FULL_CATALOGUE_LOGITS` users x
    items, above it over :data:`CANDIDATES_PER_LIKE` uniform candidates per like.
    """
    import numpy as np
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    per_user = 40
    n_users = max(50, n_interactions // per_user)
    n_items = n_items or max(100, int(3 * np.sqrt(n_interactions)))
    counts = np.full(n_users, n_interactions // n_users)
    counts[: n_interactions - counts.sum()] += 1
    rank = 16
    u = rng.normal(size=(n_users, rank)).astype(np.float32)
    v = rng.normal(size=(n_items, rank)).astype(np.float32) / np.sqrt(rank)
    pop = np.log(1.0 / np.arange(1, n_items + 1) ** 0.8).astype(np.float32)
    rng.shuffle(pop)
    full = n_users * n_items <= FULL_CATALOGUE_LOGITS
    n_candidates = min(n_items, CANDIDATES_PER_LIKE * int(counts.max()))
    rows, cols = [], []
    for start in range(0, n_users, 2048):
        stop = min(n_users, start + 2048)
        if full:
            candidates = np.broadcast_to(np.arange(n_items), (stop - start, n_items))
            logits = 2.0 * u[start:stop] @ v.T + pop
        else:
            candidates = np.sort(rng.integers(0, n_items, (stop - start, n_candidates)), axis=1)
            logits = 2.0 * np.einsum("ur,ucr->uc", u[start:stop], v[candidates]) + pop[candidates]
            logits[:, 1:][candidates[:, 1:] == candidates[:, :-1]] = -np.inf  # repeats
        logits += rng.gumbel(size=logits.shape).astype(np.float32)  # Gumbel top-k = sampling
        order = np.argsort(-logits, axis=1)  # without replacement
        for r in range(stop - start):
            c = candidates[r, order[r, : counts[start + r]]]
            rows.append(np.full(len(c), start + r))
            cols.append(c)
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    m = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(n_users, n_items))
    m.sort_indices()
    return m


def cached_interactions(n_interactions: int, n_items: int | None, folder: Path):
    """Return :func:`synthetic_interactions` ``(n, seed 0, n_items)``, generated once per
    folder (``.npz``) so every point of a run loads the same data without regenerating it."""
    import scipy.sparse as sp

    path = folder / f"synthetic-{n_interactions}-{n_items or 'auto'}.npz"
    if not path.exists():
        matrix = synthetic_interactions(n_interactions, seed=0, n_items=n_items)
        temporary = path.with_name(path.stem + ".tmp.npz")
        sp.save_npz(temporary, matrix, compressed=False)
        temporary.rename(path)
    return sp.load_npz(path).tocsr()


# --------------------------------------------------------------------------- one point
def _peak_mb() -> float:
    sys.path.insert(0, str(HERE))
    from _protocol import peak_rss_mb

    return peak_rss_mb()


def _top10_masked(scores, train):
    import numpy as np

    r, c = train.nonzero()
    scores[r, c] = -np.inf
    part = np.argpartition(-scores, 10, axis=1)[:, :10]
    order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


#: LightFM's top-10 scores every user x item pair through ``predict`` (~1.5e7 pairs / s here):
#: above this many pairs it is timed on the first users' blocks and scaled to all users.
LIGHTFM_SCORED_PAIRS = 1 << 29


def run_point(
    model: str,
    n: int,
    epochs: int,
    seed: int,
    threads: int,
    n_items: int | None = None,
    data_dir: Path | None = None,
    score_users: int | None = None,
) -> dict:
    import numpy as np

    train = (
        synthetic_interactions(n, seed=0, n_items=n_items)
        if data_dir is None
        else cached_interactions(n, n_items, data_dir)
    )
    # Top-10 timed on the first ``score_users`` users and scaled to all (None: all users).
    users = np.arange(min(train.shape[0], score_users or train.shape[0]))
    scale = train.shape[0] / users.size
    out = {
        "model": model,
        "n_interactions": int(train.nnz),
        "n_users": int(train.shape[0]),
        "n_items": int(train.shape[1]),
        "epochs": epochs,
    }
    if model.startswith("tensorrec"):
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
        from tensorrec_explore import TensorRec

        loss = model.partition("-")[2] or "softmax"
        m = TensorRec(loss=loss, random_state=seed)  # the defaults (n_components among them)
        t0 = time.perf_counter()
        m.fit(train, epochs=epochs)
        fit_s = time.perf_counter() - t0
        secs = [lg.get("epoch_seconds") for lg in getattr(m.history_, "logs", [])]
        secs = [s for s in secs if s is not None]
        t0 = time.perf_counter()
        m.recommend(users, k=10, exclude=train)
        score_s = (time.perf_counter() - t0) * scale
    elif model == "lightfm-warp":
        from lightfm import LightFM

        m = LightFM(no_components=64, learning_rate=0.05, loss="warp", random_state=seed)
        coo = train.tocoo()
        secs = []
        t_all = time.perf_counter()
        for _ in range(epochs):
            t0 = time.perf_counter()
            m.fit_partial(coo, epochs=1, num_threads=threads)
            secs.append(time.perf_counter() - t0)
        fit_s = time.perf_counter() - t_all
        n_users, n_items = train.shape
        # Blocks of users so the score matrix never holds users x items (10^7 points: 2.5e10).
        block = max(1, (1 << 24) // n_items)
        scored = min(users.size, max(block, LIGHTFM_SCORED_PAIRS // n_items))
        out["scored_users"] = scored
        t0 = time.perf_counter()
        for start in range(0, scored, block):
            stop = min(scored, start + block)
            uids = np.repeat(np.arange(start, stop, dtype=np.int32), n_items)
            iids = np.tile(np.arange(n_items, dtype=np.int32), stop - start)
            scores = m.predict(uids, iids, num_threads=threads).reshape(stop - start, n_items)
            _top10_masked(scores, train[start:stop])
        score_s = (time.perf_counter() - t0) * n_users / scored
    elif model == "implicit-als":
        from implicit.cpu.als import AlternatingLeastSquares
        from threadpoolctl import threadpool_limits

        m = AlternatingLeastSquares(
            factors=64, iterations=epochs, num_threads=threads, random_state=seed
        )
        secs = []  # implicit 0.7's callback gets the seconds of that iteration
        t0 = time.perf_counter()
        with threadpool_limits(1, "blas"):
            m.fit(train, show_progress=False, callback=lambda it, elapsed, *a: secs.append(elapsed))
        fit_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        m.recommend(users, train[users], N=10, filter_already_liked_items=True)
        score_s = (time.perf_counter() - t0) * scale
    else:
        raise SystemExit(f"model={model!r}: expected one of {MODELS}")
    steady = secs[1:] if len(secs) > 1 else secs
    out.setdefault("scored_users", int(users.size))
    out.update(
        {
            "fit_seconds": round(fit_s, 4),
            "first_epoch_seconds": round(float(secs[0]), 4) if secs else None,
            "epoch_seconds": round(float(np.median(steady)), 4)
            if steady
            else round(fit_s / epochs, 4),
            "scoring_seconds": round(score_s, 4),
            "peak_mb": round(_peak_mb(), 1),
        }
    )
    return out


# --------------------------------------------------------------------------- driver
def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--sizes",
        default="10000,30000,100000,300000,1000000",
        help="comma list of N (interactions) or N:ITEMS; 1e7:1e5 works",
    )
    p.add_argument("--models", default=",".join(MODELS))
    p.add_argument(
        "--epochs", type=int, default=3, help="epochs per point (the first one is reported apart)"
    )
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--timeout", type=float, default=1800)
    p.add_argument("--json", type=Path, default=None)
    p.add_argument(
        "--nice",
        type=int,
        default=None,
        help="priority of the point processes (see compare.py --nice)",
    )
    p.add_argument(
        "--plot",
        type=Path,
        default=None,
        help="write a PNG of seconds per epoch, top-10 seconds and peak MB here "
        "(needs matplotlib, see requirements.txt)",
    )
    p.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="folder where each size's data is generated once and reused by every point "
        "(default: a temporary folder removed at the end)",
    )
    p.add_argument(
        "--score-users",
        type=int,
        default=None,
        help="time every model's top-10 on the first N users and scale it to all users "
        "(default: all users; LightFM also at most 2^29 / items users)",
    )
    p.add_argument("--point", default=None, help=argparse.SUPPRESS)  # "model:n:items", internal
    args = p.parse_args(argv)

    if args.point:
        model, n, items = args.point.split(":")
        result = run_point(
            model,
            int(n),
            args.epochs,
            args.seed,
            args.threads,
            int(items) if items else None,
            args.data_dir,
            args.score_users,
        )
        sys.__stdout__.write(json.dumps(result) + "\n")
        return 0

    sys.path.insert(0, str(HERE))
    from _threads import thread_env

    env = thread_env(args.threads, os.environ, REPO)
    sizes = [
        (int(float(n)), int(float(items)) if items else None)
        for n, _, items in (s.partition(":") for s in args.sizes.split(","))
    ]
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    with tempfile.TemporaryDirectory(prefix="scaling-") as temporary:
        data_dir = args.data_dir or Path(temporary)
        data_dir.mkdir(parents=True, exist_ok=True)
        rows = _run_points(args, env, sizes, models, data_dir)
    _report(args, rows)
    return 1 if any("error" in r for r in rows) else 0


def _run_points(args, env, sizes, models, data_dir: Path) -> list[dict]:
    """Run every (size, model) point in its own process; return their results in order."""
    sys.path.insert(0, str(HERE))
    from compare import _priority

    rows = []
    for n, items in sizes:
        print(f"[scaling] data @ {n:,} ...", file=sys.stderr, flush=True)
        cached_interactions(n, items, data_dir)  # here, so no point's memory or time counts it
        for model in models:
            print(f"[scaling] {model} @ {n:,} ...", file=sys.stderr, flush=True)
            cmd = [
                sys.executable,
                __file__,
                "--point",
                f"{model}:{n}:{items or ''}",
                "--epochs",
                str(args.epochs),
                "--seed",
                str(args.seed),
                "--threads",
                str(args.threads),
                "--data-dir",
                str(data_dir),
            ]
            if args.score_users:
                cmd += ["--score-users", str(args.score_users)]
            try:
                proc = subprocess.run(
                    cmd,
                    check=False,
                    capture_output=True,
                    text=True,
                    env=env,
                    timeout=args.timeout,
                    preexec_fn=_priority(args.nice),
                )
            except subprocess.TimeoutExpired:
                rows.append({"model": model, "n_interactions": n, "error": "timeout"})
                continue
            lines = proc.stdout.strip().splitlines()
            if proc.returncode != 0 or not lines:
                err = (proc.stderr.strip().splitlines() or ["?"])[-1]
                rows.append({"model": model, "n_interactions": n, "error": err})
                print(f"[scaling]   FAILED: {err}", file=sys.stderr, flush=True)
                continue
            rows.append(json.loads(lines[-1]))
            print(f"[scaling]   {lines[-1]}", file=sys.stderr, flush=True)
    return rows


def _report(args, rows: list[dict]) -> None:
    """Print the table; write the JSON and the PNG when asked."""
    print(
        "| interactions | users x items | model | s / epoch | first epoch s | top-10 all users s "
        "| peak MB |\n|---:|---|---|---:|---:|---:|---:|"
    )
    for r in rows:
        if "error" in r:
            print(f"| {r['n_interactions']:,} | | {r['model']} | error: {r['error'][:60]} | | | |")
            continue
        print(
            f"| {r['n_interactions']:,} | {r['n_users']:,} x {r['n_items']:,} | {r['model']} | "
            f"{r['epoch_seconds']:.3f} | {r['first_epoch_seconds'] or 0:.3f} | "
            f"{r['scoring_seconds']:.3f} | {r['peak_mb']:.0f} |"
        )
    if args.json:
        sys.path.insert(0, str(HERE))
        from compare import machine_info, versions

        args.json.write_text(
            json.dumps(
                {
                    "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "threads": args.threads,
                    "machine": machine_info(),
                    "versions": versions(),
                    "results": rows,
                },
                indent=2,
            )
        )
    if args.plot:
        plot(rows, args.plot)


def plot(rows: list[dict], path: Path) -> None:
    """Three log-log panels against interactions: s / epoch, top-10 s, peak MB; one line a model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = [r for r in rows if "error" not in r]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    panels = (
        ("epoch_seconds", "seconds per epoch"),
        ("scoring_seconds", "top-10 of all users, s"),
        ("peak_mb", "peak memory, MB"),
    )
    for axis, (key, title) in zip(axes, panels, strict=False):
        for model in dict.fromkeys(r["model"] for r in ok):
            points = sorted((r["n_interactions"], r[key]) for r in ok if r["model"] == model)
            axis.plot(*zip(*points, strict=False), marker="o", label=model)
        axis.set(xscale="log", yscale="log", xlabel="interactions", title=title)
        axis.grid(True, which="both", alpha=0.3)
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    raise SystemExit(main())
