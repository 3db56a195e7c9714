"""Import plotly's widget stack without a dependency that costs seconds for nothing here.

plotly's ``FigureWidget`` imports ``plotly.io``, which imports ``nbformat``, which imports
``jsonschema``. When ``rfc3987-syntax`` is installed (Jupyter's ``jupyter-events`` asks for
``jsonschema[format-nongpl]``), jsonschema imports it to check the "iri" string format, and
importing it builds 38 Lark grammars in every kernel that shows the explorer, most of the
explorer's page load (measured in ``benchmarks/README.md``, "Figures behind design choices").
No jsonschema validation the explorer causes uses
that format, so :func:`import_jsonschema_quickly` imports jsonschema with rfc3987-syntax hidden
(jsonschema skips that optional checker, as it would were the package not installed) and then
un-hides it, so a later ``import rfc3987_syntax`` works as usual.
"""

from __future__ import annotations

import contextlib
import sys

_SLOW = "rfc3987_syntax"


def import_jsonschema_quickly() -> None:
    """Import jsonschema (if installed and not yet imported) without rfc3987-syntax."""
    if "jsonschema" in sys.modules or _SLOW in sys.modules:
        return
    sys.modules[_SLOW] = None  # type: ignore[assignment]  # makes `import` raise ImportError
    try:
        with contextlib.suppress(ImportError):
            import jsonschema  # noqa: F401
    finally:
        if sys.modules.get(_SLOW, 0) is None:
            del sys.modules[_SLOW]
