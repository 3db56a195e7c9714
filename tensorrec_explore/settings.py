"""The declaration of TensorRec's settings: the one place a setting is defined.

Each :class:`Setting` says its name, kind (which fixes its type and valid range), default, help
text, whether it shapes the network (``structural``) and what ``None`` stands for. Everything
else is derived from :data:`SETTINGS`:

* ``TensorRec``'s signature, docstring "Parameters" section, validation (:func:`check_all`),
  ``get_params`` / ``set_params`` and the structural check of ``fit_partial``
  (:data:`STRUCTURAL`);
* what a saved model stores (:func:`saved_scalars`);
* the command line's model options (``tensorrec_explore.cli``);
* the explorer's state traits, form fields and runs-table columns
  (``tensorrec_explore.explorer.settings_form``).

Adding a setting means adding it here and writing the code that uses it. Nothing here imports
TensorFlow, numpy or pandas (the CLI's ``--help`` and the explorer's form need it without).
"""

from __future__ import annotations

import inspect
import math
import numbers
import sys
import textwrap
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args


from .errors import InputError, describe

#: How a side (users or items) enters the model: its ids (identity), its features, or both.
FeatureMode = Literal["ids", "features", "both"]
FEATURE_MODES: tuple[str, ...] = get_args(FeatureMode)
#: Learning-rate schedules (``None`` = the model's recipe).
LEARNING_RATE_SCHEDULES = ("linear", "constant")


@dataclass(frozen=True)
class Setting:
    """One constructor argument of ``TensorRec``.

    Parameters
    ----------
    name : str
        The keyword argument (and attribute) name.
    kind : str
        One of :data:`KINDS`: ``count`` (a positive int), ``rate`` (a positive real), ``penalty``
        (a real >= 0), ``flag`` (a bool), ``choice`` (one of ``choices``), ``plugin`` (a name
        of the ``registry`` or an object), ``seed`` (an int in ``[0, 2**32)``), ``strategy``
        (a ``tf.distribute.Strategy``).
    default : Any
        The constructor's default; ``None`` means the model chooses (see ``auto``).
    summary : str
        One line: what the setting is (CLI help, form tooltip, docstring's first line).
    details : str
        The rest of the docstring entry (may be empty).
    annotation : str
        The type hint shown in the signature.
    structural : bool
        True when changing it needs ``fit`` (it shapes the network).
    auto : str
        What ``None`` stands for (for settings whose default is None).
    choices : tuple
        Valid values of a ``choice`` setting.
    registry : str
        ``"representation"``, ``"prediction"`` or ``"loss"`` for plug-ins.
    recipe_field : str
        The attribute of :class:`tensorrec_explore.defaults.Recipe` giving its auto value.
    resolved : bool
        The value a fit used (given or chosen) is kept as the fitted attribute ``name_``.
    label : str
        The explorer form's label.
    short : str
        The runs table's column header and run-label key (defaults to ``name``).
    maximum : float or None
        The explorer form's upper bound for numbers.
    saved, cli, explorer : bool
        Whether a saved model stores it, the CLI offers it and the explorer shows it.
    cli_flags : tuple
        Option strings overriding ``--name-with-dashes`` (a flag: the on and off forms).
    cli_default : Any
        The CLI's default (None = the model's).
    explorer_default : Any
        The explorer form's starting value when it differs from ``default``.
    """

    name: str
    kind: str
    default: Any
    summary: str
    details: str = ""
    annotation: str = "Any"
    structural: bool = False
    auto: str = ""
    choices: tuple[Any, ...] = ()
    registry: str = ""
    recipe_field: str = ""
    resolved: bool = False
    label: str = ""
    short: str = ""
    maximum: float | None = None
    saved: bool = True
    cli: bool = True
    explorer: bool = True
    cli_flags: tuple[str, ...] = ()
    cli_default: Any = None
    explorer_default: Any = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"Setting {self.name}: kind must be one of {KINDS}, got {self.kind!r}")

    @property
    def optional(self) -> bool:
        """True when ``None`` is valid (the model then chooses: see ``auto``)."""
        return self.default is None

    @property
    def column(self) -> str:
        """The short name of the runs table and run labels."""
        return self.short or self.name

    def check(self, value: Any) -> None:
        """Check one value of this setting.

        Parameters
        ----------
        value : Any
            The value given to ``TensorRec`` (None: valid when the setting is optional).

        Raises
        ------
        InputError
            The value is outside the setting's kind (the message names the setting).
        """
        if value is None:
            if self.optional:
                return
            raise InputError(f"{self.name} must be {_EXPECTED[self.kind]}, got None.")
        _CHECKS[self.kind](self, value)


