"""The public API's docstrings follow numpydoc: a summary, then Parameters / Returns sections.

A light structural check (no numpydoc dependency): every public function, class and method
listed here has a docstring; one that takes arguments has a "Parameters" section naming each of
them; one that returns a value has a "Returns" (or "Yields") section. Overrides of documented
hooks (Keras' ``build`` / ``call``, the callbacks' ``on_*``) inherit their base's docstring and
are not listed.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import tensorrec_explore
from tensorrec_explore import callbacks, data, metrics, registry, settings
from tensorrec_explore.data import dataset, features, frames, movielens, splits

LAZY_OR_ELSEWHERE = {"TensorRec"}  # imports TensorFlow: checked by its own test below


def _members(cls: type) -> Iterator[tuple[str, Any]]:
    """The class itself, then the methods it defines (not inherited, not private)."""
    yield cls.__qualname__, cls
    for name, value in vars(cls).items():
        if name.startswith("_"):
            continue
        function = value.__func__ if isinstance(value, (classmethod, staticmethod)) else value
        if inspect.isfunction(function):
            yield f"{cls.__qualname__}.{name}", function


def _public(module: Any, names: list[str]) -> Iterator[tuple[str, Any]]:
    for name in names:
        value = getattr(module, name)
        if inspect.isclass(value):
            if issubclass(value, Exception):
                yield value.__qualname__, value  # errors: a summary suffices
            else:
                yield from _members(value)
        elif inspect.isfunction(value):
            yield value.__qualname__, value


def _documented() -> list[tuple[str, Any]]:
    top = [n for n in tensorrec_explore.__all__ if n not in LAZY_OR_ELSEWHERE]
    objects = [
        *_public(tensorrec_explore, [n for n in top if n not in ("LOSSES", "PREDICTIONS")]),
        *_public(data, data.__all__),
        *_public(metrics, [n for n in metrics.__all__ if n != "Scorer"]),
        *_public(registry, ["Registry", "import_path"]),
        *_public(callbacks, ["ValidationMetrics", "ProgressBar", "callback_chain"]),
        *_public(dataset, ["InteractionDataset"]),
        *_public(features, ["FeatureEncoder"]),
        *_public(frames, [n for n in frames.__all__ if n != "FeatureSide"]),
        *_public(movielens, ["cache_dir"]),
        *_public(splits, ["Split"]),
        *_public(settings, ["Setting", "check_all", "bind", "registry", "saved_scalars"]),
    ]
    return [(name, value) for name, value in objects if not isinstance(value, registry.Registry)]


def _plugins() -> list[tuple[str, Any]]:
    """The plug-in factories and classes (TensorFlow); their Keras hooks are not listed."""
    from tensorrec_explore import losses, predictions, representations, training, validation_loss

    classes = [
        representations.Representation,
        representations.ReLU,
        representations.KerasRepresentation,
        predictions.Prediction,
    ]
    functions = [
        representations.make_representation,
        representations.seeded_construction,
        representations.clone_representation,
        representations.features_matmul,
        predictions.make_prediction,
        predictions.Prediction.pairwise,
        predictions.Prediction.elementwise,
        losses.make_loss,
        losses.Loss.call,
        losses.Loss.dislike_term,
        validation_loss.validation_loss,
        validation_loss.unavailable_reason,
        training.dense_dislike_inputs,
    ]
    return [(c.__qualname__, c) for c in classes] + [(f.__qualname__, f) for f in functions]


def _explorer() -> list[tuple[str, Any]]:
    pytest.importorskip("ipywidgets")
    from tensorrec_explore.explorer import Explorer

    return list(_members(Explorer))


def _arguments(function: Callable) -> list[str]:
    names = []
    for parameter in inspect.signature(function).parameters.values():
        if parameter.name in ("self", "cls") or parameter.name.startswith("_"):
            continue
        prefix = {parameter.VAR_POSITIONAL: "*", parameter.VAR_KEYWORD: "**"}.get(
            parameter.kind, ""
        )
        names.append(prefix + parameter.name)
    return names


def _section(doc: str, title: str) -> str:
    """The text of a numpydoc section (empty when absent)."""
    match = re.search(
        rf"^{title}\n-{{{len(title)}}}\n(.*?)(?=^\w[\w ]*\n-+\n|\Z)", doc, re.M | re.S
    )
    return match.group(1) if match else ""


def _returns_value(function: Callable) -> bool:
    annotation = inspect.signature(function).return_annotation
    return annotation not in (inspect.Signature.empty, None, "None")


def _check(name: str, obj: Any) -> None:
    doc = inspect.getdoc(obj)
    assert doc and doc.strip(), f"{name} has no docstring"
    if inspect.isclass(obj) and issubclass(obj, Exception):
        return
    function = obj.__init__ if inspect.isclass(obj) else obj
    if (
        inspect.isclass(obj)
        and "__init__" not in vars(obj)
        and not hasattr(obj, "__dataclass_fields__")
    ):
        return  # an inherited constructor is documented by its base
    arguments = _arguments(function)
    if arguments:
        parameters = _section(doc, "Parameters")
        assert parameters, f"{name} takes {arguments} but its docstring has no Parameters section"
        named = {
            name.strip()
            for line in parameters.splitlines()
            if line and not line[0].isspace()
            for name in line.split(" : ")[0].split(",")
        }
        missing = [a for a in arguments if a not in named]
        assert not missing, f"{name}'s Parameters section does not name {missing}"
    if not inspect.isclass(obj) and _returns_value(function):
        assert _section(doc, "Returns") or _section(doc, "Yields"), (
            f"{name} returns a value but its docstring has no Returns section"
        )


@pytest.mark.parametrize(
    ("name", "obj"), _documented(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_public_docstring_has_numpydoc_sections(name: str, obj: Any) -> None:
    _check(name, obj)


def test_plugin_docstrings_have_numpydoc_sections() -> None:
    for name, obj in _plugins():
        _check(name, obj)


def test_explorer_docstrings_have_numpydoc_sections() -> None:
    for name, obj in _explorer():
        _check(name, obj)


def test_model_docstrings_have_numpydoc_sections() -> None:
    from tensorrec_explore.model import TensorRec
    from tensorrec_explore.queries import Queries

    for name, obj in [*_members(TensorRec), *_members(Queries)]:
        _check(name, obj)
