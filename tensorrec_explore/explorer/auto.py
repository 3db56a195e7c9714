"""What the form's "auto" settings stand for: the model's training recipe for the chosen parts.

The recipe (``tensorrec_explore.defaults``) depends on the loss and representation classes, which
live in TensorFlow modules: until TensorFlow is loaded (in the background, seconds after the
explorer appears) the form says "auto" alone, then "auto (0.15)".
"""

from __future__ import annotations

from typing import Any

from ..settings import SETTINGS
from .engine import engine_loaded


def auto_values(config: dict[str, Any], n_items: int = 0) -> dict[str, Any]:
    """Return what "auto" stands for: each setting with a ``recipe_field`` (``n_components``,
    ``learning_rate``, ``learning_rate_schedule``, ``epochs``) in the recipe the model would use
    for ``config``'s loss, representations and width on a catalogue of ``n_items`` (a dense
    loss in its sampled form when the samples asked for, or the catalogue's size, choose it);
    {} before TensorFlow is loaded or for names the registries do not know."""
    if not engine_loaded():
        return {}
    from ..defaults import large_catalogue_samples, recipe_for, use_sampled_softmax
    from ..losses import has_sampled_form
    from ..registry import LOSSES, REPRESENTATIONS

    names = (config["loss"], config["user_representation"], config["item_representation"])
    if names[0] not in LOSSES or not all(n in REPRESENTATIONS for n in names[1:]):
        return {}
    loss = LOSSES.get(names[0])
    given_samples = config.get("n_sampled_items") or None  # the form's 0 = auto
    recipe = recipe_for(
        loss,
        REPRESENTATIONS.get(names[1]),
        REPRESENTATIONS.get(names[2]),
        config.get("n_components") or None,
        dense=not (has_sampled_form(loss) and use_sampled_softmax(0, n_items, 0, given_samples)),
        large_catalogue=large_catalogue_samples(loss, n_items, given_samples) is not None,
    )
    return {s.name: getattr(recipe, s.recipe_field) for s in SETTINGS if s.recipe_field}
