"""A tiny fake ml-100k archive (GroupLens layout) for download tests that stay off the network."""

from __future__ import annotations

import hashlib
import io
import zipfile


def ml100k_files() -> dict[str, bytes]:
    """Return the three ml-100k files for 12 users x 10 items (each user rates 6 or 7 items)."""
    users, items = range(1, 13), range(1, 11)
    ratings = "".join(
        f"{u}\t{i}\t{1 + (u * i) % 5}\t88125{u:02d}{i:02d}\n"
        for u in users
        for i in items
        if (u + i) % 3
    )
    flags = "|".join("1" if g == 4 else "0" for g in range(19))
    movies = "".join(f"{i}|Movie {i} (1995)|01-Jan-1995||http://x|{flags}\n" for i in items)
    people = "".join(f"{u}|{20 + u}|{'MF'[u % 2]}|writer|{85700 + u}\n" for u in users)
    return {
        "u.data": ratings.encode(),
        "u.item": movies.encode("latin-1"),
        "u.user": people.encode(),
    }


def ml100k_zip() -> tuple[bytes, str]:
    """Return the zipped ``ml-100k/`` folder and its sha256."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in ml100k_files().items():
            archive.writestr(f"ml-100k/{name}", content)
    data = buffer.getvalue()
    return data, hashlib.sha256(data).hexdigest()


def serve_fake_archive(monkeypatch) -> list[str]:
    """Make load_movielens' download fetch the fake archive; return the list of URLs asked."""
    from tensorrec_explore.data import movielens

    data, digest = ml100k_zip()
    asked: list[str] = []

    def urlopen(url, timeout=None):
        asked.append(url)
        return io.BytesIO(data)

    monkeypatch.setattr(movielens.urllib.request, "urlopen", urlopen)
    monkeypatch.setitem(movielens._SHA256, "ml-100k", digest)
    return asked
