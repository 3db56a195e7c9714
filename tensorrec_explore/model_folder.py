"""The model folder on disk: ownership, a lock, the two-rename swap and crash recovery.

Guarantees (POSIX; the lock is an ``fcntl.flock`` on ``.NAME.lock`` beside the folder, so a
crashed process never leaves a stale lock):

- a save never deletes what it did not write: it replaces only an empty folder or a folder that
  holds nothing but a TensorRec model's files; a regular file or a foreign folder is refused;
- saves and loads of one path are serialised (a save waits up to :data:`LOCK_SECONDS`, then
  raises :class:`~tensorrec_explore.errors.ModelFileError`);
- the swap is ``path -> .NAME.old``, ``staging -> path``, then ``.NAME.old`` is removed; a crash
  between the renames leaves the old model in ``.NAME.old``, which the next save or load (under
  the lock) moves back; stale staging folders are removed the same way.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

from .errors import ModelFileError

#: The files a saved model consists of; a folder holding anything else is not ours.
MODEL_FILES = frozenset({"config.json", "weights.npz", "data.npz"})
#: How long a save or load waits for another one on the same path.
LOCK_SECONDS = 60.0


def _backup(path: Path) -> Path:
    return path.with_name(f".{path.name}.old")


def is_model_folder(path: Path) -> bool:
    """True when ``path`` is a folder holding a model's ``config.json`` and nothing foreign."""
    if not path.is_dir() or path.is_symlink():
        return False
    names = {entry.name for entry in path.iterdir()}
    return "config.json" in names and names <= MODEL_FILES


def check_target(path: Path) -> None:
    """Raise ModelFileError unless saving to ``path`` replaces only a model (or nothing)."""
    if not path.exists() and not path.is_symlink():
        return
    if not path.is_dir() or path.is_symlink():
        raise ModelFileError(
            f"Cannot save a model to {path}: it is a file, not a model folder. Choose a new path "
            "(saving never replaces a file it did not write)."
        )
    names = sorted(entry.name for entry in path.iterdir())
    if names and not is_model_folder(path):
        foreign = [n for n in names if n not in MODEL_FILES][:5]
        raise ModelFileError(
            f"Cannot save a model to {path}: the folder holds files that are not a TensorRec "
            f"model (e.g. {foreign}). Saving replaces only an empty folder or a previous model; "
            "choose a new or empty folder."
        )


@contextlib.contextmanager
def locked(path: Path, *, required: bool = True) -> Iterator[None]:
    """Hold the lock of the model folder ``path`` (waiting up to :data:`LOCK_SECONDS`).

    ``required=False`` (loads) goes on without the lock where it cannot be created, e.g. in a
    read-only folder.
    """
    try:
        import fcntl
    except ImportError:  # not POSIX: no cross-process lock
        yield
        return
    lock_path = path.with_name(f".{path.name}.lock")
    try:
        handle = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as error:
        if required:
            raise ModelFileError(f"Cannot create the lock file {lock_path}: {error}") from error
        yield
        return
    try:
        deadline = time.monotonic() + LOCK_SECONDS
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise ModelFileError(
                        f"{path} is being saved or loaded by another process or thread for more "
                        f"than {LOCK_SECONDS:.0f} s; try again once it has finished."
                    ) from None
                time.sleep(0.02)
        yield
    finally:
        os.close(handle)  # closing releases the lock


def recover(path: Path) -> None:
    """Finish or undo an interrupted save of ``path`` (call with the lock held)."""
    backup = _backup(path)
    if is_model_folder(backup):
        if not path.exists():
            os.replace(backup, path)  # crashed between the renames: the old model comes back
        else:
            shutil.rmtree(backup)  # crashed after the swap, before the clean-up
    for stale in path.parent.glob(f".{path.name}.*.tmp"):
        if stale.is_dir() and {e.name for e in stale.iterdir()} <= MODEL_FILES:
            shutil.rmtree(stale, ignore_errors=True)


def swap_in(staging: Path, path: Path) -> None:
    """Move the complete model folder ``staging`` to ``path`` (call with the lock held)."""
    if not path.exists():
        os.replace(staging, path)
        return
    if not any(path.iterdir()):  # an empty folder: rename() replaces it in one step
        os.replace(staging, path)
        return
    backup = _backup(path)
    os.replace(path, backup)
    os.replace(staging, path)
    shutil.rmtree(backup, ignore_errors=True)
