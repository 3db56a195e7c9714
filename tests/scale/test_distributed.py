"""Scale tests: MirroredStrategy on two logical CPUs, a two-worker MultiWorkerMirroredStrategy on
127.0.0.1, and streamed training from sharded files against in-memory training.

Logical devices and TF_CONFIG must be set before TensorFlow starts its runtime, so those runs
happen in subprocesses (``_scale_worker.py``) started, timed out and killed by the tests.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tensorrec_explore import InputError, TensorRec
from tensorrec_explore.metrics import evaluate

from .common import PARAMS, planted

pytestmark = pytest.mark.slow
WORKER = Path(__file__).with_name("_scale_worker.py")
REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 150


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(REPO), **extra)
    env.pop("TF_CONFIG", None)
    env.update(extra)
    return env


def _free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def _run(args: list[str], tmp_path: Path, env: dict[str, str]) -> subprocess.Popen:
    with open(tmp_path / f"log-{len(list(tmp_path.glob('log-*')))}.txt", "w") as log:
        return subprocess.Popen(
            [sys.executable, str(WORKER), *args],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _wait(processes: list[subprocess.Popen], tmp_path: Path) -> None:
    try:
        for process in processes:
            code = process.wait(timeout=TIMEOUT)
            assert code == 0, _logs(tmp_path)
    except subprocess.TimeoutExpired:
        pytest.fail(f"worker timed out after {TIMEOUT} s\n{_logs(tmp_path)}")
    finally:
        for process in processes:
            _stop(process)


def _logs(tmp_path: Path) -> str:
    return "\n".join(
        f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(tmp_path.glob("log-*"))
    )


def _same_quality(a: dict, b: dict, loss_rtol: float | None = 0.1) -> None:
    """``loss_rtol`` None: the loss values are not comparable (the sampled softmax's in-batch
    negatives are each replica's share of the batch, so its loss sums over fewer candidates)."""
    assert abs(a["precision"] - b["precision"]) <= 0.05
    assert abs(a["auc"] - b["auc"]) <= 0.02
    if loss_rtol is not None:
        assert b["loss"] == pytest.approx(a["loss"], rel=loss_rtol)
    # Same seed, same batches: the two runs learn nearly the same scores.
    first, second = np.array(a["scores"]).ravel(), np.array(b["scores"]).ravel()
    assert np.corrcoef(first, second)[0, 1] > 0.95


@pytest.fixture(scope="module")
def shards(tmp_path_factory) -> Path:
    from tensorrec_explore.streaming import write_interaction_shards

    folder = tmp_path_factory.mktemp("shards")
    write_interaction_shards(planted().interactions, folder, 3, "tfrecord")
    return folder


def _summary(model: TensorRec, data, last: int = 10) -> dict:
    report = evaluate(model, data.held_out, train=data.interactions, k=5).summary
    losses = [log["loss"] for log in model.history_.logs]
    return {
        "precision": report["precision@5"],
        "auc": report["auc"],
        "loss": float(np.mean(losses[-last:])),
        "scores": model.predict().tolist(),
    }


@pytest.fixture(scope="module")
def single(shards) -> dict:
    """One process, one device: the references the two-worker runs must agree with."""
    from tensorrec_explore.streaming import interaction_files_dataset

    data = planted()
    features = (data.user_features, data.item_features)
    memory = TensorRec(**PARAMS, loss="wmrb").fit(data.interactions, *features)
    stream = TensorRec(**PARAMS, loss="wmrb").fit_stream(
        interaction_files_dataset(str(shards), seed=1), 30, 24, *features
    )
    return {"wmrb": _summary(memory, data), "stream": _summary(stream, data)}


def test_mirrored_two_logical_cpus_same_quality(tmp_path: Path) -> None:
    out = tmp_path / "mirrored.json"
    _wait([_run(["mirrored", str(out)], tmp_path, _env())], tmp_path)
    result = json.loads(out.read_text())
    assert result["replicas"] == 2
    for loss in ("softmax", "wmrb"):  # softmax: sampled here (n_sampled_items < n_items)
        _same_quality(
            result[f"{loss}-one"], result[f"{loss}-two"], None if loss == "softmax" else 0.1
        )
        assert result[f"{loss}-two"]["precision"] > 0.6  # the planted answer is found
    assert result["loaded_distribute"] == "None" and result["loaded_same"]


def test_two_workers_on_localhost_agree_with_one_process(
    tmp_path: Path, shards: Path, single: dict
) -> None:
    ports = _free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    out = tmp_path / "workers.json"
    processes = []
    try:
        for index in range(2):
            config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
            processes.append(
                _run(["worker", str(out), str(shards)], tmp_path, _env(TF_CONFIG=config))
            )
    finally:
        _wait(processes, tmp_path)
    result = json.loads(out.read_text())
    assert result["replicas"] == 2
    _same_quality(single["wmrb"], result["wmrb"])
    _same_quality(single["stream"], result["stream"])


@pytest.mark.parametrize("format", ["tfrecord", "csv"])
@pytest.mark.parametrize("loss", ["wmrb", "rmse"])
def test_streamed_files_match_in_memory(tmp_path: Path, format: str, loss: str) -> None:
    from tensorrec_explore.streaming import (
        interaction_files_dataset,
        read_shard_info,
        write_interaction_shards,
    )

    data = planted()
    paths = write_interaction_shards(data.interactions, tmp_path, 4, format)
    assert len(paths) == 4 and read_shard_info(tmp_path)["n_interactions"] == data.interactions.nnz
    features = (data.user_features, data.item_features)
    params = dict(PARAMS, batch_size=256)  # one batch per epoch: in-batch likes = all likes
    memory = TensorRec(**params, loss=loss).fit(data.interactions, *features)
    stream = TensorRec(**params, loss=loss).fit_stream(
        interaction_files_dataset(str(tmp_path / f"*.{format}"), seed=3), 30, 24, *features
    )
    results = [_summary(model, data, last=15) for model in (memory, stream)]
    _same_quality(*results, loss_rtol=0.1)


def test_stream_refuses_dense_losses_and_bad_records() -> None:
    import tensorflow as tf

    from tensorrec_explore import TrainingError

    records = tf.data.Dataset.from_tensor_slices(([0, 1], [1, 2], [1.0, 1.0]))
    with pytest.raises(InputError, match="n_sampled_items"):
        TensorRec(loss="softmax").fit_stream(records, 30, 24)
    with pytest.raises(InputError, match="wmrb"):
        TensorRec(loss="rmse_dense").fit_stream(records, 30, 24)
    outside = tf.data.Dataset.from_tensor_slices(([0, 40], [1, 2], [1.0, 1.0]))
    with pytest.raises(TrainingError, match="n_users=30"):
        TensorRec(loss="wmrb", epochs=1).fit_stream(outside, 30, 24)
    with pytest.raises(InputError, match="n_users"):
        TensorRec(loss="wmrb").fit_stream(records, 0, 24)
    # softmax with n_sampled_items streams as the sampled softmax; pairs default to value 1
    pairs = tf.data.Dataset.from_tensor_slices(([0, 1], [1, 2]))
    model = TensorRec(loss="softmax", n_sampled_items=8, epochs=2, random_state=0)
    assert model.fit_stream(pairs, 30, 24) is model and model.predict().shape == (30, 24)


def test_distribute_argument_checked_and_seed_required() -> None:
    from tensorrec_explore.distributed import require_seed

    with pytest.raises(InputError, match=r"tf\.distribute\.Strategy"):
        TensorRec(distribute="mirrored").fit(planted().interactions)

    class TwoWorkers:  # stands in for a MultiWorkerMirroredStrategy with two workers
        class extended:
            _num_workers = 2

    with pytest.raises(InputError, match="random_state"):
        require_seed(TwoWorkers(), None)
    require_seed(TwoWorkers(), 0)
    assert "distribute" in TensorRec().get_params()
