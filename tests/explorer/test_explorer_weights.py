"""A dataset's weights reach the explorer's training: ``fit(..., sample_weight=...)``."""

from __future__ import annotations

import numpy as np
from explorer_support import train

from tensorrec_explore import TensorRec
from tensorrec_explore.data import InteractionDataset
from tensorrec_explore.explorer import Explorer


#: The ``sample_weight`` each RecordingModel's ``fit`` received (the factory builds new models).
RECEIVED: list = []


class RecordingModel(TensorRec):
    """A TensorRec that keeps the ``sample_weight`` each ``fit`` received in RECEIVED."""

    def fit(self, *args, sample_weight=None, **kwargs):
        RECEIVED.append(sample_weight)
        return super().fit(*args, sample_weight=sample_weight, **kwargs)


def test_the_dataset_weights_of_the_train_pairs_reach_fit(small_dataset):
    weights = small_dataset.interactions.copy()
    weights.data = np.random.default_rng(0).uniform(0.5, 5.0, weights.nnz).astype(np.float32)
    dataset = InteractionDataset(small_dataset.interactions, weights=weights, name="weighted")
    RECEIVED.clear()
    ex = Explorer(
        dataset,
        model_factory=RecordingModel,
        split="random_holdout",
        warm_umap=False,
        preload=False,
        epochs=2,
        n_components=8,
        random_state=0,
    )
    try:
        train(ex)
        assert ex.state.status == "finished", ex.state.error
        (given,) = RECEIVED
        trained_on = ex.controller.data()["train"]
        assert given is not None and given.nnz == trained_on.nnz < weights.nnz
        users, items = trained_on.nonzero()
        np.testing.assert_array_equal(
            np.asarray(given[users, items]).ravel(), np.asarray(weights[users, items]).ravel()
        )
    finally:
        ex.close()
