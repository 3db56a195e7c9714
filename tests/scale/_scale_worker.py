"""Subprocess side of the scale tests: its own TensorFlow runtime (logical devices, TF_CONFIG).

    python tests/scale/_scale_worker.py mirrored OUT.json     # 1 device vs 2 logical CPUs
    TF_CONFIG=... python tests/scale/_scale_worker.py worker OUT.json SHARDS_FOLDER

Writes a JSON of metrics, losses and scores (the chief writes; every worker trains).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import numpy as np
import tensorflow as tf

MODE = sys.argv[1]
if MODE == "mirrored":  # before anything initialises the runtime
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

from tensorrec_explore import TensorRec
from tensorrec_explore.metrics import evaluate
from tensorrec_explore.streaming import interaction_files_dataset
from tests.scale.common import PARAMS, planted


def summary(model: TensorRec, data) -> dict:
    report = evaluate(model, data.held_out, train=data.interactions, k=5).summary
    losses = [log["loss"] for log in model.history_.logs]
    return {
        "precision": report["precision@5"],
        "auc": report["auc"],
        "loss": float(np.mean(losses[-10:])),
        "scores": model.predict().tolist(),
    }


def main() -> None:
    data = planted()
    out: dict = {}
    if MODE == "mirrored":
        strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
        for loss in ("softmax", "wmrb"):
            for name, distribute in (("one", None), ("two", strategy)):
                model = TensorRec(**PARAMS, loss=loss, distribute=distribute)
                model.fit(data.interactions, data.user_features, data.item_features)
                out[f"{loss}-{name}"] = summary(model, data)
        model.save(Path(sys.argv[2]).with_suffix(".model"))
        loaded = TensorRec.load(Path(sys.argv[2]).with_suffix(".model"))
        out["loaded_distribute"] = repr(loaded.distribute)
        out["loaded_same"] = bool(np.allclose(loaded.predict(), model.predict(), atol=1e-6))
        out["replicas"] = strategy.num_replicas_in_sync
    else:
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
        started = time.perf_counter()
        out["replicas"] = strategy.num_replicas_in_sync
        model = TensorRec(**PARAMS, loss="wmrb", distribute=strategy)
        model.fit(data.interactions, data.user_features, data.item_features)
        out["wmrb"] = summary(model, data)
        stream = TensorRec(**PARAMS, loss="wmrb", distribute=strategy)
        stream.fit_stream(
            interaction_files_dataset(sys.argv[3], seed=1),
            *data.interactions.shape,
            data.user_features,
            data.item_features,
        )
        out["stream"] = summary(stream, data)
        out["seconds"] = time.perf_counter() - started
    if json.loads(os.environ.get("TF_CONFIG", "{}")).get("task", {}).get("index", 0) == 0:
        Path(sys.argv[2]).write_text(json.dumps(out))


if __name__ == "__main__":
    main()
