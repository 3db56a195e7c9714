"""The same training code on one CPU, on several GPUs, and on a cluster: only the strategy and
the input change.

    python examples/distributed.py                          # one device, in-memory matrix
    python examples/distributed.py --logical-cpus 2         # MirroredStrategy over 2 CPU devices
    python examples/distributed.py --gpus                   # MirroredStrategy over every local GPU
    python examples/distributed.py --files /tmp/shards      # streamed from TFRecord shards
    # a cluster: the same command on every machine, each with its own TF_CONFIG, e.g.
    TF_CONFIG='{"cluster": {"worker": ["host1:12345", "host2:12345"]},
                "task": {"type": "worker", "index": 0}}' \
        python examples/distributed.py --cluster --files /shared/shards
"""

from __future__ import annotations

import argparse
import json
import os

import numpy as np


def make_strategy(args: argparse.Namespace):
    """Pick the tf.distribute strategy: the only thing that changes between machines."""
    import tensorflow as tf

    if args.cluster:  # reads TF_CONFIG; create it before anything else touches TensorFlow
        return tf.distribute.MultiWorkerMirroredStrategy()
    if args.logical_cpus > 1:  # e.g. to try MirroredStrategy on a laptop
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * args.logical_cpus
        )
        return tf.distribute.MirroredStrategy([f"/cpu:{i}" for i in range(args.logical_cpus)])
    if args.gpus:
        return tf.distribute.MirroredStrategy()  # every visible GPU
    return None  # one device


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logical-cpus", type=int, default=1)
    parser.add_argument("--gpus", action="store_true")
    parser.add_argument("--cluster", action="store_true")
    parser.add_argument("--files", default=None, help="folder of shards (written if missing)")
    args = parser.parse_args()
    strategy = make_strategy(args)

    from tensorrec_explore import TensorRec
    from tensorrec_explore.data import make_synthetic, random_holdout
    from tensorrec_explore.metrics import evaluate
    from tensorrec_explore.streaming import (
        interaction_files_dataset,
        read_shard_info,
        write_interaction_shards,
    )

    # The model: identical everywhere. A sampled loss, so no step needs the whole catalogue;
    # random_state is required with several workers (they must draw the same batches).
    model = TensorRec(
        n_components=32,
        loss="wmrb",
        n_sampled_items=256,
        batch_size=4096,
        epochs=20,
        random_state=0,
        distribute=strategy,
    )

    split = random_holdout(make_synthetic(seed=0).interactions, seed=42)
    if args.files is None:  # the input, case 1: a matrix in memory
        model.fit(split.train)
    else:  # case 2: files too large for memory (here written from the demo data if missing)
        if not os.path.exists(os.path.join(args.files, "interactions.json")):
            write_interaction_shards(split.train, args.files, n_shards=8)
        info = read_shard_info(args.files)
        model.fit_stream(
            interaction_files_dataset(args.files, seed=0, blocks=True),
            info["n_users"],
            info["n_items"],
        )

    task = json.loads(os.environ.get("TF_CONFIG", "{}")).get("task", {})
    if task.get("index", 0) == 0:  # the chief reports; every worker holds the same model
        report = evaluate(model, split.test, train=split.train, k=10).summary
        replicas = strategy.num_replicas_in_sync if strategy else 1
        print(
            f"replicas={replicas} loss={model.history_.logs[-1]['loss']:.4f} "
            f"precision@10={report['precision@10']:.4f} ndcg@10={report['ndcg@10']:.4f}"
        )
        top, _ = model.recommend(np.arange(3), k=5, exclude=split.train)
        print("top-5 for users 0-2:", top.tolist())


if __name__ == "__main__":
    main()
