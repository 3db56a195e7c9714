# %% [markdown]
# # Getting started: from raw ratings to recommendations
#
# This notebook walks the whole path with `tensorrec_explore`:
#
# 1. read raw ratings into a pandas `DataFrame`,
# 2. turn them into an `InteractionDataset` (ids → indices, titles, item features),
# 3. split them the way the benchmark does, fit a `TensorRec` model and **evaluate** it
#    (precision, recall, NDCG at 10) against a most-popular baseline,
# 4. **recommend** movies by title for one user,
# 5. **save** the model, load it back and check that it scores exactly the same,
# 6. use **explicit likes and dislikes**, so that what a user disliked sinks in their ranking
#    (on the ratings, then on planted data where the reason for a dislike is known).
#
# It is sized to run quickly on a laptop CPU (the last cell prints the seconds it took). It
# reads MovieLens 100k from disk (no download): set the environment variable
# `TENSORREC_EXPLORE_DATA` to a folder holding `ml-100k/`, or keep the project's layout
# (`../../shared/data/ml-100k`). Without the files it says so and uses
# built-in synthetic ratings instead, so every cell still runs.

# %%
import json
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # keep TensorFlow's start-up logs quiet

import numpy as np
import pandas as pd

from tensorrec_explore import TensorRec
from tensorrec_explore.data import FeatureTable, InteractionDataset, make_synthetic, random_holdout
from tensorrec_explore.metrics import evaluate

started = time.perf_counter()
RESULTS = {}  # every number the prose relies on; printed as one JSON line at the end

# %% [markdown]
# ## 1. Raw ratings
#
# MovieLens 100k: 100,000 ratings (1–5 stars) by 943 users of 1,682 movies, plus each movie's
# title and genres. We read the original tab- and pipe-separated files with pandas; nothing here
# is specific to MovieLens: any frame with a user column, an item column and a value works.

# %%
DATA = Path(os.environ.get("TENSORREC_EXPLORE_DATA", "../../shared/data")) / "ml-100k"

if (DATA / "u.data").is_file():
    SOURCE = "movielens-100k"
    ratings = pd.read_csv(DATA / "u.data", sep="\t", names=["user", "movie", "stars", "timestamp"])
    genre_names = pd.read_csv(DATA / "u.genre", sep="|", header=None)[0].tolist()
    movies = pd.read_csv(
        DATA / "u.item",
        sep="|",
        encoding="latin-1",
        header=None,
        names=["movie", "title", "released", "video", "url", *genre_names],
    )
    movies["genres"] = [
        "|".join(g for g, flag in zip(genre_names, row, strict=False) if flag)
        for row in movies[genre_names].to_numpy()
    ]
    movies = movies[["movie", "title", "genres"]]
else:
    SOURCE = "synthetic"
    print(
        f"MovieLens 100k was not found in {DATA.resolve()} (no u.data there).\n"
        "Using built-in synthetic ratings instead: 600 users, 400 'movies' in 8 taste "
        "clusters.\nFor the real data, download ml-100k.zip from "
        "https://grouplens.org/datasets/movielens/100k/ and set TENSORREC_EXPLORE_DATA to the "
        "folder that holds ml-100k/."
    )
    synthetic = make_synthetic("clean", seed=0)
    pairs = synthetic.interactions.tocoo()
    noise = np.random.default_rng(0).normal(0.0, 0.5, pairs.nnz)
    affinity = synthetic.truth.affinity[pairs.row, pairs.col]  # 1 = the user's own cluster
    ratings = pd.DataFrame(
        {
            "user": pairs.row + 1,
            "movie": pairs.col + 1,
            "stars": np.clip(np.rint(3.0 + 2.0 * affinity + noise), 1, 5).astype(int),
            "timestamp": np.arange(pairs.nnz),
        }
    )
    movies = pd.DataFrame(
        {
            "movie": np.arange(1, synthetic.n_items + 1),
            "title": synthetic.item_titles,
            "genres": [f"cluster {c}" for c in synthetic.truth.item_clusters],
        }
    )

