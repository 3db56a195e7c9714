"""PCA, Procrustes alignment and UMAP projections (UMAP tests are slow: numba compiles)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from tensorrec_explore.errors import InputError, MissingExtraError
from tensorrec_explore.projection import (
    Projection,
    align,
    pca_2d,
    project,
    umap_2d,
    warm_up_umap,
)


def planted_clusters(n_per: int, n_clusters: int, dim: int, seed: int = 0):
    """Tight Gaussian clusters around well separated centres; returns (points, labels)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_clusters, dim)) * 10
    labels = np.repeat(np.arange(n_clusters), n_per)
    return centres[labels] + rng.standard_normal((labels.size, dim)), labels


def pairwise(points: np.ndarray) -> np.ndarray:
    return np.linalg.norm(points[:, None, :] - points[None, :, :], axis=-1)


def neighbour_purity(layout: np.ndarray, labels: np.ndarray, k: int = 5) -> float:
    """Share of each point's k nearest layout neighbours that carry its label."""
    distances = pairwise(layout.astype(np.float64))
    np.fill_diagonal(distances, np.inf)
    nearest = np.argsort(distances, axis=1)[:, :k]
    return float((labels[nearest] == labels[:, None]).mean())


# ----------------------------------------------------------------------------- PCA


def test_pca_is_an_isometry_on_planar_data() -> None:
    rng = np.random.default_rng(1)
    plane = rng.standard_normal((200, 2)) * [5.0, 1.0]
    basis, _ = np.linalg.qr(rng.standard_normal((64, 2)))
    X = plane @ basis.T + rng.standard_normal(64)
    coords = pca_2d(X)
    assert coords.shape == (200, 2) and coords.dtype == np.float32
    np.testing.assert_allclose(pairwise(coords), pairwise(plane), atol=1e-4)
    assert coords[:, 0].var() > coords[:, 1].var()


def test_pca_keeps_two_clusters_apart_and_signs_are_deterministic() -> None:
    X, labels = planted_clusters(100, 2, 64)
    coords = pca_2d(X)
    first = coords[:, 0]
    assert first[labels == 0].max() < first[labels == 1].min() or (
        first[labels == 1].max() < first[labels == 0].min()
    )
    np.testing.assert_array_equal(pca_2d(X), coords)
    # Sign convention: each component's largest absolute loading is positive.
    loadings = coords.astype(np.float64).T @ (X - X.mean(axis=0))
    assert (loadings[np.arange(2), np.argmax(np.abs(loadings), axis=1)] > 0).all()


@pytest.mark.parametrize("n", [0, 1, 2])
def test_pca_with_fewer_than_three_points(n: int) -> None:
    X = np.arange(n * 5, dtype=float).reshape(n, 5) ** 2
    coords = pca_2d(X)
    assert coords.shape == (n, 2)
    assert np.isfinite(coords).all()
    if n == 2:
        assert np.linalg.norm(coords[0] - coords[1]) == pytest.approx(np.linalg.norm(X[0] - X[1]))


def test_pca_with_more_dimensions_than_points() -> None:
    X, _ = planted_clusters(10, 2, 300)
    coords = pca_2d(X)
    reference = np.linalg.svd(X - X.mean(axis=0), full_matrices=False)
    np.testing.assert_allclose(
        np.abs(coords), np.abs(reference[0][:, :2] * reference[1][:2]), rtol=1e-4, atol=1e-3
    )


# ----------------------------------------------------------------------------- align


@pytest.mark.parametrize("reflect", [False, True])
def test_align_recovers_a_rotated_reflected_scaled_shifted_copy(reflect: bool) -> None:
    rng = np.random.default_rng(2)
    previous = rng.standard_normal((300, 2)) * [3.0, 1.0]
    angle = 1.1
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    if reflect:
        rotation = rotation @ np.diag([1.0, -1.0])
    new = 0.37 * previous @ rotation + [40.0, -7.0]
    aligned = align(new, previous)
    assert aligned.dtype == np.float32
    np.testing.assert_allclose(aligned, previous, atol=1e-5)


def test_align_degenerate_layouts() -> None:
    previous = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 4.0]])
    np.testing.assert_allclose(align(np.ones((3, 2)), previous), [[2 / 3, 4 / 3]] * 3, atol=1e-6)
    assert align(np.zeros((0, 2)), np.zeros((0, 2))).shape == (0, 2)


def test_project_pca_aligns_to_previous_frame() -> None:
    X, _ = planted_clusters(50, 3, 16)
    first = project(X)
    assert isinstance(first, Projection) and first.method == "pca" and first.seconds >= 0
    rotated = first.coords @ np.array([[0.0, -1.0], [1.0, 0.0]])
    again = project(X, "pca", previous=rotated)
    np.testing.assert_allclose(again.coords, rotated, atol=1e-4)


# ----------------------------------------------------------------------------- errors


