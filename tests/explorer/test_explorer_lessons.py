"""Lessons in one call: the right dataset, the runs side by side, and the tutorial's claim."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest
from explorer_support import wait_for

from tensorrec_explore.errors import InputError
from tensorrec_explore.explorer import Explorer


@contextmanager
def lesson_run(name: str, **kwargs) -> Iterator[Explorer]:
    """The explorer of lesson ``name`` once all its runs have finished; closed afterwards."""
    ex = Explorer.lesson(name, warm_umap=False, preload=False, **kwargs)
    try:
        n_runs = len(ex.lesson_runner.lesson.runs)
        assert wait_for(lambda: len(ex.state.runs) == n_runs or ex.state.status == "error", 900)
        ex.controller.join(300)
        assert ex.state.status == "finished", ex.state.error
        yield ex
    finally:
        ex.close()


@pytest.mark.slow
def test_deep_towers_lesson_shows_the_tutorials_claim():
    with lesson_run("deep-towers") as ex:
        frame = ex.runs_frame()
        assert list(frame["item_representation"]) == ["linear", "relu"]
        assert (frame["item_feature_set"] == "features").all()
        linear, relu = frame.iloc[0], frame.iloc[1]
        # tutorial 02 / 04: the tower beats the linear representation by more than 0.2 AUC
        assert relu["auc"] > linear["auc"] + 0.2, frame[["auc", "ndcg@10"]]
        assert "Lesson: A deep item tower" in ex.panels.status.lesson.value


@pytest.mark.slow
def test_losses_lesson_beats_popularity_twice_over():
    from tensorrec_explore.metrics import evaluate

    with lesson_run("losses") as ex:
        frame = ex.runs_frame()
        assert list(frame["loss"]) == ["bpr", "wmrb", "softmax"]
        data = ex.controller.data()
        popularity = np.asarray(data["train"].sum(axis=0), dtype=np.float32).ravel()
        baseline = evaluate(
            np.tile(popularity, (ex.state.n_users, 1)), data["test"], train=data["train"], k=10
        ).summary["ndcg@10"]
        assert (frame["ndcg@10"] > 2 * baseline).all(), (frame["ndcg@10"], baseline)


@pytest.mark.slow
def test_explicit_dislikes_lesson_sinks_held_out_dislikes():
    with lesson_run("explicit-dislikes") as ex:
        frame = ex.runs_frame()
        assert frame["learn_dislikes"].tolist() == [False, True]
        only, both = frame.iloc[0], frame.iloc[1]
        # tutorial 01, section 6: likes only ranks future dislikes above the unobserved items,
        # likes and dislikes sink them below; the price is a lower NDCG on held-out likes
        assert only["dislike auc"] > 0.6 and both["dislike auc"] < 0.3, frame["dislike auc"]
        assert both["ndcg@10"] < only["ndcg@10"]
        # the inspector (the last run): held-out dislikes rank below held-out likes, low
        s, inspector = ex.state, ex.panels.inspector
        ranks = {"liked ✓": [], "disliked ✗": []}
        for user in range(0, s.n_users, 20):
            s.selected_user = user
            for kind, rank in zip(
                inspector.test_frame["held out"], inspector.test_frame["rank"], strict=True
            ):
                ranks[kind].append(rank)
        assert np.mean(ranks["disliked ✗"]) > s.n_items / 2 > np.mean(ranks["liked ✓"])
        assert "Lesson: Told about dislikes" in ex.panels.status.lesson.value


@pytest.mark.slow
def test_tastes_lesson_two_tastes_rank_better():
    with lesson_run("tastes") as ex:
        frame = ex.runs_frame()
        assert frame["n_tastes"].tolist() == [1, 2] and (frame["n_components"] == 3).all()
        one, two = frame.iloc[0], frame.iloc[1]
        # tutorial 02 (tastes per user): two tastes rank held-out items clearly better
        assert two["ndcg@10"] > one["ndcg@10"] + 0.05, frame[["ndcg@10", "auc"]]
        assert two["auc"] > one["auc"]
        # the map draws one star per taste vector of the selected user
        ex.projector.wait_idle(120)
        ex.state.selected_user = 0
        assert len(ex.panels.embeddings.marks["selected user"].x) == 2


def test_unknown_lesson_lists_the_lessons():
    with pytest.raises(InputError, match="deep-towers"):
        Explorer.lesson("nope")


def test_stopping_a_lesson_queues_nothing_more():
    ex = Explorer.lesson("losses", warm_umap=False, preload=False, epochs=50)
    try:
        ex.panels.curves.stop_button.click()
        assert ex.controller.join(300)
        assert ex.lesson_runner.pending == [] and len(ex.state.runs) <= 1
        assert ex.state.status == "stopped"
    finally:
        ex.close()
