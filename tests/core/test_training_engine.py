"""The compiled sampled-loss engine: like membership, fused Adam, WARP's rank estimate, the
sampled softmax's sampling-bias correction and its agreement with the dense softmax."""

from __future__ import annotations

import itertools

import keras
import numpy as np
import pytest
import scipy.sparse as sp
import tensorflow as tf

from tensorrec_explore import TensorRec, fused_adam, liked_pairs
from tensorrec_explore.defaults import (
    FULL_SOFTMAX_LIMIT,
    LARGE_CATALOGUE_ITEMS,
    SAMPLED_BATCH,
    SAMPLED_BATCH_MAX,
    SAMPLED_ITEMS,
    SAMPLED_MIN_STEPS,
    SOFTMAX_SAMPLED_BATCH,
    SOFTMAX_SAMPLED_BATCH_MAX,
    sampled_batch,
    sampled_items,
    use_sampled_softmax,
)
from tensorrec_explore.fused_adam import apply_adam, can_fuse
from tensorrec_explore.liked_pairs import LikedPairs
from tensorrec_explore.losses import BPR, WARP, WMRB, Logistic, LossInputs, SampledSoftmax
from tensorrec_explore.metrics import evaluate

from .planted import make_planted


@pytest.mark.parametrize(
    ("layout", "filter_bits"),
    [("dense", 64), ("bitset", 64), ("bitset-words", 64), ("keys", 64), ("keys", 1)],
)
def test_liked_pairs_match_a_plain_set(
    layout: str, filter_bits: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # filter_bits 1: the sorted keys' filter passes most unliked pairs, the search rejects them
    monkeypatch.setattr(liked_pairs, "FILTER_BITS_PER_LIKE", filter_bits)
    if layout != "dense":
        monkeypatch.setattr(liked_pairs, "DENSE_LIMIT", 0)
    if layout == "keys":
        monkeypatch.setattr(liked_pairs, "BITSET_LIMIT", 0)
    if layout == "bitset-words":  # one word per (user, item) pair instead of whole rows
        monkeypatch.setattr(liked_pairs, "ROW_GATHER_WORDS", 0)
    rng = np.random.default_rng(0)
    n_users, n_items = 37, 70  # 70 items: rows of 3 words, the last one partly used
    users, items = rng.integers(0, n_users, 500), rng.integers(0, n_items, 500)
    truth = np.zeros((n_users, n_items), bool)
    truth[users, items] = True
    pairs = LikedPairs(users, items, n_users, n_items)
    assert (pairs.use_dense, pairs.use_bitset) == (layout == "dense", layout.startswith("bitset"))
    all_users = tf.constant(np.arange(n_users), tf.int64)
    all_items = tf.constant(np.arange(n_items), tf.int64)
    np.testing.assert_array_equal(pairs.contains(all_users, all_items).numpy(), truth)
    np.testing.assert_array_equal(pairs.unliked(all_users, all_items).numpy(), 1.0 - truth)
    some_users, some_items = rng.integers(0, n_users, 50), rng.integers(0, n_items, 9)  # repeats
    np.testing.assert_array_equal(
        pairs.contains(tf.constant(some_users), tf.constant(some_items)).numpy(),
        truth[np.ix_(some_users, some_items)],
    )


def test_fused_adam_gives_keras_adams_update() -> None:
    start = np.random.default_rng(1).normal(size=(5, 3)).astype(np.float32)
    gradients = [np.random.default_rng(s).normal(size=(5, 3)).astype(np.float32) for s in range(3)]
    results = []
    for fused in (False, True):
        variable = keras.Variable(start)
        optimizer = keras.optimizers.Adam(learning_rate=0.1)
        optimizer.build([variable])
        assert can_fuse(optimizer)
        for gradient in gradients:
            if fused:
                apply_adam(optimizer, [(tf.constant(gradient), variable)])
            else:
                optimizer.apply_gradients([(tf.constant(gradient), variable)])
        results.append((np.array(variable.numpy()), int(optimizer.iterations.numpy())))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-4, atol=1e-5)
    assert results[0][1] == results[1][1] == 3
    assert not can_fuse(keras.optimizers.Adam(amsgrad=True))