print(f"{SOURCE}: {len(ratings):,} ratings")
ratings.head()

# %%
movies.head()

# %% [markdown]
# ## 2. An `InteractionDataset`
#
# `InteractionDataset.from_frame` maps the raw user and movie ids to row and column indices,
# builds a sparse users × items matrix of the star values, and encodes the movie table: a
# `FeatureTable` says that `genres` holds several tags separated by `|` and that `title` is for
# display. The dataset remembers the raw ids (`ds.user_ids`, `ds.item_index(raw_id)`) and the
# titles (`ds.item_titles`).

# %%
genres = FeatureTable(movies, "movie", tags={"genres": "|"}, title_col="title")
ds = InteractionDataset.from_frame(
    ratings,
    "user",
    "movie",
    value_col="stars",
    timestamp_col="timestamp",
    item_features=genres,
    name=SOURCE,
)
print(ds)
print("first item features:", ds.item_feature_names[:5], "...")

# %% [markdown]
# ## 3. Split, fit, evaluate
#
# For a ranking model, "liked" means 4 stars or more (`to_implicit(4)`); everything else is
# unobserved. `random_holdout` holds out 20% of every user's liked movies for testing (the
# protocol of the project's benchmark, seed 42), and guarantees that no (user, movie) pair is in
# both parts.
#
# The model below is the default TensorRec: a linear representation (one learned vector per
# user and per movie), dot-product scores and the softmax loss, with 32 components and 10
# epochs.

# %%
liked = ds.to_implicit(4)
split = random_holdout(liked.interactions, seed=42)
print(split)

t0 = time.perf_counter()
model = TensorRec(n_components=32, epochs=10, random_state=42).fit(split.train)
print(f"fitted in {time.perf_counter() - t0:.1f} s; last epoch: {model.history_.logs[-1]}")

# %% [markdown]
# `evaluate` ranks every movie for every test user, leaves out the movies the user already had
# in training (`train=`), and compares the top 10 with the held-out movies. As a yardstick we
# score the same way with a baseline that recommends the most popular movies to everybody.

# %%
report = evaluate(model, split.test, train=split.train, k=10)
popularity = np.asarray(split.train.sum(axis=0), dtype=np.float32).ravel()
baseline = evaluate(np.tile(popularity, (ds.n_users, 1)), split.test, train=split.train, k=10)

metrics = ["precision@10", "recall@10", "ndcg@10"]
table = pd.DataFrame(
    {
        "TensorRec": [report.summary[m] for m in metrics],
        "most popular": [baseline.summary[m] for m in metrics],
    },
    index=metrics,
)
RESULTS["metrics"] = {m: round(report.summary[m], 4) for m in metrics}
RESULTS["popularity"] = {m: round(baseline.summary[m], 4) for m in metrics}
RESULTS["beats_popularity"] = all(report.summary[m] > baseline.summary[m] for m in metrics)
table.round(3)

# %%
assert RESULTS["beats_popularity"]
print(
    f"TensorRec beats the most-popular baseline on all three metrics "
    f"(NDCG@10 {report.summary['ndcg@10']:.3f} vs {baseline.summary['ndcg@10']:.3f})."
)

# %% [markdown]
# The model beats the most-popular baseline on precision, recall and NDCG (the cell above
# checks it). `report.per_user` holds the same metrics user by user, and `report.to_frame()`
# turns them into a DataFrame.
#
# ## 4. Recommend, with titles
#
# `recommend` returns item indices and scores; `exclude=split.train` leaves out what the user
# already liked. The indices map back to titles (and raw ids) through the dataset. Here is the
# first user, next to a few movies they liked in training; ✓ marks a recommendation that is one
# of their held-out movies.

# %%
user_raw_id = ds.user_ids[0]
user = ds.user_index(user_raw_id)
items, scores = model.recommend([user], k=10, exclude=split.train)
held_out = set(split.test[user].indices)

print(f"User {user_raw_id} liked, among others:")
for title in ds.item_titles[split.train[user].indices[:5]]:
    print("   ", title)
