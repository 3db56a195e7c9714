"""Interaction files read back as a stream: every record once per epoch, in a seeded order,
as single records or as blocks, and ``fit_stream`` training identically on both."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
import tensorflow as tf

from tensorrec_explore import InputError, TensorRec, TrainingError
from tensorrec_explore.streaming import interaction_files_dataset, write_interaction_shards


def _matrix() -> sp.csr_matrix:
    rng = np.random.default_rng(0)
    matrix = sp.random(300, 200, density=0.2, random_state=1, format="csr", dtype=np.float32)
    matrix.data = rng.choice(np.array([-1.0, 1.0, 2.5], np.float32), matrix.nnz)
    return matrix


def _epoch(dataset: tf.data.Dataset) -> list[tuple[int, int, float]]:
    """One pass over records or blocks, as a list of (user, item, value)."""
    out: list[tuple[int, int, float]] = []
    for users, items, values in dataset:
        out += zip(
            np.atleast_1d(users.numpy()).tolist(),
            np.atleast_1d(items.numpy()).tolist(),
            np.atleast_1d(values.numpy()).tolist(),
            strict=True,
        )
    return out


@pytest.fixture(scope="module", params=["tfrecord", "csv"])
def shards(request, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp(request.param)
    write_interaction_shards(_matrix(), folder, 3, request.param)
    return folder


@pytest.mark.parametrize("blocks", [False, True])
@pytest.mark.parametrize("shuffle_buffer", [0, 1000])
def test_files_give_every_record_once_per_epoch_in_a_seeded_order(
    shards: Path, blocks: bool, shuffle_buffer: int
) -> None:
    coo = _matrix().tocoo()
    written = sorted(zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist(), strict=True))
    dataset = interaction_files_dataset(
        shards, shuffle_buffer=shuffle_buffer, seed=5, blocks=blocks
    )
    first, second = _epoch(dataset), _epoch(dataset)
    assert sorted(first) == written and sorted(second) == written
    assert first != second  # a new order each epoch (files, and windows when shuffling)
    again = interaction_files_dataset(shards, shuffle_buffer=shuffle_buffer, seed=5, blocks=blocks)
    assert _epoch(again) == first  # the same seed, the same order (every worker relies on it)
    assert dataset.element_spec[0].shape.rank == (1 if blocks else 0)


def test_blocks_hold_the_records_in_the_records_order(shards: Path) -> None:
    records = interaction_files_dataset(shards, shuffle_buffer=700, seed=2)
    blocks = interaction_files_dataset(shards, shuffle_buffer=700, seed=2, blocks=True)
    assert _epoch(blocks) == _epoch(records)
    sizes = [int(tf.size(users)) for users, _, _ in blocks]
    assert max(sizes) == 700  # windows of shuffle_buffer records


def test_shuffling_mixes_the_records_a_shard_holds_in_user_order(tmp_path: Path) -> None:
    write_interaction_shards(_matrix(), tmp_path, 1)  # one shard: rows in order
    unshuffled = [
        user for user, _, _ in _epoch(interaction_files_dataset(tmp_path, shuffle_buffer=0))
    ]
    assert unshuffled == sorted(unshuffled)
    shuffled = [user for user, _, _ in _epoch(interaction_files_dataset(tmp_path))]
    assert sorted(shuffled) == unshuffled
    # Far from the written order: the first 100 records span most users.
    assert len(set(shuffled[:100])) > 60


def test_fit_stream_trains_the_same_on_blocks_as_on_records(shards: Path) -> None:
    params = {"n_components": 4, "loss": "wmrb", "epochs": 3, "batch_size": 512, "random_state": 0}
    scores = [
        TensorRec(**params)
        .fit_stream(interaction_files_dataset(shards, seed=4, blocks=blocks), 300, 200)
        .predict()
        for blocks in (False, True)
    ]
    np.testing.assert_allclose(scores[0], scores[1], rtol=1e-5, atol=1e-5)


def test_blocks_and_readers_refuse_bad_input(shards: Path) -> None:
    columns = ([0, 1], [1], [1.0, 1.0])
    with pytest.raises(InputError, match="differ in length"):  # lengths known: said at once
        TensorRec(loss="wmrb", epochs=1).fit_stream(tf.data.Dataset.from_tensors(columns), 30, 24)
    uneven = tf.data.Dataset.from_generator(  # lengths unknown: said when the block is read
        lambda: iter([columns]),
        output_signature=(
            tf.TensorSpec([None], tf.int64),
            tf.TensorSpec([None], tf.int64),
            tf.TensorSpec([None], tf.float32),
        ),
    )
    with pytest.raises(TrainingError, match="differ in length"):
        TensorRec(loss="wmrb", epochs=1).fit_stream(uneven, 30, 24)
    matrix = tf.data.Dataset.from_tensors((tf.zeros([2, 2], tf.int64),) * 3)
    with pytest.raises(InputError, match="1-D blocks"):
        TensorRec(loss="wmrb", epochs=1).fit_stream(matrix, 30, 24)
    for bad in (-1, 2.5, True):
        with pytest.raises(InputError, match="shuffle_buffer"):
            interaction_files_dataset(shards, shuffle_buffer=bad)


def test_a_counted_stream_takes_the_batch_its_size_calls_for() -> None:
    """The sampled softmax counts likes first (for log-Q): enough of them double its batch, as
    in memory; bpr (nothing counted) and a stream cut into steps_per_epoch keep the base."""
    rng = np.random.default_rng(0)
    n = 2 * 256 * 100  # sampled_batch's first doubling of the softmax's 256
    users, items = rng.integers(0, 500, n), rng.integers(0, 400, n)
    records = tf.data.Dataset.from_tensor_slices((users, items)).batch(5000)

    def batch(loss: str, **kwargs) -> int:
        model = TensorRec(n_components=4, loss=loss, n_sampled_items=32, epochs=1, random_state=0)
        model.fit_stream(records, 500, 400, **kwargs)
        return model._fitted.stream[1].batch_size

    assert batch("softmax") == 512
    assert batch("softmax", steps_per_epoch=3) == 256
    assert batch("bpr") == 1024


def test_a_streams_default_l2_reads_its_likes_per_user_as_in_memory() -> None:
    """wmrb's and the sampled softmax's default L2 falls with the likes per user: a stream
    counts them in a first pass and takes the L2 a fit on the same matrix takes; a stream cut
    into steps_per_epoch (no whole pass) keeps the unscaled default, a given l2 is kept."""
    rng = np.random.default_rng(0)
    n_users, n_items, per_user = 60, 300, 120  # 2.5x the 47 likes per user the L2s assume
    users = np.repeat(np.arange(n_users), per_user)
    items = np.concatenate([rng.choice(n_items, per_user, replace=False) for _ in range(n_users)])
    matrix = sp.csr_matrix((np.ones(users.size, np.float32), (users, items)), (n_users, n_items))
    records = tf.data.Dataset.from_tensor_slices((users, items)).shuffle(users.size, seed=0)

    def l2(loss: str, stream: bool, **kwargs) -> float:
        params = {"n_components": 4, "loss": loss, "n_sampled_items": 16, "epochs": 1}
        model = TensorRec(**params, random_state=0, **kwargs.pop("settings", {}))
        if stream:
            model.fit_stream(records.batch(700), n_users, n_items, **kwargs)
        else:
            model.fit(matrix)
        return model._fitted.l2

    for loss, unscaled in (("wmrb", 0.1), ("softmax", 0.06)):
        streamed = l2(loss, stream=True)
        assert streamed == pytest.approx(l2(loss, stream=False))
        assert streamed == pytest.approx(unscaled * np.sqrt(47.0 / per_user))
        assert l2(loss, stream=True, steps_per_epoch=3) == pytest.approx(unscaled)
    assert l2("wmrb", stream=True, settings={"l2": 0.3}) == pytest.approx(0.3)


@pytest.mark.parametrize("loss", ["softmax", "wmrb"])
def test_batches_of_likes_take_the_xla_step_and_train_as_the_others(
    monkeypatch: pytest.MonkeyPatch, loss: str
) -> None:
    """Above XLA_MIN_LIKES counted likes, batches of likes only take the step compiled by XLA
    and a batch holding dislikes the general one: the scores match a fit without XLA, and a
    bad id is still refused with its name. The last batches hold dislikes only (their L2 on no
    like was NaN, reported as a divergence)."""
    from tensorrec_explore import streaming

    matrix = _matrix().tocoo()
    # Likes first: the first batches hold likes only, the last ones dislikes too.
    order = np.argsort(matrix.data < 0, kind="stable")
    columns = (matrix.row[order], matrix.col[order], matrix.data[order])
    records = tf.data.Dataset.from_tensor_slices(columns)

    def fit(min_likes: int, dataset: tf.data.Dataset = records) -> Any:
        monkeypatch.setattr(streaming, "XLA_MIN_LIKES", min_likes)
        params = {"n_components": 4, "loss": loss, "n_sampled_items": 16, "batch_size": 512}
        model = TensorRec(**params, epochs=2, random_state=0).fit_stream(dataset, 300, 200)
        return model, model._fitted.stream[1].uses_xla

    (compiled, xla), (plain, no_xla) = fit(0), fit(10**9)
    assert xla and not no_xla
    # XLA sums in another order (differences ~1e-3 after two epochs).
    scores = plain.predict()
    np.testing.assert_allclose(compiled.predict(), scores, atol=0.01 * np.abs(scores).max())
    bad = tf.data.Dataset.from_tensor_slices(
        (np.array([0, 1, 2]), np.array([0, 200, 3]), np.ones(3, np.float32))
    )
    with pytest.raises(TrainingError, match="item id is >= n_items=200"):
        fit(0, bad)


@pytest.mark.parametrize("compiled", [False, True])
def test_the_compiled_like_test_agrees_with_the_search(compiled: bool) -> None:
    """The compiled step's "liked in this batch" test (no search) gives what the search of the
    batch's sorted like keys gives, with repeated users, items and candidates."""
    from tensorrec_explore.streaming import _in_batch_like, _liked_by_rows

    rng = np.random.default_rng(3)
    n_users, n_items = 40, 30
    users = tf.constant(rng.integers(0, n_users, 500), tf.int64)
    items = tf.constant(rng.integers(0, n_items, 500), tf.int64)
    candidates = tf.constant(np.r_[rng.integers(0, n_items, 60), items.numpy()[:20]], tf.int64)
    rows = tf.function(_liked_by_rows, jit_compile=True) if compiled else _liked_by_rows
    got = rows(users, items, candidates, n_users, n_items).numpy()
    keys = tf.sort(users * n_items + items)
    np.testing.assert_array_equal(got, _in_batch_like(keys, users, candidates, n_items).numpy())
    assert 0 < got.mean() < 1
