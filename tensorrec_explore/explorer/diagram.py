"""The model, described stage by stage for the diagram panel (no widgets here).

TensorRec explains itself with one picture: features -> representation function -> user / item
representation -> prediction function -> score, and a loss comparing scores with interactions.
:func:`describe` fills that picture for a configuration: each stage's label (feature shapes,
layers, parameter counts, output width, tastes; the loss's inputs) and two sentences saying what
it does and what changing it does to the explorer's pictures. Layer sizes and parameter counts
need the representation classes (TensorFlow): before it is loaded they are left out.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

from .auto import auto_values
from .engine import engine_loaded
from .validation import feature_count

REPRESENTATION_TEXT = {
    "linear": "One learned vector per feature column, summed over the row's features (an "
    "embedding table). Cheap and strong on ids; it cannot express interactions "
    "between features, so items with messy, correlated features blur together.",
    "normalized_linear": "A linear representation scaled to unit length: only directions "
    "matter. Popular and unpopular items stop differing in norm, so the "
    "map shows taste clusters rather than popularity.",
    "pass_through": "The features themselves are the representation (no weights). Useful to "
    "see what the raw features already separate; it needs as many components as "
    "feature columns.",
    "weighted_pass_through": "The features times one learned weight each: the raw feature "
    "space, rescaled. It shows which features the loss finds useful.",
    "relu": "ReLU hidden layers, then a linear output: a deep tower. It learns non-linear "
    "combinations of features that a linear embedding cannot, so items with similar "
    "behaviour but different features can meet on the map.",
}
PREDICTION_TEXT = {
    "dot": "The score is the dot product of the user and item vectors (plus biases): length "
    "counts, so popular items tend to grow long vectors and rank high for everyone.",
    "cosine": "The score is the cosine of the angle between the vectors: only direction counts, "
    "so the map's angles are what ranks items.",
    "euclidean": "The score is minus the distance between the vectors: near is liked, so the "
    "map's distances are the ranking.",
}
LOSS_INPUTS = {
    "dense": "every user's score for every item, each step",
    "sampled": "each like against a sample of other items",
    "observed": "the observed (user, item, value) pairs only",
}
LOSS_TEXT = {
    "softmax": "Each liked item competes with the whole catalogue (a softmax over the scores): "
    "strong ranking on implicit data.",
    "bpr": "Each liked item must outscore a sampled unobserved one (Bayesian personalised "
    "ranking): pairwise, fast.",
    "warp": "Sampled items are drawn until one outscores the liked item, and the penalty grows "
    "with how rarely that happens (WARP): it pushes the top of the ranking.",
    "wmrb": "A hinge on sampled items, weighted by an estimate of the liked item's rank "
    "(WMRB, TensorRec's own loss).",
    "balanced_wmrb": "WMRB with likes and dislikes balanced.",
    "logistic": "Likes vs sampled items as a binary classification.",
    "rmse": "Predict the observed values themselves (regression): scores approximate ratings, "
    "not rankings.",
    "rmse_dense": "Regression on every (user, item) cell, unobserved ones as 0.",
    "separation": "Separate the scores of likes and dislikes as distributions.",
    "separation_dense": "Separate likes from every other cell as distributions.",
}


@dataclass(frozen=True)
class Stage:
    """One box of the diagram: ``key`` (e.g. "user_features"), a short ``label`` and an
    ``explanation`` (what it does, what changing it does to the pictures)."""

    key: str
    label: str
    explanation: str


#: (registered plug-in, n_features, n_components) -> (layer summary, parameter count): the
#: diagram redraws on every change of the form, building a layer only for a new shape.
_LAYER_CACHE: dict[tuple, tuple[str, int | None]] = {}


def _layers(name: str, n_features: int | None, n_components: int) -> tuple[str, int | None]:
    """(layer summary, parameter count) of a representation built for ``n_features`` inputs;
    ("", None) before TensorFlow is loaded or for a layer that cannot be built here."""
    if not engine_loaded() or n_features is None:
        return "", None
    from ..registry import REPRESENTATIONS

    try:
        key = (REPRESENTATIONS.get(name), n_features, n_components)
        if key not in _LAYER_CACHE:
            _LAYER_CACHE[key] = _build_summary(name, n_features, n_components)
        return _LAYER_CACHE[key]
    except Exception:
        return "", None


def _build_summary(name: str, n_features: int, n_components: int) -> tuple[str, int]:
    from ..representations import make_representation

    layer = make_representation(name)
    if hasattr(layer, "configure"):
        layer.configure(n_components, 0)
    with warnings.catch_warnings():  # Keras warns about custom layers built by shape
        warnings.simplefilter("ignore")
        layer.build((None, n_features))
    if hasattr(layer, "kernels"):  # a deep tower: its widths, input to output
        widths = [n_features, *(int(kernel.shape[1]) for kernel in layer.kernels)]
        return " → ".join(map(str, widths)), int(layer.count_params())
    inner = getattr(layer, "inner", None)  # a custom model: its layers
    parts = [type(sub).__name__ for sub in getattr(inner, "layers", [])]
    return " · ".join(parts), int(layer.count_params())


def _loss_inputs(name: str) -> str:
    if not engine_loaded():
        return ""
    from ..registry import LOSSES

    try:
        return getattr(LOSSES.get(name), "inputs", "")
    except Exception:
        return ""


def describe(config: dict[str, Any], dataset: Any) -> list[Stage]:
    """The diagram's stages for ``config`` (``ExplorerState.config()``) on ``dataset``."""
    d, tastes = config["n_components"], config["n_tastes"]
    d = d or auto_values(config).get("n_components", "auto")  # the form's 0 = auto
    stages = []
    for side, n in (("user", dataset.n_users), ("item", dataset.n_items)):
        feature_set = config[f"{side}_feature_set"]
        width = feature_count(dataset, side, feature_set)
        shape = f"{n:,} × {width:,}" if width else f"{n:,} × ?"
        stages.append(
            Stage(
                f"{side}_features",
                f"{side} features ({feature_set})\n{shape}",
                f"Each {side} is a row of features: 'ids' gives every {side} its own column, so "
                f"the model learns a free vector per {side}; 'features' uses the dataset's "
                f"columns, so {side}s with similar features get similar vectors (and new ones can "
                f"be scored). With features, the map groups {side}s by what they are rather than "
                "by who liked them.",
            )
        )
        name = config[f"{side}_representation"]
        layers, params = _layers(name, width, d)
        out = f"→ {d}" + (f" × {tastes} tastes" if side == "user" and tastes > 1 else "")
        label = "\n".join(
            x
            for x in (
                f"{side} tower",
                name,
                layers,
                f"{params:,} parameters" if params is not None else "",
                out,
            )
            if x
        )
        stages.append(
            Stage(
                f"{side}_representation",
                label,
                REPRESENTATION_TEXT.get(
                    name,
                    "A custom representation (any Keras layer): it maps the feature rows to "
                    "vectors of n_components. Its layers are listed when TensorFlow is loaded.",
                ),
            )
        )
    prediction = config["prediction"]
    tastes_text = " (the best of the user's tastes)" if tastes > 1 else ""
    stages.append(
        Stage(
            "prediction",
            f"prediction: {prediction}{tastes_text}",
            PREDICTION_TEXT.get(prediction, "A custom prediction function."),
        )
    )
    stages.append(
        Stage(
            "scores",
            f"scores\n{dataset.n_users:,} × {dataset.n_items:,}",
            "One score per (user, item): the inspector ranks a user's items by it "
            "and the metrics compare that ranking with held-out likes. Biases add "
            "a per-item (and per-user) constant when 'User / item biases' is on.",
        )
    )
    loss, inputs = config["loss"], _loss_inputs(config["loss"])
    uses = f"\nuses {LOSS_INPUTS[inputs]}" if inputs in LOSS_INPUTS else ""
    stages.append(
        Stage(
            "loss",
            f"loss: {loss}{uses}",
            LOSS_TEXT.get(
                loss,
                "A custom loss: it declares which scores it needs "
                "(dense, sampled or observed) and returns a scalar.",
            )
            + " Changing it changes what the curves measure and how the map "
            "arranges users around the items they like.",
        )
    )
    return stages
