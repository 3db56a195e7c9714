# %% [markdown]
# # Your own representation function, as a Keras layer
#
# A TensorRec model is built from four parts: a **user representation**, an **item
# representation**, a **prediction** function and a **loss**. A representation turns a batch of
# feature rows `[batch, n_features]` into vectors `[batch, n_components]`; the prediction
# function (`dot` by default) scores a user vector against an item vector.
#
# The built-ins (`linear`, `normalized_linear`, `pass_through`, `weighted_pass_through`,
# `relu`) cover the classics, but **any Keras layer** that maps `[batch, n_features]` to
# `[batch, n_components]` is a representation too. In this notebook we
#
# 1. write a two-layer tower as a Keras layer, registered as serializable so models using it
#    save and load,
# 2. plug it in for the **items** (ranking brand-new items from their features),
# 3. plug the same class in for the **users**,
# 4. save and load a model that uses it,
# 5. register it by name, so that it appears in the explorer's dropdowns, and train it there,
# 6. give each user **several tastes** (`n_tastes`): several user representations, the best
#    one scoring each item.
#
# Everything runs on built-in synthetic data (no download) and is sized to run quickly on a
# laptop CPU (the last cell prints the seconds it took).

# %%
import json
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # keep TensorFlow's start-up logs quiet

import keras
import numpy as np
import pandas as pd

import tensorrec_explore
from tensorrec_explore import TensorRec
from tensorrec_explore.data import cold_start_items, make_synthetic, random_holdout
from tensorrec_explore.metrics import evaluate

started = time.perf_counter()
RESULTS = {}  # every number the prose relies on; printed as one JSON line at the end

# %% [markdown]
# ## 1. The layer
#
# Three things make a Keras layer a good representation:
#
# * `call(features)` receives a **dense** float32 batch `[batch, n_features]` (the model
#   densifies the sparse feature rows for custom layers) and returns `[batch, n_components]`;
# * `build()` creates the weights once the input width is known, and `get_config()` returns
#   the constructor arguments, and the class is decorated with
#   `@keras.saving.register_keras_serializable()`, so `model.save()` / `TensorRec.load()` can
#   rebuild it;
# * its default arguments make a usable layer, because the explorer builds a registered class
#   with no arguments (so `n_components=16` here matches the explorer's default width).


# %%
@keras.saving.register_keras_serializable(package="tutorial")
class TwoLayerTower(keras.layers.Layer):
    """features -> Dense(hidden, GELU) -> Dense(n_components)."""

    def __init__(self, n_components=16, hidden=64, **kwargs):
        super().__init__(**kwargs)
        self.n_components = n_components
        self.hidden = hidden
        self.hidden_layer = keras.layers.Dense(hidden, activation="gelu")
        self.output_layer = keras.layers.Dense(n_components)

    def build(self, input_shape):
        self.hidden_layer.build(input_shape)
        self.output_layer.build((*input_shape[:-1], self.hidden))

    def call(self, features):
        return self.output_layer(self.hidden_layer(features))

    def get_config(self):
        return {**super().get_config(), "n_components": self.n_components, "hidden": self.hidden}


# %% [markdown]
# ## 2. For the items: ranking new items from their features
#
# The synthetic dataset plants the answer: 600 users and 400 items belong to 8 taste clusters,
# and users mostly pick items of their own cluster. In the `"nonlinear"` flavour an item's
# features are random bits, and its cluster is encoded by the XOR of pairs of bits: no single
# feature says anything about the cluster, only combinations do.
#
# `cold_start_items` removes every interaction of 20% of the items from training. The model has
# to rank those **cold items** from their features alone (users enter by identity). We compare
# the tower with the built-in `linear` representation, both with 16 components, and evaluate on
# the cold items only.

# %%
ds = make_synthetic("nonlinear", seed=0)
cold_split = cold_start_items(ds.interactions, fraction=0.2, seed=42)
cold = cold_split.cold_items
item_features = ds.features("item", mode="features")  # no identity columns: features only
print(ds)
print(cold_split)
print("item features:", ds.item_feature_names)


def cold_item_metrics(model):
    scores = model.predict(item_features=item_features)[:, cold]
    report = evaluate(scores, cold_split.test[:, cold], train=cold_split.train[:, cold], k=10)
    return {m: report.summary[m] for m in ("precision@10", "ndcg@10", "auc")}


cold_results = {}
for name, item_representation in [
    ("linear (built-in)", "linear"),
    ("TwoLayerTower", TwoLayerTower(n_components=16)),
]:
    t0 = time.perf_counter()
    model = TensorRec(
        n_components=16, item_representation=item_representation, epochs=40, random_state=42
    )
    model.fit(cold_split.train, item_features=item_features)
    cold_results[name] = {**cold_item_metrics(model), "seconds": time.perf_counter() - t0}
    if name == "TwoLayerTower":
        tower_model = model

RESULTS["cold_items"] = {
    name: {k: round(v, 4) for k, v in row.items() if k != "seconds"}
    for name, row in cold_results.items()
}
pd.DataFrame(cold_results).T.round(3)