def is_int(value: Any) -> bool:
    """True for Python and numpy integers (never bools)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def _fail(setting: Setting, value: Any) -> None:
    expected = _EXPECTED[setting.kind]
    if setting.kind == "choice":
        expected = f"one of {setting.choices}"
    if setting.optional:
        expected += " or None"
    raise InputError(f"{setting.name} must be {expected}, got {describe(value)}.")


def _check_count(setting: Setting, value: Any) -> None:
    if not is_int(value) or value <= 0:
        _fail(setting, value)


def _check_rate(setting: Setting, value: Any) -> None:
    if not _is_real(value) or value <= 0:
        _fail(setting, value)


def _check_penalty(setting: Setting, value: Any) -> None:
    if not _is_real(value) or value < 0:
        _fail(setting, value)


def _check_flag(setting: Setting, value: Any) -> None:
    numpy = sys.modules.get("numpy")  # a numpy bool implies numpy is loaded; never load it here
    if not (isinstance(value, bool) or (numpy is not None and isinstance(value, numpy.bool_))):
        _fail(setting, value)


def _check_choice(setting: Setting, value: Any) -> None:
    if not isinstance(value, str) or value not in setting.choices:
        _fail(setting, value)


def _check_plugin(setting: Setting, value: Any) -> None:
    if isinstance(value, str):
        registry(setting).get(value)  # raises UnknownPluginError listing the valid names


def _check_seed(setting: Setting, value: Any) -> None:
    from .data.interactions import check_seed

    check_seed(value, setting.name)


def _check_strategy(setting: Setting, value: Any) -> None:
    from .distributed import check_strategy  # TensorFlow: only when a strategy is given

    check_strategy(value)


_CHECKS: dict[str, Callable[[Setting, Any], None]] = {
    "count": _check_count,
    "rate": _check_rate,
    "penalty": _check_penalty,
    "flag": _check_flag,
    "choice": _check_choice,
    "plugin": _check_plugin,
    "seed": _check_seed,
    "strategy": _check_strategy,
}
#: What kinds of value a setting can hold (each has one validation rule above).
KINDS = tuple(_CHECKS)
_EXPECTED = {
    "count": "a positive integer (not a bool, float or string)",
    "rate": "a positive number",
    "penalty": "a number >= 0",
    "flag": "True or False",
    "choice": "one of the choices",
    "plugin": "a registered name or a plug-in",
    "seed": "an integer in [0, 2**32)",
    "strategy": "a tf.distribute.Strategy",
}


def registry(setting: Setting) -> Any:
    """Return the plug-in registry of a ``plugin`` setting.

    Parameters
    ----------
    setting : Setting
        A setting of kind ``plugin``.

    Returns
    -------
    Registry
        ``REPRESENTATIONS``, ``PREDICTIONS`` or ``LOSSES``.
    """
    from .registry import LOSSES, PREDICTIONS, REPRESENTATIONS

    return {"representation": REPRESENTATIONS, "prediction": PREDICTIONS, "loss": LOSSES}[
        setting.registry
    ]


_TOWER = (
    "``'linear'``, ``'normalized_linear'``, ``'pass_through'``, ``'weighted_pass_through'``, "
    "``'relu'``, a registered custom name, a representation instance, any Keras layer/model or "
    "a callable."
)

#: Every setting of ``TensorRec``, in the constructor's order.
SETTINGS: tuple[Setting, ...] = (
    Setting(
        "n_components",
        "count",
        None,
        "Width of the representations (the embedding size).",
        annotation="int | None",
        auto="the model's recipe (128 for the softmax over linear or pass-through towers "
        "trained dense, else 64)",
        recipe_field="n_components",
        resolved=True,
        structural=True,
        label="Components",
        short="d",
        maximum=4096,
        explorer_default=16,
    ),
    Setting(
        "user_representation",
        "plugin",
        "linear",
        "How a user's features become a vector.",
        _TOWER,
        annotation="Any",
        structural=True,
        registry="representation",
        label="User repr.",
        short="user",
    ),
    Setting(
        "item_representation",
        "plugin",
        "linear",
        "How an item's features become a vector.",
        "The same choices as ``user_representation``.",
        annotation="Any",
        structural=True,
        registry="representation",
        label="Item repr.",
        short="item",
    ),
    Setting(
        "prediction",
        "plugin",
        "dot",
        "How a user and an item vector become a score.",
        "``'dot'``, ``'cosine'``, ``'euclidean'`` or a custom prediction.",
        annotation="Any",
        structural=True,
        registry="prediction",
        label="Prediction",
    ),
    Setting(
        "loss",
        "plugin",
        "softmax",
        "What training optimises.",
        "``'softmax'`` (default), ``'wmrb'``, ``'balanced_wmrb'``, ``'bpr'``, ``'warp'``, "
        "``'logistic'``, ``'rmse'``, ``'rmse_dense'``, ``'separation'``, "
        "``'separation_dense'`` or a custom :class:`~tensorrec_explore.losses.Loss`.",
        annotation="Any",
        structural=True,
        registry="loss",
        label="Loss",
    ),
    Setting(
        "biased",
        "flag",
        True,
        "Learn a bias per user and per item.",
        "As linear functions of their features.",
        annotation="bool",
        structural=True,
        label="User / item biases",
        cli_flags=("--biased", "--no-biases"),
    ),
    Setting(
        "n_tastes",
        "count",
        1,
        "Taste vectors per user (a score is the best taste's score).",
        annotation="int",
        structural=True,
        label="Tastes per user",
        short="tastes",
        maximum=16,
    ),
    Setting(
        "learning_rate",
        "rate",
        None,
        "Adam's starting step size.",
        annotation="float | None",
        auto="the model's recipe (over linear or pass-through towers: bpr 0.07, logistic "
        "0.1, warp 0.1, wmrb 0.05, softmax 0.15, or 0.05 at its default width; 0.03 "
        "otherwise)",
        recipe_field="learning_rate",
        resolved=True,
        label="Learning rate",
        short="lr",
        maximum=10.0,
    ),
    Setting(
        "learning_rate_schedule",
        "choice",
        None,
        "How the step size moves over the epochs.",
        "``'linear'``: epoch ``e`` of ``E`` of each ``fit`` / ``fit_partial`` call uses "
        "``learning_rate * (1 - e / E)``; ``'constant'``.",
        annotation="str | None",
        auto="the model's recipe (linear with the 0.2-style rates, else constant)",
        choices=LEARNING_RATE_SCHEDULES,
        recipe_field="schedule",
        resolved=True,
        label="LR schedule",
        short="schedule",
    ),
    Setting(
        "l2",
        "penalty",
        None,
        "The weight of the L2 penalty.",
        "On the representations a step touches for dense losses (per liked interaction) and "
        "sampled losses, on every representation weight for the observed-pair losses (rmse, "
        "separation).",
        annotation="float | None",
        auto="``0.07 / sqrt(mean likes per user)`` for the softmax, the loss's own default "
        "(wmrb 0.1, warp 0.5, the sampled softmax 0.06, logistic 0.01), 0.005 for the other "
        "sampled losses, 1e-4 for the others",
        resolved=True,
        label="L2",
        maximum=10.0,
        explorer_default=1e-4,
    ),
    Setting(
        "epochs",
        "count",
        None,
        "Passes over the data per ``fit``.",
        annotation="int | None",
        auto="the model's recipe (15 with the 0.2-style rates: bpr, logistic and wmrb 20; "
        "on catalogues of 2,500+ items wmrb 12, warp 13; 30 for the softmax at its default "
        "width, else 40)",
        recipe_field="epochs",
        resolved=True,
        label="Epochs",
        maximum=100_000,
    ),
    Setting(
        "batch_size",
        "count",
        None,
        "Users per step (dense losses) or interactions per step.",
        annotation="int | None",
        auto="as many users as fit a 2M-float score block, at most "
        "256, for dense losses; 1024 interactions for sampled and observed losses (bpr and "
        "logistic up to 4096 on large data, the sampled softmax from 256 up to 2048)",
        label="Batch size",
        maximum=10_000_000,
    ),
    Setting(
        "n_sampled_items",
        "count",
        None,
        "Items sampled per step by sampled losses.",
        "With ``loss='softmax'``, a value below the catalogue size switches to the sampled "
        "softmax (in-batch + uniform negatives, log-Q corrected), also the default when it is "
        "the cheaper form (:func:`tensorrec_explore.defaults.use_sampled_softmax`).",
        annotation="int | None",
        auto="the loss's default (64 for bpr, logistic and wmrb, 128 for warp, 32 for the "
        "sampled softmax; over embedding towers from 2,500 items 96 for bpr, logistic and "
        "warp, 128 for wmrb)",
        label="Sampled items",
        short="sampled",
        maximum=10_000_000,
    ),
    Setting(
        "random_state",
        "seed",
        None,
        "Seed for weights, batches and samples.",
        "Reproducible without touching the process's global random state.",
        annotation="int | None",
        structural=True,
        auto="unseeded",
        label="Seed",
        short="seed",
        cli_flags=("--seed",),
        cli_default=0,
        explorer_default=0,
    ),
    Setting(
        "distribute",
        "strategy",
        None,
        "A ``tf.distribute.Strategy`` to train on.",
        "``MirroredStrategy`` for several GPUs/CPUs, ``MultiWorkerMirroredStrategy`` for "
        "several machines (which needs the same ``random_state`` on every worker). Each global "
        "batch of ``batch_size`` is split across the replicas; see "
        ":mod:`tensorrec_explore.distributed`. Not saved.",
        annotation="Any",
        auto="one device",
        saved=False,
        cli=False,
        explorer=False,
    ),
)
BY_NAME: dict[str, Setting] = {setting.name: setting for setting in SETTINGS}
#: Settings that shape the network: changing one needs ``fit`` (``fit_partial`` refuses).
STRUCTURAL: tuple[str, ...] = tuple(s.name for s in SETTINGS if s.structural)


def check_all(params: Mapping[str, Any]) -> None:
    """Check every setting in ``params``; raise InputError naming the first bad one.

    The one validation behind the constructor, ``set_params``, ``fit``, the CLI and the
    explorer.

    Parameters
    ----------
    params : mapping
        Setting name -> value (any subset of :data:`SETTINGS`).

    Raises
    ------
    InputError
        A value outside its setting's kind (integers are never bools, floats or strings; rates
        and penalties are finite reals; seeds lie in ``[0, 2**32)``), an unknown name.
    UnknownPluginError
        A plug-in name that is not registered (listing the valid ones).
    """
    for name, value in params.items():
        if name not in BY_NAME:
            raise InputError(f"Unknown parameter {name!r}; valid: {', '.join(BY_NAME)}.")
        BY_NAME[name].check(value)


def signature() -> inspect.Signature:
    """Return ``TensorRec.__init__``'s signature (``self`` then every setting by keyword)."""
    parameters = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    parameters += [
        inspect.Parameter(
            s.name,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            default=s.default,
            annotation=s.annotation,
        )
        for s in SETTINGS
    ]
    return inspect.Signature(parameters, return_annotation="None")


