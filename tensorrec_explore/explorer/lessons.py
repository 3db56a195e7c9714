"""Lessons in one call: each tutorial's point, set up in the explorer with the runs that show it.

A :class:`Lesson` names a dataset (built-in, no download), the settings every run shares, the
settings each run changes, and a sentence saying what to look at. ``Explorer.lesson(name)`` builds
the explorer on that dataset and trains the runs one after the other (each starts when the
previous one finishes, on the kernel's thread), so their curves and metrics end up side by side
in *Compare runs*. The claim each lesson states is the one its tutorial checks, and a test checks
it here too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import InputError, describe


@dataclass(frozen=True)
class Lesson:
    """A dataset, shared settings, one settings change per run, and what to look at."""

    title: str
    dataset: Callable[[], Any]
    settings: dict[str, Any]
    runs: tuple[dict[str, Any], ...]
    look_at: str
    tutorial: str
    extra: dict[str, Any] = field(default_factory=dict)


def _synthetic(flavour: str, **options: Any) -> Callable[[], Any]:
    def make() -> Any:
        from ..data import make_synthetic

        return make_synthetic(flavour, seed=0, **options)

    return make


LESSONS: dict[str, Lesson] = {
    "deep-towers": Lesson(
        title="A deep item tower learns what a linear one cannot",
        dataset=_synthetic("nonlinear"),
        settings={
            "item_feature_set": "features",
            "n_components": 16,
            "learning_rate": 0.03,
            "learning_rate_schedule": "constant",
            "epochs": 40,
            "val_every": 5,
            "random_state": 42,
        },
        runs=({"item_representation": "linear"}, {"item_representation": "relu"}),
        look_at="No single item feature says which cluster an item is in (pairs of bits do, "
        "like XOR). Compare the two runs' AUC and NDCG: the ReLU tower ranks held-out "
        "items well, the linear one barely beats chance. Colour items by cluster on the "
        "map: only the ReLU run gathers them.",
        tutorial="notebooks/02_custom_representation.ipynb, 04_why_deep_representations.ipynb",
    ),
    "losses": Lesson(
        title="Three ranking losses on the same data",
        dataset=_synthetic("clean"),
        settings={"n_components": 16, "epochs": 10, "val_every": 2, "random_state": 0},
        runs=({"loss": "bpr"}, {"loss": "wmrb"}, {"loss": "softmax"}),
        look_at="Every run ranks held-out items far above a most-popular baseline (each run's "
        "NDCG@10 is more than twice the baseline's). Overlay their NDCG curves: how fast "
        "each climbs is what the loss changes; the final loss values are on each loss's "
        "own scale, so compare metrics, not losses.",
        tutorial="notebooks/03_custom_loss.ipynb",
    ),
    "explicit-dislikes": Lesson(
        title="Told about dislikes, the model sinks them",
        dataset=_synthetic("clean", dislikes=True),
        settings={
            "loss": "bpr",
            "n_components": 16,
            "epochs": 10,
            "val_every": 2,
            "random_state": 0,
        },
        runs=({"learn_dislikes": False}, {"learn_dislikes": True}),
        look_at="Users watch items close to their taste and dislike (-1) those of one hidden "
        "style. Compare the runs' 'dislike auc', the chance that a held-out dislike scores above "
        "an item the user never touched: trained on likes only it is well above 0.5 (future "
        "dislikes look like likes), trained on likes and dislikes it falls far below 0.5. The "
        "price: the second run's NDCG@10 on held-out likes is lower. In the inspector (the last "
        "run), pick a user: their held-out dislikes (✗ in 'Held-out items'; red triangles on "
        "the map) rank below their held-out likes (✓), near the bottom.",
        tutorial="notebooks/01_getting_started.ipynb (section 6)",
    ),
    "tastes": Lesson(
        title="Two tastes per user reach what one vector cannot",
        dataset=_synthetic("clean", tastes_per_user=2, temperature=0.1),
        settings={"n_components": 3, "epochs": 40, "val_every": 5, "random_state": 0},
        runs=({"n_tastes": 1}, {"n_tastes": 2}),
        look_at="Every user likes two taste clusters, a second one less than the first. With 3 "
        "components one vector per user cannot point at both; two tastes can. Compare the "
        "runs' NDCG@10 and AUC: n_tastes=2 ranks held-out items clearly better (NDCG@10 higher "
        "by more than 0.05). On the map, select a user: the last run draws a star per taste "
        "vector (colour users by 'cluster' or 'second_cluster' to see the planted tastes).",
        tutorial="notebooks/02_custom_representation.ipynb (section 6, several tastes per user)",
    ),
}


def get_lesson(name: str) -> Lesson:
    """The lesson called ``name``; an InputError listing the lessons otherwise."""
    if name not in LESSONS:
        raise InputError(f"no lesson {describe(name)}; the lessons are: {', '.join(LESSONS)}.")
    return LESSONS[name]


class LessonRunner:
    """Trains a lesson's runs one after the other in an explorer (on the kernel's thread)."""

    def __init__(self, explorer: Any, lesson: Lesson):
        self.explorer = explorer
        self.lesson = lesson
        self.pending = list(lesson.runs)
        explorer.state.observe(self._on_status, names=["status"])
        explorer.state.observe(self._on_runs, names=["runs"])

    def start(self) -> None:
        """Train the first run (the next ones follow as each finishes)."""
        self._next()

    def _on_runs(self, change: Any) -> None:
        """A run's record arrived: its thread has nothing left to do, start the next one."""
        if self.pending and self.explorer.state.status == "finished":
            self._next()

    def _on_status(self, change: Any) -> None:
        if change["new"] in ("error", "stopped", "idle"):
            self.pending = []  # the person took over (or it failed): queue nothing more

    def _next(self) -> None:
        state = self.explorer.state
        changes = self.pending.pop(0)
        with state.hold_trait_notifications():
            for name, value in changes.items():
                setattr(state, name, value)
        self.explorer.controller.train()
