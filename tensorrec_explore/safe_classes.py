"""Which classes a model file may name: the trust rule of :func:`TensorRec.load`.

A model file is data, never code. With ``safe_mode=True`` (the default) a class named in a
file is resolved only when it is

- a built-in of tensorrec_explore or Keras,
- registered in one of the registries (``register_representation`` / ``_prediction`` /
  ``_loss``) or with ``@keras.saving.register_keras_serializable()`` in this process, or
- defined in a module the caller lists in ``allowed_modules`` (a package allows its
  submodules).

Nothing else is imported, so a file cannot make ``load`` import or call arbitrary code;
such a class raises :class:`~tensorrec_explore.errors.ModelFileError` naming it and the
``allowed_modules=(...)`` that would allow it. ``safe_mode=False`` trusts the file entirely.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .errors import ModelFileError
from .registry import LOSSES, PREDICTIONS, REPRESENTATIONS, import_path

#: Modules whose classes every model file may name (ours, and Keras' own).
_BUILT_IN_MODULES = (
    "keras",
    "tensorrec_explore.representations",
    "tensorrec_explore.predictions",
    "tensorrec_explore.losses",
)


def _inside(module: str, packages: Iterable[str]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def _entry_path(entry: Any) -> str:
    if isinstance(entry, str):
        return entry
    cls = entry if isinstance(entry, type) else type(entry)
    return f"{cls.__module__}:{cls.__qualname__}"


@dataclass
class TrustRule:
    """The classes a load may resolve (see the module docstring)."""

    safe_mode: bool = True
    allowed_modules: tuple[str, ...] = ()
    _paths: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        if isinstance(self.allowed_modules, str):
            self.allowed_modules = (self.allowed_modules,)
        bad = [m for m in self.allowed_modules if not isinstance(m, str) or not m]
        if bad:
            raise ModelFileError(f"allowed_modules must be module names (str), got {bad!r}.")
        self.allowed_modules = tuple(self.allowed_modules)
        for registry in (REPRESENTATIONS, PREDICTIONS, LOSSES):
            self._paths.update(_entry_path(registry._entries[n]) for n in registry.names())
        import keras

        self._paths.update(_entry_path(obj) for obj in keras.saving.get_custom_objects().values())

    def allows(self, module: str | None, name: str) -> bool:
        """True when the class ``module:name`` may be resolved from a file."""
        if not self.safe_mode:
            return True
        if module is None:  # Keras then looks only in its own and the registered objects
            return True
        return (
            _inside(module, _BUILT_IN_MODULES)
            or _inside(module, self.allowed_modules)
            or f"{module}:{name}" in self._paths
        )

    def refusal(self, path: Any, what: str, module: str, name: str) -> ModelFileError:
        """The error for a class of ``what`` that this rule does not allow."""
        return ModelFileError(
            f"The model at {path} names the class {module}:{name} for its {what}, which is not "
            "trusted: loading never imports code a file names. If you trust this file, pass "
            f"TensorRec.load(path, allowed_modules=({module!r},)), or register the class "
            "(register_representation / register_prediction / register_loss, or "
            "@keras.saving.register_keras_serializable) before loading."
        )

    def check_keras_config(self, config: Any, path: Any, what: str) -> None:
        """Raise when a Keras serialized ``config`` names a class this rule does not allow."""
        if isinstance(config, dict):
            if "class_name" in config:
                module = config.get("module")
                name = str(
                    config.get("config")
                    if config.get("class_name") == "function"
                    else config.get("class_name")
                )
                if module is not None and not isinstance(module, str):
                    raise ModelFileError(f"The model at {path} has a malformed {what} entry.")
                if not self.allows(module, name):
                    raise self.refusal(path, what, module, name)
            for value in config.values():
                self.check_keras_config(value, path, what)
        elif isinstance(config, list):
            for value in config:
                self.check_keras_config(value, path, what)

    def resolve(self, spec: Any, base: type, path: Any, what: str) -> Any:
        """Return an instance of the ``base`` subclass named by ``spec``
        (``{"class", "config"}``)."""
        if (
            not isinstance(spec, dict)
            or not isinstance(spec.get("class"), str)
            or not isinstance(spec.get("config") or {}, dict)
        ):
            raise ModelFileError(f"The model at {path} has a malformed {what} entry: {spec!r:.80}.")
        module, _, name = spec["class"].partition(":")
        if not self.allows(module, name):
            raise self.refusal(path, what, module, name)
        try:
            target = import_path(spec["class"])
        except (ImportError, AttributeError, ValueError) as error:
            raise ModelFileError(
                f"The model at {path} names the {what} {spec['class']!r}, which cannot be "
                f"imported ({error}). Install or import the module that defines it."
            ) from error
        if not (isinstance(target, type) and issubclass(target, base)):
            raise ModelFileError(
                f"The model at {path} names {spec['class']!r} as its {what}, which is not a "
                f"{base.__name__} subclass; the file is corrupt or hostile."
            )
        try:
            return target.from_config(spec.get("config") or {})
        except (TypeError, ValueError) as error:
            raise ModelFileError(
                f"The model at {path}: the {what} {spec['class']!r} rejects its saved config "
                f"({error})."
            ) from error
