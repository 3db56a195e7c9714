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
    """Return the object a ``"module:attr"`` path names, importing its module.

    Parameters
    ----------
    path : str
        ``"package.module:Qualified.name"``.

    Returns
    -------
    object
        The attribute.

    Raises
    ------
    ValueError
        If ``path`` has no ``":"`` part (paths are written by this package, not by users).
    ImportError, AttributeError
        If the module or the attribute does not exist.
    """
    module_name, _, qualname = path.partition(":")
    if not qualname:
        raise ValueError(f"expected 'module:name', got {path!r}")
    target: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        target = getattr(target, part)
    return target


class Registry:
    """A mapping from snake_case names to plug-in classes (or factories) of one kind.

    Parameters
    ----------
    kind : str
        What the plug-ins are (``"representation"``, ``"prediction"``, ``"loss"``), for messages.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Any] = {}
        self._listeners: list[Callable[[str], None]] = []

    def register(self, name: str, plugin: Any, *, overwrite: bool = False) -> Any:
        """Register a plug-in under a name; listeners (the explorer's dropdowns) are told.

        Parameters
        ----------
        name : str
            A snake_case identifier.
        plugin : class, factory or str
            The plug-in, or a ``"module:attr"`` path resolved on first :meth:`get`.
        overwrite : bool, default False
            Replace a plug-in already registered under ``name``.

        Returns
        -------
        object
            ``plugin`` itself, so the method can decorate a class.

        Raises
        ------
        UnknownPluginError
            If ``name`` is not an identifier, or is taken (by another plug-in) and ``overwrite``
            is False.
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
        """Return the registered names.

        Returns
        -------
        list of str
            Built-ins first, in registration order.
        """
        return list(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def get(self, name: str) -> Any:
        """Return the plug-in registered under a name.

        Parameters
        ----------
        name : str
            A registered name.

        Returns
        -------
        object
            The class (or factory); a ``"module:attr"`` entry is imported on first use.

        Raises
        ------
        UnknownPluginError
            If ``name`` is not registered (the message lists the valid names).
        """
        if name not in self._entries:
            raise UnknownPluginError(
                f"Unknown {self.kind} {name!r}; valid names are: {', '.join(self.names())}."
            )
        entry = self._entries[name]
        if isinstance(entry, str):
            entry = self._entries[name] = import_path(entry)
        return entry

    def name_of(self, plugin: Any) -> str | None:
        """Return the name a plug-in's class is registered under.

        Parameters
        ----------
        plugin : class or instance
            The plug-in (an instance stands for its class).

        Returns
        -------
        str or None
            The name, or None when the class is not registered.
        """
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
        """Call ``listener(name)`` whenever a plug-in is registered (the explorer's dropdowns).

        Parameters
        ----------
        listener : callable
            Called with the registered name.
        """
        self._listeners.append(listener)

    def unobserve(self, listener: Callable[[str], None]) -> None:
        """Stop calling ``listener`` (nothing happens if it was not observing).

        Parameters
        ----------
        listener : callable
            A listener given to :meth:`observe`.
        """
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
    """Register a custom representation under a name (the explorer's dropdowns show it).

    Parameters
    ----------
    name, overwrite
        As in :meth:`Registry.register`.
    plugin : Keras layer class, factory or instance
        The representation.

    Returns
    -------
    object
        ``plugin``, unchanged.

    Raises
    ------
    UnknownPluginError
        As in :meth:`Registry.register`.
    """
    return REPRESENTATIONS.register(name, plugin, overwrite=overwrite)


def register_prediction(name: str, plugin: Any, *, overwrite: bool = False) -> Any:
    """Register a custom prediction class under a name.

    Parameters
    ----------
    name, overwrite
        As in :meth:`Registry.register`.
    plugin : type
        A subclass of :class:`~tensorrec_explore.predictions.Prediction`.

    Returns
    -------
    type
        The class given.

    Raises
    ------
    UnknownPluginError
        As for :func:`register_representation`.
    """
    return PREDICTIONS.register(name, plugin, overwrite=overwrite)


def register_loss(name: str, plugin: Any, *, overwrite: bool = False) -> Any:
    """Register a :class:`~tensorrec_explore.losses.Loss` subclass under a name.

    Parameters
    ----------
    name : str
        A snake_case identifier (see :meth:`Registry.register`).
    plugin : type
        The loss class; it declares its ``inputs`` (see :mod:`tensorrec_explore.losses`).
    overwrite : bool, default False
        Replace a loss already registered under ``name``.

    Returns
    -------
    type
        ``plugin``.

    Raises
    ------
    UnknownPluginError
        If ``name`` is not an identifier, or is taken and ``overwrite`` is False.
    """
    return LOSSES.register(name, plugin, overwrite=overwrite)