# %%
tower, linear = RESULTS["cold_items"]["TwoLayerTower"], RESULTS["cold_items"]["linear (built-in)"]
assert tower["auc"] > linear["auc"] + 0.2 and tower["ndcg@10"] > linear["ndcg@10"] + 0.2
assert linear["auc"] < 0.6
print(
    f"Cold items, AUC: TwoLayerTower {tower['auc']:.3f}, linear {linear['auc']:.3f} "
    f"(0.5 = random order). NDCG@10: {tower['ndcg@10']:.3f} vs {linear['ndcg@10']:.3f}."
)

# %% [markdown]
# The tower ranks the cold items far better than the linear representation, whose AUC is close
# to 0.5, a random order (the cell above checks both). A linear representation gives each
# feature one vector and sums them, so it cannot express "bit 0 XOR bit 1"; one hidden layer
# can. `04_why_deep_representations.ipynb` looks at this in depth, with the built-in `relu`
# representation.
#
# ## 3. The same class for the users
#
# A representation does not know whether it serves users or items. Here the users are described
# by their features (one indicator of their cluster) instead of their identity, and the items
# by identity, on an ordinary random holdout. We compare with a most-popular baseline.

# %%
holdout = random_holdout(ds.interactions, seed=42)
user_features = ds.features("user", mode="features")
print("user features:", ds.user_feature_names)

user_model = TensorRec(
    n_components=16, user_representation=TwoLayerTower(n_components=16), epochs=20, random_state=42
)
user_model.fit(holdout.train, user_features=user_features)
losses = [logs["loss"] for logs in user_model.history_.logs]
user_report = evaluate(user_model, holdout.test, train=holdout.train, k=10)

popularity = np.asarray(holdout.train.sum(axis=0), dtype=np.float32).ravel()
pop_report = evaluate(np.tile(popularity, (ds.n_users, 1)), holdout.test, train=holdout.train, k=10)
RESULTS["users"] = {
    "first_loss": round(losses[0], 4),
    "last_loss": round(losses[-1], 4),
    "ndcg@10": round(user_report.summary["ndcg@10"], 4),
    "popularity_ndcg@10": round(pop_report.summary["ndcg@10"], 4),
}
assert losses[-1] < losses[0]
assert user_report.summary["ndcg@10"] > pop_report.summary["ndcg@10"]
print(
    f"loss {losses[0]:.3f} -> {losses[-1]:.3f} over {len(losses)} epochs; NDCG@10 "
    f"{user_report.summary['ndcg@10']:.3f} vs {pop_report.summary['ndcg@10']:.3f} for "
    "the most-popular baseline"
)

# %% [markdown]
# It learns (the loss falls) and beats recommending the most popular items (both checked
# above). Since users are described by their cluster only, all users of a cluster share one
# vector: the tower learnt one taste per cluster.
#
# ## 4. Save and load
#
# Because `TwoLayerTower` is registered with Keras and has a `get_config`, a model using it
# round-trips through `save` / `load` (in another process, import or define the class before
# calling `TensorRec.load`). The loaded model scores exactly as the original.

# %%
with tempfile.TemporaryDirectory() as tmp:
    tower_model.save(Path(tmp) / "tower-model")
    reloaded = TensorRec.load(Path(tmp) / "tower-model")

before = tower_model.predict(item_features=item_features)
after = reloaded.predict(item_features=item_features)
RESULTS["save_load_identical"] = bool(np.array_equal(before, after))
assert RESULTS["save_load_identical"]
loaded_layer = reloaded.get_params()["item_representation"].inner  # the KerasRepresentation's layer
print(
    "identical scores after loading; the loaded item representation is a",
    type(loaded_layer).__name__,
    loaded_layer.get_config()["hidden"],
    "hidden units",
)

# %% [markdown]
# ## 5. In the explorer's dropdowns
#
# `tensorrec_explore.register_representation(name, cls)` gives the layer a name. Models accept
# the name (`TensorRec(item_representation="two_layer_tower")`), and every explorer, even one
# already on screen, lists it in its user and item representation dropdowns at once.
#
# We open the explorer on the same dataset with item *features* (not ids) and read the
# dropdown's options from code. The explorer is displayed too: in JupyterLab you can pick the
# tower yourself and press *Train*.

# %%
from tensorrec_explore.explorer import Explorer

explorer = Explorer(
    ds, item_feature_set="features", n_components=16, epochs=10, val_every=5, warm_umap=False
)
before_registering = list(explorer.panels.config.item_representation.options)
tensorrec_explore.register_representation("two_layer_tower", TwoLayerTower, overwrite=True)
item_options = list(explorer.panels.config.item_representation.options)
user_options = list(explorer.panels.config.user_representation.options)

RESULTS["dropdown"] = {
    "before": "two_layer_tower" in before_registering,
    "items": "two_layer_tower" in item_options,
    "users": "two_layer_tower" in user_options,
}
assert RESULTS["dropdown"] == {"before": False, "items": True, "users": True}
print("item representations offered:", item_options)
explorer