def test_bad_inputs() -> None:
    good = np.random.default_rng(0).standard_normal((10, 4))
    with pytest.raises(InputError, match=r"reshape\(-1"):
        pca_2d(np.zeros((5, 2, 4)))
    with pytest.raises(InputError, match="2-D"):
        pca_2d(np.zeros(5))
    bad = good.copy()
    bad[[3, 7], 1] = np.nan
    with pytest.raises(InputError, match=r"rows \[3, 7\]"):
        pca_2d(bad)
    with pytest.raises(InputError, match=r"rows \[3, 7\]"):
        umap_2d(bad)
    with pytest.raises(InputError, match="same points"):
        align(good[:, :2], good[:5, :2])
    with pytest.raises(InputError, match=r"expected \(10, 2\)"):
        umap_2d(good, init=np.zeros((9, 2)))
    with pytest.raises(InputError, match="n_neighbors"):
        umap_2d(good, n_neighbors=1)
    with pytest.raises(InputError, match="n_epochs"):
        umap_2d(good, n_epochs=0)
    with pytest.raises(InputError, match="method"):
        project(good, "tsne")


def test_missing_umap_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "umap", None)  # makes `import umap` raise ImportError
    with pytest.raises(MissingExtraError, match=r'pip install "tensorrec_explore\[explorer\]"'):
        umap_2d(np.random.default_rng(0).standard_normal((10, 4)))


def test_tiny_inputs_skip_umap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "umap", None)
    X = np.random.default_rng(0).standard_normal((3, 4))
    np.testing.assert_array_equal(umap_2d(X), pca_2d(X))


def test_import_does_not_load_umap_or_tensorflow() -> None:
    code = (
        "import sys, tensorrec_explore.projection, tensorrec_explore.metrics; "
        "print(sorted({'umap', 'tensorflow', 'numba'} & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


# ----------------------------------------------------------------------------- UMAP (slow)


@pytest.mark.slow
def test_umap_separates_planted_clusters_and_warm_starts() -> None:
    pytest.importorskip("umap")
    assert warm_up_umap(random_state=0) > 0
    X, labels = planted_clusters(40, 3, 16)
    layout = umap_2d(X, n_neighbors=10, random_state=0)
    assert layout.shape == (120, 2) and layout.dtype == np.float32
    assert neighbour_purity(layout, labels) > 0.95

    # Next frame: slightly moved points, started from the previous layout, aligned to it.
    moved = X + 0.05 * np.random.default_rng(1).standard_normal(X.shape)
    frame = project(moved, "umap", previous=layout, n_neighbors=10, n_epochs=50, random_state=0)
    assert frame.method == "umap" and frame.coords.shape == (120, 2)
    assert neighbour_purity(frame.coords, labels) > 0.95
    span = np.ptp(layout, axis=0).max()
    assert np.median(np.linalg.norm(frame.coords - layout, axis=1)) < 0.25 * span


def test_exact_knn_matches_brute_force() -> None:
    from tensorrec_explore.projection import exact_knn

    X = np.random.default_rng(3).standard_normal((257, 5)).astype(np.float32)
    indices, distances = exact_knn(X, 6, block=50)  # several blocks, a ragged last one
    full = np.sqrt(((X[:, None, :] - X[None, :, :]) ** 2).sum(-1))
    np.fill_diagonal(full, -1.0)
    expected = np.argsort(full, axis=1, kind="stable")[:, :6]
    np.testing.assert_array_equal(indices, expected)
    assert (indices[:, 0] == np.arange(257)).all()  # each point is its own first neighbour
    np.testing.assert_allclose(distances[:, 1:], np.sort(full, axis=1)[:, 1:6], atol=1e-4)
    assert (np.diff(distances, axis=1) >= -1e-6).all()


def test_umap_functions_are_compiled_with_numba_cache() -> None:
    from tensorrec_explore.umap_runtime import _caching

    calls = []

    def fake_njit(*args, **kwargs):
        calls.append(kwargs)
        return (lambda f: f) if not args else args[0]

    njit = _caching(fake_njit)

    def in_umap(x):
        return x

    def elsewhere(x):
        return x

    in_umap.__module__ = "umap.layouts"
    njit(in_umap, fastmath=True)  # njit(function)
    njit(fastmath=True)(in_umap)  # @njit(...)
    njit(cache=False)(in_umap)  # an explicit choice is kept
    njit(elsewhere)  # other libraries are left alone
    assert calls == [
        {"fastmath": True, "cache": True},
        {"fastmath": True, "cache": True},
        {"cache": False},
        {},
    ]


@pytest.mark.slow
def test_umap_reports_progress_and_can_be_cancelled() -> None:
    from tensorrec_explore.umap_runtime import Cancelled

    X = np.random.default_rng(0).standard_normal((300, 6))
    seen = []
    umap_2d(X, n_epochs=40, random_state=0, progress=lambda done, total: seen.append(total))
    assert len(seen) == 41 and set(seen) == {40}

    def cancel(done, total):
        if done == 5:
            raise Cancelled

    with pytest.raises(Cancelled):
        umap_2d(X, n_epochs=40, random_state=0, progress=cancel)