recommendations = pd.DataFrame(
    {
        "title": ds.item_titles[items[0]],
        "raw id": ds.item_ids[items[0]],
        "score": scores[0].round(3),
        "held out": ["✓" if i in held_out else "" for i in items[0]],
    }
)
RESULTS["user_hits@10"] = int(sum(i in held_out for i in items[0]))
recommendations

# %% [markdown]
# ## 5. Save and load
#
# `model.save(folder)` writes the weights and the configuration atomically (to a temporary
# folder, then renamed); `TensorRec.load(folder)` gives back a model that scores **exactly** as
# the original (not just approximately: we compare every score of 100 users bit for bit).

# %%
some_users = np.arange(min(100, ds.n_users))
with tempfile.TemporaryDirectory() as tmp:
    model.save(Path(tmp) / "movielens-model")
    loaded = TensorRec.load(Path(tmp) / "movielens-model")

before, after = model.score_users(some_users), loaded.score_users(some_users)
RESULTS["save_load_max_abs_diff"] = float(np.abs(before - after).max())
RESULTS["save_load_identical"] = bool(np.array_equal(before, after))
assert RESULTS["save_load_identical"]
print(f"{before.size:,} scores compared, largest difference: {RESULTS['save_load_max_abs_diff']}")

# %% [markdown]
# ## 6. Explicit likes and dislikes
#
# So far a 2-star rating was simply dropped: the model never learnt that the user *watched and
# disliked* the movie. Watching says a lot about taste, so a model trained on likes only tends
# to rank a user's future dislikes *high*: they look like the things the user watches.
#
# `to_explicit(4)` keeps every rating, as +1 (4–5 stars: liked) or −1 (1–3 stars: disliked).
# TensorRec reads values below zero as dislikes, and every loss that samples negatives (`bpr`,
# `wmrb`, `warp`, `logistic`...) pushes disliked items below the unobserved ones.
#
# We split the signed ratings the same way (`binary=False` keeps the −1s), then train BPR twice
# with the same settings: once on the likes only, once on likes **and** dislikes. For each
# model we measure where held-out movies land in each user's ranking, as a percentile
# (1.0 = top of the list, 0.5 = the middle).

# %%
explicit = ds.to_explicit(4)
signed = random_holdout(explicit.interactions, seed=42, binary=False)
print(
    signed,
    f"— {(signed.train.data < 0).sum():,} dislikes in train, "
    f"{(signed.test.data < 0).sum():,} in test",
)


def percentile_ranks(scores):
    """Each item's position in its user's ranking: 1.0 = first, 0.0 = last."""
    return scores.argsort(axis=1).argsort(axis=1) / (scores.shape[1] - 1)


def where_things_land(scores, split):
    ranks = percentile_ranks(scores)
    train, test = split.train.tocoo(), split.test.tocoo()
    unobserved = np.ones(ranks.shape, dtype=bool)
    unobserved[train.row, train.col] = unobserved[test.row, test.col] = False
    return {
        "held-out liked": ranks[test.row[test.data > 0], test.col[test.data > 0]].mean(),
        "held-out disliked": ranks[test.row[test.data < 0], test.col[test.data < 0]].mean(),
        "unobserved": ranks[unobserved].mean(),
    }


settings = {
    "n_components": 32,
    "loss": "bpr",
    "epochs": 5,
    "n_sampled_items": 64,
    "random_state": 42,
}
likes_only = (signed.train > 0).astype(np.float32)
implicit_model = TensorRec(**settings).fit(likes_only)
explicit_model = TensorRec(**settings).fit(signed.train)  # +1 liked, -1 disliked

landing = pd.DataFrame(
    {
        "likes only": where_things_land(implicit_model.predict(), signed),
        "likes and dislikes": where_things_land(explicit_model.predict(), signed),
    }
)
RESULTS["percentile"] = {
    col: {k: round(float(v), 4) for k, v in landing[col].items()} for col in landing.columns
}
landing.round(3)

