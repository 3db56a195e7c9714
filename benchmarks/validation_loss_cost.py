"""What the validation loss (``val_loss``) costs per validation epoch, beside an epoch and the
validation metrics, on ml-100k.

    python benchmarks/validation_loss_cost.py [--losses softmax bpr warp] [--repeats 3]

Per loss, in this process (two threads): a model with its default recipe trained 2 epochs, then
the seconds of one more epoch (``fit_partial``), of :func:`tensorrec_explore.validation_loss.
validation_loss` (median of ``--repeats`` calls after a first one) and of
:func:`tensorrec_explore.metrics.evaluate` at k=10 (what ``ValidationMetrics`` already ran on
the same epochs). The split is BENCHMARK.md's per-user random holdout (20 %, seed 42). The
machine's 1-minute load is printed with every row: compare the columns of one row, not rows of
different runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from _threads import thread_env

os.environ.update(thread_env(2, os.environ))

from tensorrec_explore import TensorRec
from tensorrec_explore.data import load_movielens
from tensorrec_explore.data.splits import random_holdout
from tensorrec_explore.metrics import evaluate
from tensorrec_explore.validation_loss import validation_loss


def _seconds(call) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--losses", nargs="+", default=["softmax", "bpr", "warp", "wmrb", "rmse"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    args = parser.parse_args()
    split = random_holdout(load_movielens("ml-100k", path=args.data), 0.2, seed=42)
    print("| loss | epoch s | val_loss s | metrics@10 s | val_loss / epoch | 1-min load |")
    print("|---|---|---|---|---|---|")
    for loss in args.losses:
        model = TensorRec(loss=loss, random_state=0, epochs=2).fit(split.train)
        epoch = _seconds(lambda m=model: m.fit_partial(split.train, epochs=1))
        validation_loss(model, split.test)  # the first call builds the held-out tables
        val = statistics.median(
            _seconds(lambda m=model: validation_loss(m, split.test)) for _ in range(args.repeats)
        )
        metrics = _seconds(
            lambda m=model: evaluate(m, split.test, train=m.train_interactions_, k=10)
        )
        print(
            f"| {loss} | {epoch:.3f} | {val:.3f} | {metrics:.3f} | {val / epoch:.2f} "
            f"| {os.getloadavg()[0]:.1f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