# %% [markdown]
# Choosing it and pressing *Train* is one line each from code: the widgets write into
# `explorer.state`, and `explorer.train(wait=True)` presses *Train* and waits for the run.
# The finished run lands in the *Compare runs* table.

# %%
explorer.panels.config.item_representation.value = "two_layer_tower"
explorer.train(wait=True)
print(explorer.state.message)
runs = explorer.panels.runs.frame
RESULTS["explorer_run"] = {
    "status": explorer.state.status,
    "item_representation": runs["item_representation"].iloc[-1],
    "ndcg@10": round(float(runs["ndcg@10"].iloc[-1]), 4),
}
assert RESULTS["explorer_run"]["status"] == "finished", explorer.state.error
assert RESULTS["explorer_run"]["item_representation"] == "two_layer_tower"
runs[
    [
        "run",
        "user_representation",
        "item_representation",
        "item_feature_set",
        "loss",
        "precision@10",
        "ndcg@10",
        "auc",
        "seconds",
    ]
].round(3)

# %% [markdown]
# ## 6. Several tastes per user
#
# A user representation gives each user one vector, and a dot product ranks items along that
# one direction. A user with two distinct tastes (say westerns and cooking shows) then gets a
# vector *between* them, and with few components it cannot point at both. `n_tastes=2` gives
# each user two vectors (two copies of the user representation, learnt together) and scores an
# item with the best of them, so each taste can point at its own cluster.
#
# `make_synthetic(tastes_per_user=2)` plants such users: each has two taste clusters, the
# second a minority one (about a third of their items); `temperature=0.1` makes users follow
# their tastes closely. We fit the same model with one and with two tastes, 3 components each,
# and measure the held-out NDCG and AUC, and the share of users whose top 10 holds items of
# *both* their planted tastes.

# %%
two_tastes = make_synthetic("clean", seed=0, tastes_per_user=2, temperature=0.1)
first, second = two_tastes.truth.user_tastes[:, [0]], two_tastes.truth.user_tastes[:, [1]]
taste_split = random_holdout(two_tastes.interactions, seed=42)
RESULTS["tastes"] = {}
for n_tastes in (1, 2):
    model = TensorRec(n_components=3, n_tastes=n_tastes, epochs=40, random_state=0)
    model.fit(taste_split.train)
    summary = evaluate(model, taste_split.test, train=taste_split.train, k=10).summary
    top, _ = model.recommend(np.arange(two_tastes.n_users), k=10, exclude=taste_split.train)
    clusters = two_tastes.truth.item_clusters[np.asarray(top)]
    both = (clusters == first).any(axis=1) & (clusters == second).any(axis=1)
    RESULTS["tastes"][f"n_tastes={n_tastes}"] = {
        "ndcg@10": round(summary["ndcg@10"], 4),
        "auc": round(summary["auc"], 4),
        "top 10 holds both tastes": round(float(both.mean()), 4),
    }
pd.DataFrame(RESULTS["tastes"])

# %%
one, two = RESULTS["tastes"]["n_tastes=1"], RESULTS["tastes"]["n_tastes=2"]
assert two["ndcg@10"] > one["ndcg@10"] + 0.05 and two["auc"] > one["auc"]
assert two["top 10 holds both tastes"] > max(0.5, one["top 10 holds both tastes"] + 0.1)
print(
    f"Two tastes per user: NDCG@10 {two['ndcg@10']:.3f} (one: {one['ndcg@10']:.3f}); the top 10 "
    f"of {two['top 10 holds both tastes']:.0%} of users holds both their tastes "
    f"(one: {one['top 10 holds both tastes']:.0%})."
)

# %% [markdown]
# With one vector, many users see only one of their tastes in their top 10; with two, most see
# both, and the held-out items rank clearly better (the cell above checks it). `n_tastes` is
# for users whose tastes one narrow vector cannot hold at once.
#
# In the explorer, `Explorer.lesson("tastes")` trains both runs on this dataset side by side
# (compare their NDCG@10 and AUC in *Compare runs*); selecting a user on the map draws one star
# per taste vector.

# %% [markdown]
# ## Recap
#
# * Any Keras layer `[batch, n_features] -> [batch, n_components]` is a representation; pass
#   an instance as `user_representation=` or `item_representation=`.
# * Decorate it with `@keras.saving.register_keras_serializable()` and give it `get_config()`
#   so that models using it save and load.
# * `register_representation(name, cls)` makes it available by name, in models and in the
#   explorer's dropdowns (give its arguments defaults: the explorer calls `cls()`).
# * `n_tastes=T` gives each user T representations, the best one scoring each item: for users
#   with several distinct tastes, above all with few components.
#
# Next: `03_custom_loss.ipynb` does the same for the loss.

# %%
RESULTS["seconds"] = round(time.perf_counter() - started, 1)
print("RESULT " + json.dumps(RESULTS))
