"""Exception types of tensorrec_explore.

Every message says what is wrong, the value (or shape) received, what was expected and how to
fix it. Each type also derives from the closest built-in exception so that ``except ValueError``
keeps working for callers who do not know this module.
"""

from __future__ import annotations


class TensorRecError(Exception):
    """Base class of every error raised on purpose by tensorrec_explore."""


class InputError(TensorRecError, ValueError):
    """An argument has the wrong shape, type, range or contents (NaN, empty, ids out of range)."""


class LeakageError(InputError):
    """Train and test interactions share (user, item) pairs, so an evaluation would be inflated."""


class UnknownPluginError(TensorRecError, ValueError):
    """A representation, prediction or loss name is not registered (the message lists the valid
    ones)."""


class NotFittedError(TensorRecError, RuntimeError):
    """A method that needs a trained model was called before ``fit``."""


class TrainingError(TensorRecError, RuntimeError):
    """Training cannot proceed (diverged to NaN, or the loss cannot learn from the data given)."""


class ValidationLossUnavailable(TensorRecError, ValueError):
    """The model's loss cannot be evaluated on the held-out interactions given; the message
    reads "validation loss not available for <loss>: <why>"."""


class DataNotFoundError(TensorRecError, FileNotFoundError):
    """A dataset's files are missing; the message says which files and where to put them."""


class ModelFileError(TensorRecError, OSError):
    """A saved model cannot be read (missing, corrupt, or a custom class that cannot be found)."""


class MissingExtraError(TensorRecError, ImportError):
    """An optional dependency is missing; the message gives the exact pip command."""


def describe(value: object, limit: int = 60) -> str:
    """Return a short ``repr`` of ``value`` for error messages (long values are cut)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