def test_lazy_adam_updates_only_the_gradients_rows_as_adam_would(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(fused_adam, "LAZY_ADAM_VALUES", 0)
    rng = np.random.default_rng(2)
    start = rng.normal(size=(6, 3)).astype(np.float32)
    steps = [np.array([1, 4, 1]), np.array([2, 4])]  # row 1 twice: its gradients add up
    gradients = [rng.normal(size=(len(rows), 3)).astype(np.float32) for rows in steps]
    variable = keras.Variable(start)
    optimizer = keras.optimizers.Adam(learning_rate=0.1)
    optimizer.build([variable])
    for rows, values in zip(steps, gradients, strict=True):
        slices = tf.IndexedSlices(tf.constant(values), tf.constant(rows, tf.int64), [6, 3])
        apply_adam(optimizer, [(slices, variable)])
    expected, m, v = start.astype(np.float64), np.zeros((6, 3)), np.zeros((6, 3))
    for t, (rows, values) in enumerate(zip(steps, gradients, strict=True), start=1):
        dense = np.zeros((6, 3))
        np.add.at(dense, rows, values)
        touched = np.unique(rows)
        m[touched] = 0.9 * m[touched] + 0.1 * dense[touched]
        v[touched] = 0.999 * v[touched] + 0.001 * dense[touched] ** 2
        rate = 0.1 * np.sqrt(1 - 0.999**t) / (1 - 0.9**t)
        expected[touched] -= rate * m[touched] / (np.sqrt(v[touched]) + 1e-7)
    np.testing.assert_allclose(variable.numpy(), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(variable.numpy()[[0, 3, 5]], start[[0, 3, 5]])
    assert int(optimizer.iterations.numpy()) == 2


@pytest.mark.parametrize("row_limit", [4, 1 << 14])
def test_tall_narrow_tables_take_row_wise_steps_from_the_row_limit(
    row_limit: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A bias table (one value per row) has few values: its row count alone decides. A row the
    # second step does not touch keeps its value under the row-wise step and drifts on its
    # momentum under the whole-table step.
    monkeypatch.setattr(fused_adam, "LAZY_ADAM_ROWS", row_limit)
    variable = keras.Variable(np.zeros((6, 1), np.float32))
    optimizer = keras.optimizers.Adam(learning_rate=0.1)
    optimizer.build([variable])
    assert fused_adam.updates_rows_only(variable) is (row_limit < 6)
    for rows in ([1, 2], [2]):
        slices = tf.IndexedSlices(tf.ones([len(rows), 1]), tf.constant(rows, tf.int64), [6, 1])
        apply_adam(optimizer, [(slices, variable)])
    after_first_step = -0.1  # Adam's first step moves a touched row by the rate
    row_1 = float(variable.numpy()[1, 0])
    if row_limit < 6:
        assert row_1 == pytest.approx(after_first_step, rel=1e-4)
    else:
        assert row_1 < after_first_step - 0.01
    np.testing.assert_array_equal(variable.numpy()[[0, 3, 4, 5]], 0.0)


@pytest.mark.parametrize("limit", [0, 1 << 30])
def test_large_kernels_get_row_gradients_and_the_same_product(
    limit: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tensorrec_explore.representations import features_matmul

    monkeypatch.setattr(fused_adam, "LAZY_ADAM_VALUES", limit)
    kernel = tf.Variable(np.random.default_rng(3).normal(size=(6, 2)).astype(np.float32))
    features = tf.sparse.reorder(
        tf.SparseTensor([[0, 1], [0, 4], [2, 1]], [1.0, 0.5, 2.0], dense_shape=[3, 6])
    )
    with tf.GradientTape() as tape:
        product = features_matmul(features, kernel)
        total = tf.reduce_sum(product)
    np.testing.assert_allclose(
        product.numpy(), tf.sparse.to_dense(features).numpy() @ kernel.numpy(), rtol=1e-6
    )
    gradient = tape.gradient(total, kernel)
    assert isinstance(gradient, tf.IndexedSlices) is (limit == 0)
    np.testing.assert_allclose(
        tf.convert_to_tensor(gradient).numpy()[:, 0], [0, 3.0, 0, 0, 0.5, 0], rtol=1e-6
    )


def test_warp_weights_the_first_violator_by_its_estimated_rank() -> None:
    # One liked item scored 0; samples in draw order: 2nd is one of the user's likes (skipped),
    # 3rd is the first within the margin (score 0.5 -> hinge 1.5) after 2 valid draws.
    inputs = LossInputs(
        positive_scores=tf.constant([0.0]),
        positive_weights=tf.constant([1.0]),
        sampled_scores=tf.constant([[-3.0, 5.0, 0.5, 4.0]]),
        sampled_valid=tf.constant([[1.0, 0.0, 1.0, 1.0]]),
        n_items=tf.constant(101.0),
        item_counts=tf.constant([1.0]),
    )
    rank = np.floor(100 / 2)
    expected = (np.log(rank) + 0.5772) * 1.5
    np.testing.assert_allclose(float(WARP()(inputs)), expected, rtol=1e-5)
    # No violator among the draws (the cap): no loss.
    inputs.sampled_scores = tf.constant([[-3.0, 5.0, -2.0, -4.0]])
    assert float(WARP()(inputs)) == 0.0


def _sampled_softmax_trainer(interactions: sp.csr_matrix, n_sampled: int):
    model = TensorRec(
        n_components=4, n_sampled_items=n_sampled, batch_size=3, epochs=1, random_state=0
    )
    model.fit(interactions)
    trainer = model._fitted.trainer
    assert type(trainer.loss).__name__ == "SampledSoftmax"
    return trainer


@pytest.mark.parametrize("cap", [None, 2])
def test_log_q_is_the_brute_force_expected_count_of_each_candidate(cap: int | None) -> None:
    # 5 items, 8 likes; a step draws p = 3 likes (a slice of the shuffled likes) and s = 2
    # uniform items; its in-batch candidates are its first k = 3 likes, or k = 2 under the
    # loss's in_batch_candidates cap. Enumerate every outcome and count how often each item is
    # a candidate.
    n_items, p, s = 5, 3, 2
    k = p if cap is None else cap
    users = np.array([0, 0, 1, 1, 2, 2, 3, 3])
    items = np.array([0, 1, 0, 2, 0, 1, 3, 0])
    interactions = sp.csr_matrix((np.ones(8, np.float32), (users, items)), shape=(4, n_items))
    trainer = _sampled_softmax_trainer(interactions, s)
    trainer.objective.loss.in_batch_candidates = cap
    expected = np.zeros(n_items)
    subsets = list(itertools.combinations(range(items.size), k))
    draws = list(itertools.product(range(n_items), repeat=s))
    for subset in subsets:
        for draw in draws:
            np.add.at(expected, items[list(subset)], 1.0)
            np.add.at(expected, np.array(draw), 1.0)
    expected /= len(subsets) * len(draws)

    batch_users, batch_items = tf.constant([0, 1, 3], tf.int64), tf.constant([1, 2, 3], tf.int64)
    sampled = tf.constant([4, 0], tf.int64)
    vectors = tf.zeros([3, 1, 4])
    parts = trainer.objective.in_batch_negatives(
        batch_users,
        batch_items,
        sampled,
        vectors,
        tf.zeros([3]),
        tf.zeros([3, 4]),
        tf.zeros([3]),
        None,
    )
    np.testing.assert_allclose(np.exp(parts["batch_log_q"].numpy()), expected[[1, 2, 3]], rtol=1e-5)
    np.testing.assert_allclose(np.exp(parts["sampled_log_q"].numpy()), expected[[4, 0]], rtol=1e-5)
    # User 0 likes items 0 and 1, user 1 items 0 and 2, user 3 items 3 and 0.
    assert parts["batch_scores"].shape == (p, k)
    np.testing.assert_array_equal(
        parts["batch_valid"].numpy(), np.array([[0, 1, 1], [1, 0, 1], [1, 1, 0]])[:, :k]
    )


def test_the_sampled_softmax_over_capped_in_batch_candidates_is_a_brute_force_softmax() -> None:
    # p = 3 likes, the first k = 2 of them in-batch candidates, s = 2 uniform items: each row's
    # loss is -log softmax of its corrected liked score among itself, the k in-batch and the s
    # uniform candidates (corrected by their log_q; invalid ones left out).
    rng = np.random.default_rng(8)
    positive, batch, sampled = rng.normal(size=3), rng.normal(size=(3, 2)), rng.normal(size=(3, 2))
    batch_log_q, sampled_log_q = rng.normal(size=3), rng.normal(size=2)
    batch_valid = np.array([[0, 1], [1, 0], [1, 1]], np.float32)
    sampled_valid = np.array([[1, 1], [0, 1], [1, 1]], np.float32)
    inputs = LossInputs(
        positive_scores=tf.constant(positive, tf.float32),
        positive_weights=tf.ones([3]),
        sampled_scores=tf.constant(sampled, tf.float32),
        sampled_valid=tf.constant(sampled_valid),
        n_items=tf.constant(10.0),
        item_counts=tf.ones([3]),
        batch_scores=tf.constant(batch, tf.float32),
        batch_valid=tf.constant(batch_valid),
        batch_log_q=tf.constant(batch_log_q, tf.float32),
        sampled_log_q=tf.constant(sampled_log_q, tf.float32),
    )
    expected = []
    for r in range(3):
        logits = [positive[r] - batch_log_q[r]]
        logits += [batch[r, c] - batch_log_q[c] for c in range(2) if batch_valid[r, c]]
        logits += [sampled[r, c] - sampled_log_q[c] for c in range(2) if sampled_valid[r, c]]
        expected.append(np.log(np.sum(np.exp(logits))) - logits[0])
    np.testing.assert_allclose(float(SampledSoftmax()(inputs)), np.mean(expected), rtol=1e-5)


def test_the_sampled_softmax_removes_only_accidental_hits() -> None:
    # Brute force over random likes: a candidate equal to the row's own liked item is not a
    # negative; the user's other liked items are (as in the dense softmax's denominator). A loss
    # without accidental_hits_only (bpr) still excludes every liked item of the user.
    rng = np.random.default_rng(5)
    interactions = sp.random(12, 9, density=0.4, format="csr", random_state=6, dtype=np.float32)
    interactions.data[:] = 1.0
    liked = set(zip(*interactions.nonzero(), strict=True))
    rows, cols = interactions.nonzero()
    pick = rng.choice(rows.size, 7, replace=False)
    users, items = rows[pick], cols[pick]
    candidates = np.concatenate([items, rng.integers(0, 9, 6)])
    softmax = _sampled_softmax_trainer(interactions, 4)
    bpr = TensorRec(n_components=4, loss="bpr", n_sampled_items=4, epochs=1, random_state=0)
    bpr.fit(interactions)
    valid = {
        name: trainer.objective.candidates_valid(
            tf.constant(users, tf.int64),
            tf.constant(items, tf.int64),
            tf.constant(candidates, tf.int64),
        ).numpy()
        for name, trainer in (("softmax", softmax), ("bpr", bpr._fitted.trainer))
    }
    own = items[:, None] == candidates[None, :]
    other_like = np.array([[(u, c) in liked for c in candidates] for u in users]) & ~own
    assert own.sum() >= users.size and other_like.any()  # both cases occur
    np.testing.assert_array_equal(valid["softmax"], ~own)
    np.testing.assert_array_equal(valid["bpr"], ~(own | other_like))


def test_sampled_and_dense_softmax_agree_on_planted_data() -> None:
    data = make_planted()
    scores, aucs = [], []
    for n_sampled in (None, 8):  # None: the dense softmax (24 items); 8: the sampled form
        model = TensorRec(n_components=8, n_sampled_items=n_sampled, batch_size=64, random_state=0)
        model.fit(
            data.interactions, user_features=data.user_features, item_features=data.item_features
        )
        expected = "Softmax" if n_sampled is None else "SampledSoftmax"
        assert type(model._fitted.trainer.loss).__name__ == expected
        aucs.append(evaluate(model, data.held_out, train=data.interactions, k=5).summary["auc"])
        scores.append(model.predict())
    assert min(aucs) > 0.95, aucs
    # Both put each user's own taste cluster first (by mean item score) for every user.
    for user_scores in scores:
        cluster_means = np.stack(
            [user_scores[:, data.item_clusters == c].mean(axis=1) for c in range(3)], axis=1
        )
        np.testing.assert_array_equal(cluster_means.argmax(axis=1), data.user_clusters)
    assert abs(aucs[0] - aucs[1]) < 0.03, aucs


def test_compiled_epochs_reproduce_with_the_seed() -> None:
    data = make_planted(explicit=True)
    runs = [
        TensorRec(
            n_components=4, loss="bpr", epochs=3, batch_size=64, n_sampled_items=8, random_state=3
        )
        .fit(data.interactions)
        .predict()
        for _ in range(2)
    ]
    np.testing.assert_allclose(runs[0], runs[1], rtol=1e-5, atol=1e-6)


def test_default_batch_grows_with_the_data_but_keeps_enough_steps() -> None:
    # ml-100k's 44,000 train likes: 1024 (43 steps); ml-1m-all's 800,000: 4096 (195 steps).
    assert sampled_batch(BPR(), 44_000, None) == SAMPLED_BATCH == 1024
    assert sampled_batch(BPR(), 800_000, None) == SAMPLED_BATCH_MAX == 4096
    doubled = 2 * SAMPLED_BATCH * SAMPLED_MIN_STEPS
    assert sampled_batch(Logistic(), doubled - 1, None) == SAMPLED_BATCH
    assert sampled_batch(Logistic(), doubled, None) == 2 * SAMPLED_BATCH
    assert sampled_batch(BPR(), 10**9, None) == SAMPLED_BATCH_MAX  # capped
    assert sampled_batch(BPR(), 800_000, 300) == 300  # the model's batch_size wins
    # WARP and WMRB lose quality with larger batches: they keep the base batch. The sampled
    # softmax starts smaller (more steps on small data) and grows up to its own largest batch
    # (each like meets only its in-batch candidates, whatever the batch).
    for loss in (WARP(), WMRB()):
        assert sampled_batch(loss, 800_000, None) == SAMPLED_BATCH
    softmax_doubled = 2 * SOFTMAX_SAMPLED_BATCH * SAMPLED_MIN_STEPS
    assert sampled_batch(SampledSoftmax(), 44_000, None) == SOFTMAX_SAMPLED_BATCH
    assert sampled_batch(SampledSoftmax(), softmax_doubled - 1, None) == SOFTMAX_SAMPLED_BATCH
    assert sampled_batch(SampledSoftmax(), softmax_doubled, None) == 2 * SOFTMAX_SAMPLED_BATCH
    assert sampled_batch(SampledSoftmax(), 10**9, None) == SOFTMAX_SAMPLED_BATCH_MAX == 2048


def test_trainer_uses_the_default_batch_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    from tensorrec_explore import defaults

    monkeypatch.setattr(defaults, "SAMPLED_BATCH", 16)
    monkeypatch.setattr(defaults, "SAMPLED_MIN_STEPS", 2)
    data = make_planted()
    n_likes = int((data.interactions.data > 0).sum())
    model = TensorRec(n_components=4, loss="bpr", epochs=1, random_state=0)
    model.fit(data.interactions)
    trainer = model._fitted.trainer
    assert trainer.batch_size == sampled_batch(BPR(), n_likes, None) > 16
    assert trainer.n_batches == -(-n_likes // trainer.batch_size)


def test_sampled_steps_have_one_static_size_and_an_epoch_covers_every_like() -> None:
    data = make_planted(explicit=True)
    model = TensorRec(n_components=4, loss="bpr", epochs=1, batch_size=64, random_state=0)
    trainer = model.fit(data.interactions)._fitted.trainer
    n_likes = trainer.positive.size
    assert n_likes % 64, "the planted likes must leave a partial last batch"
    order = trainer._sampled_order(tf.constant([1, 2], tf.int64))
    index = tf.TensorSpec([], tf.int64)
    traced = tf.function(trainer._sampled_batch).get_concrete_function(index, *order)
    assert traced.structured_outputs[0].shape.as_list() == [64]  # known when tracing
    likes = np.concatenate(
        [
            trainer._sampled_batch(tf.constant(i, tf.int64), *order)[0].numpy()
            for i in range(trainer.n_batches)
        ]
    )
    assert likes.size == trainer.n_batches * 64
    counts = np.bincount(likes, minlength=trainer.rows.shape[0])[trainer.positive]
    assert counts.min() == 1 and counts.max() == 2  # the last batch repeats the first likes
    assert (counts == 2).sum() == trainer.n_batches * 64 - n_likes
    # fewer likes than a batch: every step takes them all, once
    small = TensorRec(n_components=4, loss="bpr", epochs=1, batch_size=10**6, random_state=0)
    assert small.fit(data.interactions)._fitted.trainer.likes_per_step() == n_likes


@pytest.mark.parametrize(
    ("loss", "large", "usual_epochs", "given"),
    [("wmrb", (128, 12), 20, None), ("wmrb", None, 20, 64), ("warp", (96, 13), 15, None)],
)
def test_large_catalogues_draw_the_losses_own_samples_over_their_epochs(
    loss, large, usual_epochs, given
) -> None:
    rng = np.random.default_rng(0)
    users, items = rng.integers(0, 20, 400), rng.integers(0, LARGE_CATALOGUE_ITEMS, 400)
    interactions = sp.csr_matrix(
        (np.ones(400, np.float32), (users, items)), shape=(20, LARGE_CATALOGUE_ITEMS)
    )
    model = TensorRec(loss=loss, n_components=4, n_sampled_items=given, random_state=0)
    model.fit(interactions)
    # the large-catalogue samples and epochs apply only when samples are not given
    expected = large or (given, usual_epochs)
    assert (model._fitted.trainer.n_sampled, model.epochs_) == expected


def test_defaults_choose_the_samples_and_the_cheaper_softmax() -> None:
    assert sampled_items(BPR(), 1000, None) == SAMPLED_ITEMS
    assert sampled_items(WMRB(), 1000, None) == SAMPLED_ITEMS
    assert sampled_items(WARP(), 1000, None) == 128
    assert sampled_items(WARP(), 1000, 10) == 10
    assert sampled_items(WARP(), 30, None) == 30  # never more than the catalogue
    # large catalogues over embedding towers: the losses' own counts there; a given count stays
    for loss, smaller, larger in (
        (BPR(), SAMPLED_ITEMS, 96),
        (Logistic(), SAMPLED_ITEMS, 96),
        (WMRB(), SAMPLED_ITEMS, 128),
        (WARP(), 128, 96),
    ):
        assert sampled_items(loss, LARGE_CATALOGUE_ITEMS - 1, None) == smaller
        assert sampled_items(loss, LARGE_CATALOGUE_ITEMS, None) == larger
        assert sampled_items(loss, LARGE_CATALOGUE_ITEMS, 10) == 10
        assert sampled_items(loss, LARGE_CATALOGUE_ITEMS, None, embeddings=False) == smaller
    assert sampled_batch(SampledSoftmax(), 800_000, None) == 2048
    assert sampled_batch(BPR(), 44_000, None) == SAMPLED_BATCH
    assert sampled_batch(SampledSoftmax(), 800_000, 64) == 64
    # MovieLens-like density: the dense softmax is cheaper; asked-for samples switch anyway.
    assert not use_sampled_softmax(943, 1682, 55_000, None)
    assert use_sampled_softmax(943, 1682, 55_000, 100)
    assert not use_sampled_softmax(943, 1682, 55_000, 1682)
    # Large catalogue, or few likes per user over many items: the sampled one.
    assert use_sampled_softmax(100, FULL_SOFTMAX_LIMIT + 1, 1000, None)
    assert use_sampled_softmax(100_000, 20_000, 200_000, None)


@pytest.mark.parametrize("loss", ["bpr", "warp", "wmrb", "logistic", "sampled_softmax"])
@pytest.mark.parametrize("row_wise", [False, True])
def test_the_xla_step_updates_the_model_as_the_plain_step_does(
    loss: str, row_wise: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tensorrec_explore import training

    monkeypatch.setattr(training, "XLA_MIN_LIKES", 0)
    if row_wise:  # every table takes Adam's row-wise step, inside XLA too
        monkeypatch.setattr(fused_adam, "LAZY_ADAM_VALUES", 0)
    data = make_planted()
    # the softmax with n_sampled_items below the catalogue trains its sampled form
    loss = "softmax" if loss == "sampled_softmax" else loss
    model = TensorRec(
        n_components=4, loss=loss, epochs=1, batch_size=64, n_sampled_items=8, random_state=0
    ).fit(data.interactions)
    trainer = model._fitted.trainer
    assert trainer.uses_xla
    state = trainer.network.trainable_variables + trainer.optimizer.variables
    before = [v.numpy() for v in state]
    batch = trainer._sampled_batch(
        tf.constant(1, tf.int64), *trainer._sampled_order(tf.constant([5, 6], tf.int64))
    )
    results = []
    for step in (trainer._epoch_step, trainer._sampled_step):  # XLA, then plain
        for variable, value in zip(state, before, strict=True):
            variable.assign(value)
        losses = [float(x) for x in step(*batch)]
        results.append((losses, [v.numpy() for v in state]))
    (xla_losses, xla_state), (plain_losses, plain_state) = results
    np.testing.assert_allclose(xla_losses, plain_losses, rtol=1e-4, atol=1e-6)
    # Adam's moments agree to float error; a weight's step divides its moments, which amplifies
    # that error where a gradient is ~0 (a user's bias under the softmax): 1e-3 against steps
    # of up to the rate (0.2).
    n_weights = len(trainer.network.trainable_variables)
    for index, (got, want) in enumerate(zip(xla_state, plain_state, strict=True)):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-3 if index < n_weights else 1e-6)
    assert any(not np.array_equal(got, old) for got, old in zip(xla_state, before, strict=True))


def test_xla_applies_only_where_it_compiles_and_pays(monkeypatch: pytest.MonkeyPatch) -> None:
    from tensorrec_explore import training

    data = make_planted()
    plain = {"n_components": 4, "loss": "bpr", "epochs": 1, "batch_size": 64, "random_state": 0}
    assert not TensorRec(**plain).fit(data.interactions)._fitted.trainer.uses_xla  # too small
    monkeypatch.setattr(training, "XLA_MIN_LIKES", 0)
    assert TensorRec(**plain).fit(data.interactions)._fitted.trainer.uses_xla
    no_xla = [
        # metadata features: the towers run a sparse matmul, which XLA does not compile
        (TensorRec(**plain), {"item_features": data.item_features}),
        # a deep tower: distinct-id passes of data-dependent size
        (TensorRec(**{**plain, "item_representation": "relu"}), {}),
    ]
    for model, features in no_xla:
        assert not model.fit(data.interactions, **features)._fitted.trainer.uses_xla
    explicit = make_planted(explicit=True).interactions  # dislikes: a varying count per step
    assert not TensorRec(**plain).fit(explicit)._fitted.trainer.uses_xla


def test_a_fit_through_the_xla_step_learns_the_planted_tastes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tensorrec_explore import training

    monkeypatch.setattr(training, "XLA_MIN_LIKES", 0)
    data = make_planted()
    model = TensorRec(n_components=8, loss="bpr", epochs=15, batch_size=64, random_state=0)
    model.fit(data.interactions)
    assert model._fitted.trainer.uses_xla
    assert evaluate(model, data.held_out, train=data.interactions, k=5).summary["auc"] > 0.9


def test_validation_and_streams_judge_candidates_by_the_training_rule(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The sampled softmax's validation loss and its streamed steps drop only accidental hits,
    # as the in-memory steps do: each path asks objectives.candidates_valid, with its loss.
    from tensorrec_explore import objectives, streaming, validation_loss

    seen = []

    def spy(path: str):
        def candidates_valid(loss, items, candidates, unliked):
            result = objectives.candidates_valid(loss, items, candidates, unliked)
            seen.append((path, type(loss).__name__, result))
            return result

        return candidates_valid

    monkeypatch.setattr(validation_loss, "candidates_valid", spy("validation"))
    monkeypatch.setattr(streaming, "candidates_valid", spy("stream"))
    interactions = sp.random(12, 9, density=0.4, format="csr", random_state=6, dtype=np.float32)
    interactions.data[:] = 1.0
    model = TensorRec(n_components=4, n_sampled_items=4, batch_size=3, epochs=1, random_state=0)
    model.fit(interactions)
    validation_loss.validation_loss(model, interactions)
    users, items = interactions.nonzero()
    pairs = tf.data.Dataset.from_tensor_slices((users.astype(np.int64), items.astype(np.int64)))
    TensorRec(n_components=4, n_sampled_items=4, epochs=1, random_state=0).fit_stream(pairs, 12, 9)
    assert {(path, name) for path, name, _ in seen} == {
        ("validation", "SampledSoftmax"),
        ("stream", "SampledSoftmax"),
    }
    validation_valid = next(result for path, _, result in seen if path == "validation")
    assert validation_valid.numpy().min() == 0  # some candidate is a like's own item


def test_every_sampled_softmax_path_trains_with_batches_larger_than_its_candidates(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Batches of 64 likes, of which the first 16 are in-batch candidates: in memory, streamed
    # and in the validation loss the [p, 16] scores line up with their log-Q, and the planted
    # answer is found.
    from tensorrec_explore import validation_loss

    monkeypatch.setattr(SampledSoftmax, "in_batch_candidates", 16)
    data = make_planted()
    params = {"n_components": 8, "n_sampled_items": 8, "batch_size": 64, "random_state": 0}
    memory = TensorRec(**params).fit(data.interactions)
    assert type(memory._fitted.trainer.loss).__name__ == "SampledSoftmax"
    users, items = data.interactions.nonzero()
    pairs = tf.data.Dataset.from_tensor_slices((users.astype(np.int64), items.astype(np.int64)))
    stream = TensorRec(**params).fit_stream(pairs, *data.interactions.shape)
    for model in (memory, stream):
        losses = [log["loss"] for log in model.history_.logs]
        assert np.isfinite(losses).all() and losses[-1] < losses[0]
        assert evaluate(model, data.held_out, train=data.interactions, k=5).summary["auc"] > 0.9
    assert np.isfinite(validation_loss.validation_loss(memory, data.held_out))


def test_a_linear_subclass_changing_call_is_run_through_its_call() -> None:
    # identity_rows stands for call only where the class hierarchy keeps them together
    from tensorrec_explore.representations import Linear, NormalizedLinear, looks_up_ids

    class Doubled(Linear):
        def call(self, features):
            return 2.0 * super().call(features)

    assert looks_up_ids(Linear()) and looks_up_ids(NormalizedLinear())
    assert not looks_up_ids(Doubled())
    data = make_planted()
    model = TensorRec(
        n_components=4, loss="bpr", epochs=1, batch_size=64, user_representation=Doubled()
    ).fit(data.interactions)
    # the training steps look up the items' rows but run the users' Doubled.call
    assert not model._fitted.network.users_look_up and model._fitted.network.items_look_up
