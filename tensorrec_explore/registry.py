"""Name <-> plug-in registries for representations, predictions and losses.

Built-ins are registered as ``"module:Class"`` paths and resolved on first use, so listing the
names (for error messages and the explorer's dropdowns) never imports TensorFlow. Users add their
own plug-ins with :func:`register_representation`, :func:`register_prediction` and
:func:`register_loss`; the explorer's dropdowns show them as soon as they are registered.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from .errors import UnknownPluginError, describe


def import_path(path: str) -> Any:
    """Return the object named by ``"package.module:Qualified.name"`` (importing the module)."""
    module_name, _, qualname = path.partition(":")
    if not qualname:
        raise ValueError(f"expected 'module:name', got {path!r}")
    target: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        target = getattr(target, part)
    return target


class Registry:
    """A mapping from snake_case names to plug-in classes (or factories) of one kind."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Any] = {}
        self._listeners: list[Callable[[str], None]] = []

    def register(self, name: str, plugin: Any, *, overwrite: bool = False) -> Any:
        """Register ``plugin`` (a class, a factory or a ``"module:attr"`` path) under ``name``.

        Returns ``plugin`` so the method can decorate a class. Registering a taken name raises
        unless ``overwrite=True``.
        """
        if not isinstance(name, str) or not name.isidentifier():
            raise UnknownPluginError(
                f"{self.kind} name must be a snake_case identifier, got {describe(name)}."
            )
        if name in self._entries and not overwrite and self._entries[name] is not plugin:
            raise UnknownPluginError(
                f"{self.kind} name {name!r} is already registered; pass overwrite=True to "
                "replace it."
            )
        self._entries[name] = plugin
        for listener in list(self._listeners):
            listener(name)
        return plugin

    def names(self) -> list[str]:
        """Return the registered names, built-ins first, in registration order."""
        return list(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def get(self, name: str) -> Any:
        """Return the class (or factory) registered under ``name``."""
        if name not in self._entries:
            raise UnknownPluginError(
                f"Unknown {self.kind} {name!r}; valid names are: {', '.join(self.names())}."
            )
        entry = self._entries[name]
        if isinstance(entry, str):
            entry = self._entries[name] = import_path(entry)
        return entry

    def name_of(self, plugin: Any) -> str | None:
        """Return the name under which ``plugin``'s class is registered, or None."""
        cls = plugin if isinstance(plugin, type) else type(plugin)
        for name, entry in self._entries.items():
            if entry is cls or (
                isinstance(entry, str)
                and entry.endswith(":" + cls.__name__)
                and entry.split(":")[0] == cls.__module__
            ):
                return name
        return None

    def observe(self, listener: Callable[[str], None]) -> None:
        """Call ``listener(name)`` whenever a plug-in is registered (the explorer's dropdowns)."""
        self._listeners.append(listener)

    def unobserve(self, listener: Callable[[str], None]) -> None:
        """Stop calling ``listener``."""
        if listener in self._listeners:
            self._listeners.remove(listener)


REPRESENTATIONS = Registry("representation")
PREDICTIONS = Registry("prediction")
LOSSES = Registry("loss")

for _name, _cls in [
    ("linear", "Linear"),
    ("normalized_linear", "NormalizedLinear"),
    ("pass_through", "PassThrough"),
    ("weighted_pass_through", "WeightedPassThrough"),
    ("relu", "ReLU"),
]:
    REPRESENTATIONS.register(_name, f"tensorrec_explore.representations:{_cls}")
for _name, _cls in [("dot", "Dot"), ("cosine", "Cosine"), ("euclidean", "Euclidean")]:
    PREDICTIONS.register(_name, f"tensorrec_explore.predictions:{_cls}")
for _name, _cls in [
    ("rmse", "RMSE"),
    ("rmse_dense", "RMSEDense"),
    ("separation", "Separation"),
    ("separation_dense", "SeparationDense"),
    ("wmrb", "WMRB"),
    ("balanced_wmrb", "BalancedWMRB"),
    ("bpr", "BPR"),
    ("warp", "WARP"),
    ("logistic", "Logistic"),
    ("softmax", "Softmax"),
]:
    LOSSES.register(_name, f"tensorrec_explore.losses:{_cls}")


def register_representation(name: str, plugin: Any, *, overwrite: bool = False) -> Any:
    """Register a custom representation (Keras layer class, factory or instance) under ``name``."""
    return REPRESENTATIONS.register(name, plugin, overwrite=overwrite)


def register_prediction(name: str, plugin: Any, *, overwrite: bool = False) -> Any:
    """Register a custom prediction function class under ``name``."""
    return PREDICTIONS.register(name, plugin, overwrite=overwrite)


def register_loss(name: str, plugin: Any, *, overwrite: bool = False) -> Any:
    """Register a custom loss class under ``name``."""
    return LOSSES.register(name, plugin, overwrite=overwrite)
