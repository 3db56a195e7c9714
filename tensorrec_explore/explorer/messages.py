"""How the explorer turns an exception into words for the screen."""

from __future__ import annotations

import traceback

from ..errors import TensorRecError


def error_text(exc: BaseException) -> tuple[str, str]:
    """``(message, detail)``: our own errors by their message alone (the message says what to
    fix); anything else as ``Type: message`` plus the traceback, shown folded."""
    if isinstance(exc, TensorRecError):
        return str(exc), ""
    return f"{type(exc).__name__}: {exc}", "".join(
        traceback.format_exception(type(exc), exc, exc.__traceback__)
    )


def error_message(exc: BaseException) -> str:
    return error_text(exc)[0]