def bind(args: Iterable[Any], kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """Return every setting's value from a constructor call's ``args`` / ``kwargs``.

    Parameters
    ----------
    args : iterable
        Positional arguments, in the order of :data:`SETTINGS`.
    kwargs : mapping
        Keyword arguments.

    Returns
    -------
    dict
        Every setting's name -> the given value or its default.

    Raises
    ------
    InputError
        Too many positional arguments or an unknown keyword (listing the valid names).
    """
    try:
        bound = signature().bind(None, *args, **kwargs)
    except TypeError as error:
        raise InputError(f"TensorRec(): {error}; valid settings: {', '.join(BY_NAME)}.") from None
    bound.apply_defaults()
    return {name: value for name, value in bound.arguments.items() if name != "self"}


def parameters_doc() -> str:
    """Return the numpydoc "Parameters" section describing :data:`SETTINGS`."""
    lines = ["Parameters", "----------"]
    for s in SETTINGS:
        lines.append(f"{s.name} : {s.annotation}, default {s.default!r}")
        text = " ".join(part for part in (s.summary, s.details) if part)
        if s.auto:
            text += f" None = {s.auto}."
        if s.resolved:
            text += f" The value used is kept as ``{s.name}_``."
        lines += [f"    {line}" for line in _wrap(text)]
    return "\n".join(lines)


def _wrap(text: str, width: int = 88) -> list[str]:
    return textwrap.wrap(text, width) or [""]


def saved_scalars() -> tuple[str, ...]:
    """Return the names a saved model stores as plain values.

    Returns
    -------
    tuple of str
        Saved settings except the plug-ins (serialised on their own).
    """
    return tuple(s.name for s in SETTINGS if s.saved and s.kind != "plugin")


def cli_settings() -> tuple[Setting, ...]:
    """Settings the command line offers as options."""
    return tuple(s for s in SETTINGS if s.cli)


def explorer_settings() -> tuple[Setting, ...]:
    """Settings the explorer's form shows."""
    return tuple(s for s in SETTINGS if s.explorer)
