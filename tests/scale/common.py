"""Shared settings of the scale tests (imported by the test process and by the subprocesses)."""

from __future__ import annotations

from tests.core.planted import make_planted

#: The planted dataset's 129 likes in a few global batches, so sharding matters.
PARAMS = {
    "n_components": 8,
    "epochs": 40,
    "batch_size": 48,
    "n_sampled_items": 12,
    "learning_rate": 0.05,
    "random_state": 1,
}


def planted():
    """Return the core tests' planted dataset (3 taste clusters, known held-out likes)."""
    return make_planted()
