"""Where the explorer's deep toy spends its time: a ReLU item tower with bpr, make_synthetic().

    python benchmarks/deep_toy.py                       # 3 repeats, both paths, a table
    python benchmarks/deep_toy.py --repeats 5 --json benchmarks/results/deep-toy.json

Data: ``make_synthetic()`` (600 users x 400 items), the explorer's ``random_holdout`` split.
Issue 13's target: 40 epochs in <= 3 s. Two paths, each measured ``--repeats`` times (a fresh
model each time, as every Train click builds one), wall and CPU seconds with the 1-minute load:

* ``fit``: ``TensorRec(item_representation="relu", loss="bpr", random_state=r)`` at its
  defaults (64 components), parts timed one by one: building the state and the trainer, tracing
  the compiled epoch, its first call (graph optimisation), the median later epoch; then a whole
  ``fit`` (40 epochs) and its NDCG@10 / AUC on the held-out likes.
* ``explorer``: the explorer's own form (16 components, validation every epoch, automatic
  snapshots) with ``item_representation="relu"`` and ``loss="bpr"``, Train clicked headless:
  the fit's seconds, those spent in the explorer's callback (snapshots, pushes) and the cost of
  one epoch's validation (precision / recall / NDCG @10 and the validation loss).
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


def _args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--paths", default="fit,explorer")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", type=Path, default=None)
    return p.parse_args(argv)


class _Clock:
    """Wall and CPU seconds since the last :meth:`lap`."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def lap(self) -> tuple[float, float]:
        wall, cpu = time.perf_counter(), time.process_time()
        spent = (round(wall - self.wall, 4), round(cpu - self.cpu, 4))
        self.wall, self.cpu = wall, cpu
        return spent


def _load() -> float:
    return round(os.getloadavg()[0], 1)


def fit_parts(split: dict, seed: int) -> dict:
    """One model's fit parts (see the module doc)."""
    import numpy as np

    from tensorrec_explore import TensorRec, fitting
    from tensorrec_explore.metrics import evaluate

    train, test = split["train"], split["test"]
    model = TensorRec(item_representation="relu", loss="bpr", random_state=seed)
    clock = _Clock()
    state = fitting.start(model, train, None, None)
    trainer = state.trainer_for(model, train, None)
    row = {"build": clock.lap()}
    seed_tensor = trainer._epoch_seed(state.rng)
    trainer._epoch.get_concrete_function(seed_tensor)
    row["trace"] = clock.lap()
    trainer.run_epoch(state.rng)
    row["first_call"] = clock.lap()
    epochs = []
    for _ in range(10):
        trainer.run_epoch(state.rng)
        epochs.append(clock.lap())
    row["epoch"] = [float(np.median([e[i] for e in epochs])) for i in (0, 1)]
    model = TensorRec(item_representation="relu", loss="bpr", random_state=seed)
    clock.lap()
    model.fit(train)
    row["fit_40"] = clock.lap()
    report = evaluate(model, test, train=train, k=10).summary
    row.update(
        steps=trainer.n_batches,
        likes_per_step=getattr(trainer, "likes_per_step", lambda: trainer.batch_size)(),
        ndcg10=round(float(report["ndcg@10"]), 4),
        auc=round(float(report["auc"]), 4),
        load=_load(),
    )
    return row


def explorer_run(explorer) -> dict:
    """One Train click of ``explorer`` (headless), then the cost of one epoch's validation."""
    from tensorrec_explore.callbacks import ValidationMetrics

    clock = _Clock()
    explorer.panels.curves.train_button.click()
    explorer.controller.join()
    clicked = clock.lap()
    timings = explorer.controller.timings
    explorer.projector.wait_idle()
    model, test = explorer.state.model, explorer.controller.data()["test"]
    validation = ValidationMetrics(test, k=10)
    clock.lap()
    for epoch in range(5):
        validation.on_epoch_end(model, epoch, {})
    wall, cpu = clock.lap()
    return {
        "click_to_done": clicked,
        "fit_s": round(timings["fit_seconds"], 3),
        "callback_s": round(timings["callback_seconds"], 3),
        "snapshot_s": round(timings["snapshot_seconds"], 3),
        "validation_per_epoch": [round(wall / 5, 4), round(cpu / 5, 4)],
        "epochs": explorer.state.epoch,
        "load": _load(),
    }


def main(argv: list[str] | None = None) -> None:
    args = _args(argv)
    os.environ.update(thread_env(args.threads, os.environ))
    from tensorrec_explore.explorer.datasets import default_dataset, prepare

    split = prepare(
        default_dataset(), split="random_holdout", user_feature_set="ids", item_feature_set="ids"
    )
    paths = args.paths.split(",")
    results: dict = {"fit": [], "explorer": []}
    explorer = None
    if "explorer" in paths:
        from tensorrec_explore.explorer import Explorer
        from tensorrec_explore.explorer.engine import load_engine

        load_engine()
        explorer = Explorer(warm_umap=False, item_representation="relu", loss="bpr")
    for repeat in range(args.repeats):  # interleaved: the load drifts
        if "fit" in paths:
            results["fit"].append(fit_parts(split, repeat))
            print("[deep_toy] fit", json.dumps(results["fit"][-1]), flush=True)
        if explorer is not None:
            results["explorer"].append(explorer_run(explorer))
            print("[deep_toy] explorer", json.dumps(results["explorer"][-1]), flush=True)
    _table(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


def _table(results: dict) -> None:
    """Print one markdown row per repeat: (wall / CPU) seconds."""

    def pair(value: list[float]) -> str:
        return f"{value[0]:.2f} / {value[1]:.2f}"

    if results["fit"]:
        print("\n| build | trace | first call | epoch | 40-epoch fit | NDCG@10 | AUC | load |")
        print("|---|---|---|---|---|---:|---:|---:|")
        for r in results["fit"]:
            cells = [pair(r[k]) for k in ("build", "trace", "first_call")]
            cells += [f"{r['epoch'][0]:.3f} / {r['epoch'][1]:.3f}", pair(r["fit_40"])]
            print("| " + " | ".join([*cells, str(r["ndcg10"]), str(r["auc"]), str(r["load"])]))
    if results["explorer"]:
        print("\n| click to done | fit s | callback s | validation per epoch | load |")
        print("|---|---:|---:|---|---:|")
        for r in results["explorer"]:
            val = r["validation_per_epoch"]
            print(
                f"| {pair(r['click_to_done'])} | {r['fit_s']:.2f} | {r['callback_s']:.2f} | "
                f"{val[0]:.3f} / {val[1]:.3f} | {r['load']} |"
            )


if __name__ == "__main__":
    main()