# %%
only, both = RESULTS["percentile"]["likes only"], RESULTS["percentile"]["likes and dislikes"]
assert only["held-out disliked"] > only["unobserved"]
assert both["held-out disliked"] < both["unobserved"] < both["held-out liked"]
assert both["held-out liked"] < only["held-out liked"]  # the price, discussed below
print(
    f"Likes only: held-out dislikes at percentile {only['held-out disliked']:.2f}, above the "
    f"unobserved movies ({only['unobserved']:.2f}).\n"
    f"Likes and dislikes: held-out dislikes at {both['held-out disliked']:.2f}, below the "
    f"unobserved movies ({both['unobserved']:.2f}); held-out likes stay high "
    f"({both['held-out liked']:.2f})."
)

# %% [markdown]
# Trained on likes only, the model ranks the movies a user will dislike **above** the average
# unobserved movie: it has no way to tell "watched and hated" from "watched and loved". Told
# about dislikes, the same model ranks them **below** the unobserved movies, while the
# held-out likes stay well above them (the cell above checks all three).
#
# The price: the explicit model also learns that "watched" is not "liked", so its held-out
# likes sit lower than with likes only (see the table; checked above too). Which one you want depends on
# whether showing a disliked movie costs more than missing a liked one.
#
# ### The same lesson on planted data
#
# Why does it work? `make_synthetic(dislikes=True)` plants the mechanism, so the answer is known:
# users pick items by taste (as in every synthetic dataset), each item has one of four hidden
# *styles*, and each user dislikes (−1) the items of one style and likes (+1) the rest. Taste
# alone cannot tell a future dislike from a like; the style can only be learnt from the −1s.
# Same split, same settings, same measure:

# %%
planted = make_synthetic("clean", seed=0, dislikes=True)
planted_split = random_holdout(planted.interactions, seed=42, binary=False)
planted_likes_only = TensorRec(**settings).fit((planted_split.train > 0).astype(np.float32))
planted_both = TensorRec(**settings).fit(planted_split.train)
planted_landing = pd.DataFrame(
    {
        "likes only": where_things_land(planted_likes_only.predict(), planted_split),
        "likes and dislikes": where_things_land(planted_both.predict(), planted_split),
    }
)
RESULTS["planted_percentile"] = {
    col: {k: round(float(v), 4) for k, v in planted_landing[col].items()}
    for col in planted_landing.columns
}
planted_landing.round(3)

# %%
only, both = (RESULTS["planted_percentile"][c] for c in ("likes only", "likes and dislikes"))
assert only["held-out disliked"] > only["unobserved"]
assert both["held-out disliked"] < both["unobserved"] < both["held-out liked"]
print(
    f"Planted styles, likes only: held-out dislikes at {only['held-out disliked']:.2f} "
    f"(unobserved {only['unobserved']:.2f}); likes and dislikes: at "
    f"{both['held-out disliked']:.2f}, held-out likes at {both['held-out liked']:.2f}."
)

# %% [markdown]
# The same picture as with the real ratings (the cell above checks it): without the −1s the
# model ranks a user's future dislikes far above the items they never touched; with them, it
# learns the hidden style and sinks them to the bottom.
#
# In the explorer, `Explorer.lesson("explicit-dislikes")` trains both runs on this dataset (the
# run setting *Learn from dislikes* off, then on). The runs table's `dislike auc` is the chance
# that a held-out dislike scores above an unobserved item (0.5: no different), and the
# inspector marks a user's held-out dislikes ✗ (red triangles on the map).
#
# ## Where next
#
# * `02_custom_representation.ipynb`: write your own representation function as a Keras layer.
# * `03_custom_loss.ipynb`: write your own loss and compare it with WMRB and BPR.
# * `04_why_deep_representations.ipynb`: when a deep (ReLU) representation beats a linear one.
# * `explorer.ipynb`: train interactively and watch the embeddings move.

# %%
RESULTS["source"] = SOURCE
RESULTS["seconds"] = round(time.perf_counter() - started, 1)
print("RESULT " + json.dumps(RESULTS))
