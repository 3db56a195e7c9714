"""Scaling run of the large-data paths: seconds per epoch and peak memory up to 10^7 interactions.

    python benchmarks/scale_distributed.py                                  # 1e5, 1e6, 1e7
    python benchmarks/scale_distributed.py --sizes 100000,1000000 --modes stream,memory \
        --replicas 1,2 --json benchmarks/results/scale_distributed.json

Synthetic implicit data written in chunks, never held whole by the generator: 50 likes per user
(n_users = n / 50), n_items = n / 100 (10^5 items at 10^7 interactions), 50 taste clusters (80%
of a user's likes in their cluster's items, the rest by global popularity). Modes:

* ``stream``: the interactions are written once as TFRecord shards, then
  ``TensorRec.fit_stream(interaction_files_dataset(folder), ...)`` trains from the files;
* ``blocks``: the same, reading blocks of records (``interaction_files_dataset(folder,
  blocks=True)``);
* ``read`` / ``read-blocks``: passes over those files cut into batches, without training (the
  input's own cost);
* ``memory``: the same records as a CSR matrix in memory, ``TensorRec.fit``.

Both use the WMRB loss (sampled: 512 items per step, no step touches the whole catalogue),
n_components=32, batch_size=8192. ``--replicas 2`` splits each step across two logical CPU devices
with ``MirroredStrategy`` (on a 2-core machine this measures the overhead, not a speed-up).
Every point runs in its own subprocess so its peak RSS belongs to it alone; the epoch time is
the mean of the epochs after the first (which includes tracing and, for files, warm caches).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PER_USER, ITEMS_PER = 50, 100
PARAMS = {
    "n_components": 32,
    "loss": "wmrb",
    "batch_size": 8192,
    "n_sampled_items": 512,
    "learning_rate": 0.01,
    "random_state": 0,
}


def sizes_for(n_interactions: int) -> tuple[int, int]:
    """Return (n_users, n_items) for ``n_interactions``."""
    return n_interactions // PER_USER, max(100, n_interactions // ITEMS_PER)


def chunks(n_interactions: int, seed: int = 0, users_per_chunk: int = 20_000):
    """Yield ``(users, items, values)`` chunks of the synthetic data (deterministic in ``seed``)."""
    import numpy as np

    n_users, n_items = sizes_for(n_interactions)
    clusters = 50
    block = max(1, n_items // clusters)
    rng = np.random.default_rng(seed)
    popularity = rng.permutation(n_items)
    for start in range(0, n_users, users_per_chunk):
        stop = min(n_users, start + users_per_chunk)
        users = np.repeat(np.arange(start, stop, dtype=np.int64), PER_USER)
        own = rng.random(users.size) < 0.8
        in_cluster = (users % clusters) * block + (block * rng.random(users.size) ** 2).astype(
            np.int64
        )
        global_pick = popularity[(n_items * rng.random(users.size) ** 3).astype(np.int64)]
        items = np.minimum(np.where(own, in_cluster, global_pick), n_items - 1)
        yield users, items, np.ones(users.size, np.float32)


def data_folder(root: Path, n_interactions: int) -> Path:
    """Write (once) and return the TFRecord shards of size ``n_interactions``."""
    from tensorrec_explore.streaming import write_interaction_shards

    folder = root / f"n{n_interactions}"
    if not (folder / "interactions.json").exists():
        n_users, n_items = sizes_for(n_interactions)
        started = time.perf_counter()
        write_interaction_shards(
            chunks(n_interactions), folder, 8, "tfrecord", n_users=n_users, n_items=n_items
        )
        print(
            f"wrote {n_interactions} interactions in {time.perf_counter() - started:.0f} s",
            file=sys.stderr,
        )
    return folder


def read_point(n_interactions: int, mode: str, epochs: int, root: Path) -> dict:
    """Time passes over the files cut into ``batch_size`` batches, without training: ``read``
    (one record per element, batched) or ``read-blocks`` (blocks, re-cut)."""
    import numpy as np

    from tensorrec_explore.streaming import _batches, interaction_files_dataset

    files = interaction_files_dataset(
        str(data_folder(root, n_interactions)), seed=0, blocks=mode == "read-blocks"
    )
    batches = _batches(files, PARAMS["batch_size"])  # as fit_stream cuts them
    n_users, n_items = sizes_for(n_interactions)
    times, records = [], 0
    for _ in range(epochs):
        started = time.perf_counter()
        records = sum(int(users.shape[0]) for users, _, _ in batches)
        times.append(time.perf_counter() - started)
    return {
        "n_interactions": n_interactions,
        "n_users": n_users,
        "n_items": n_items,
        "mode": mode,
        "replicas": 1,
        "epochs": epochs,
        "records_per_epoch": records,
        "first_epoch_s": times[0],
        "epoch_s": float(np.mean(times[1:])) if len(times) > 1 else times[0],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def run_point(
    n_interactions: int, mode: str, replicas: int, epochs: int, root: Path, defaults: bool = False
) -> dict:
    """Train one point in this process and return its measurements (``defaults``: the
    package's default model, only ``random_state`` set, instead of :data:`PARAMS`)."""
    if mode.startswith("read"):
        return read_point(n_interactions, mode, epochs, root)
    import tensorflow as tf

    if replicas > 1:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * replicas
        )
    import numpy as np
    import scipy.sparse as sp

    from tensorrec_explore import Callback, TensorRec
    from tensorrec_explore.streaming import interaction_files_dataset

    distribute = (
        tf.distribute.MirroredStrategy([f"/cpu:{i}" for i in range(replicas)])
        if replicas > 1
        else None
    )
    n_users, n_items = sizes_for(n_interactions)
    times: list[float] = []

    class Timer(Callback):
        def on_epoch_end(self, model, epoch, logs):
            times.append(logs["epoch_seconds"])
            print(
                f"  epoch {epoch}: {logs['epoch_seconds']:.1f} s loss {logs['loss']:.4f}",
                file=sys.stderr,
                flush=True,
            )

    params = {"random_state": PARAMS["random_state"]} if defaults else PARAMS
    model = TensorRec(**params, epochs=epochs, distribute=distribute)
    started = time.perf_counter()
    if mode in ("stream", "blocks"):
        folder = data_folder(root, n_interactions)
        files = interaction_files_dataset(str(folder), seed=0, blocks=mode == "blocks")
        model.fit_stream(files, n_users, n_items, callbacks=[Timer()])
    else:
        parts = list(chunks(n_interactions))
        rows, cols = (np.concatenate([p[i] for p in parts]) for i in (0, 1))
        del parts
        matrix = sp.csr_matrix(
            (np.ones(rows.size, np.float32), (rows, cols)), shape=(n_users, n_items)
        )
        matrix.data[:] = 1.0  # duplicates summed -> 1
        del rows, cols
        model.fit(matrix, callbacks=[Timer()])
    total = time.perf_counter() - started
    top, _ = model.recommend(np.arange(min(1000, n_users)), k=10)
    return {
        "n_interactions": n_interactions,
        "n_users": n_users,
        "n_items": n_items,
        "mode": mode,
        "model": "defaults" if defaults else "wmrb",
        "replicas": replicas,
        "epochs": epochs,
        "first_epoch_s": times[0],
        "epoch_s": float(np.mean(times[1:])) if len(times) > 1 else times[0],
        "fit_s": total,
        "final_loss": model.history_.logs[-1]["loss"],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "recommend_ok": bool(top.shape == (min(1000, n_users), 10)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000,10000000")
    parser.add_argument("--modes", default="stream,blocks,memory")
    parser.add_argument("--replicas", default="1")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--data", default="/tmp/tensorrec_scale_data", help="shard cache folder")
    parser.add_argument("--json", default=None, help="append results to this JSON file")
    parser.add_argument(
        "--defaults",
        action="store_true",
        help="train the package's default model (only random_state set) instead of the fixed "
        "WMRB settings; streams need more than 50,000 items for it (the sampled softmax)",
    )
    parser.add_argument(
        "--point", nargs=3, metavar=("SIZE", "MODE", "REPLICAS"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    root = Path(args.data)
    if args.point:
        size, mode, replicas = int(float(args.point[0])), args.point[1], int(args.point[2])
        point = run_point(size, mode, replicas, args.epochs, root, args.defaults)
        print(json.dumps(point))
        return
    results = []
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(REPO))
    print(
        f"{'interactions':>12} {'items':>7} {'mode':>6} {'rep':>3} {'epoch s':>8} "
        f"{'1st s':>7} {'peak MB':>8}",
        flush=True,
    )
    for size in (int(float(s)) for s in args.sizes.split(",")):
        for mode in args.modes.split(","):
            for replicas in (int(r) for r in args.replicas.split(",")):
                done = subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        "--point",
                        str(size),
                        mode,
                        str(replicas),
                        "--epochs",
                        str(args.epochs),
                        "--data",
                        str(root),
                        *(["--defaults"] if args.defaults else []),
                    ],
                    env=env,
                    stdout=subprocess.PIPE,
                    text=True,
                    check=False,
                )
                if done.returncode != 0:
                    print(
                        f"{size:>12} {mode:>6} {replicas:>3} failed (exit {done.returncode})",
                        flush=True,
                    )
                    continue
                point = json.loads(done.stdout.strip().splitlines()[-1])
                results.append(point)
                print(
                    f"{size:>12} {point['n_items']:>7} {mode:>6} {replicas:>3} "
                    f"{point['epoch_s']:>8.1f} {point['first_epoch_s']:>7.1f} "
                    f"{point['peak_rss_mb']:>8.0f}",
                    flush=True,
                )
    if args.json:
        path = Path(args.json)
        previous = json.loads(path.read_text()) if path.exists() else []
        path.write_text(json.dumps(previous + results, indent=2))


if __name__ == "__main__":
    main()
