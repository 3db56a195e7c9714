"""``tensorrec-explore``: the explorer in a browser, or headless ``fit`` / ``evaluate``.

    tensorrec-explore                       serve the explorer on the built-in synthetic data
    tensorrec-explore --dataset movielens-100k --port 8866 --no-browser
    tensorrec-explore fit --loss warp --epochs 10 --save model.tre
    tensorrec-explore evaluate model.tre --json
    tensorrec-explore download movielens-100k [--data-dir DIR]

Every user mistake (bad arguments, a missing or malformed file, a model that cannot be loaded,
a leaking evaluation) prints one line and exits with code 2; a training failure
(:class:`~tensorrec_explore.errors.TrainingError`) prints one line and exits with code 1; any
other exception is a bug and keeps its traceback. TensorFlow is imported only by ``fit`` and
``evaluate``, so ``--help``, ``download`` and ``serve`` start fast.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import __version__, settings
from .app.datasets import NAMED_DATASETS, check_dataset_spec, dataset_label
from .errors import InputError, LeakageError, MissingExtraError, TensorRecError, TrainingError
from .settings import FEATURE_MODES, Setting

PROG = "tensorrec-explore"
_MOVIELENS = {"movielens-100k": "100k", "movielens-1m": "1m"}
_SEED = (0, 2**32 - 1)


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line: ``prog: error: what (see prog --help)``."""

    def error(self, message: str) -> None:  # type: ignore[override]
        message = " ".join(message.split())
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


# ---------------------------------------------------------------------------------------------
# argument types: each raises ArgumentTypeError, which argparse turns into a one-line error


def _dataset(value: str) -> str:
    try:
        return check_dataset_spec(value)
    except InputError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _directory(value: str) -> str:
    path = Path(os.path.expanduser(value))
    if not path.is_dir():
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an existing folder; pass the folder that holds ml-100k/ or ml-1m/"
        )
    return str(path)


def _int_in(low: int, high: int | None = None):
    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {value!r}") from None
        if number < low or (high is not None and number > high):
            span = f">= {low}" if high is None else f"between {low} and {high}"
            raise argparse.ArgumentTypeError(f"expected an integer {span}, got {number}")
        return number

    parse.__name__ = "integer"
    return parse


def _float_min(low: float, *, strict: bool):
    def parse(value: str) -> float:
        try:
            number = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {value!r}") from None
        if math.isnan(number) or number < low or (strict and number == low):
            raise argparse.ArgumentTypeError(
                f"expected a number {'>' if strict else '>='} {low:g}, got {value}"
            )
        return number

    parse.__name__ = "number"
    return parse


def _choice(registry):
    """A type checking a plug-in name against a registry (listing names never imports TF)."""

    def parse(value: str) -> str:
        if value not in registry:
            raise argparse.ArgumentTypeError(
                f"unknown {registry.kind} {value!r}; choose one of: {', '.join(registry.names())}"
            )
        return value

    parse.__name__ = registry.kind
    return parse


# ---------------------------------------------------------------------------------------------
# the parser


def _add_data_options(parser: argparse.ArgumentParser, default=None) -> None:
    parser.add_argument(
        "--dataset",
        type=_dataset,
        metavar="NAME|PATH",
        default=default if default is not None else "synthetic",
        help=(
            f"the data to explore: {', '.join(NAMED_DATASETS)}, or the path of an interactions "
            "file (CSV rows user,item[,value]). 'synthetic' is built in (planted clusters, nothing "
            "to download) and is the default."
        ),
    )
    parser.add_argument(
        "--data-dir",
        type=_directory,
        metavar="DIR",
        default=None if default is None else default,
        help=(
            "folder holding the MovieLens files (ml-100k/ or ml-1m/, or the files themselves); "
            "default: $TENSORREC_EXPLORE_DATA, then ~/.cache/tensorrec_explore."
        ),
    )
    parser.add_argument(
        "--download",
        action="store_true",
        default=argparse.SUPPRESS if default is argparse.SUPPRESS else False,
        help=(
            "fetch the named MovieLens dataset from GroupLens (checked by sha256) into --data-dir "
            "or the user cache when it is not found there; needs a network connection."
        ),
    )


def _add_serve_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """The serve options; ``suppress`` keeps a sub-parser from overwriting top-level values."""
    default = argparse.SUPPRESS if suppress else None
    group = parser.add_argument_group("serve options (the default command)")
    _add_data_options(group, default=default)
    group.add_argument(
        "--port",
        type=_int_in(1, 65535),
        default=default,
        help="port to serve on, on 127.0.0.1 (default: a free port chosen at start).",
    )
    group.add_argument(
        "--no-browser",
        action="store_true",
        default=default if suppress else False,
        help=(
            "do not open a web browser (one is opened only when a graphical browser is "
            "available, e.g. never over plain SSH); the URL is printed either way."
        ),
    )
    group.add_argument(
        "--notebook",
        metavar="PATH.ipynb",
        default=default,
        help="serve this notebook instead of the built-in explorer app (advanced).",
    )
    group.add_argument(
        "--kernel-timeout",
        type=_int_in(1),
        default=default if suppress else 60,
        metavar="SECONDS",
        help=(
            "each browser tab runs its own kernel; free a kernel once its tab has been closed "
            "(and the kernel idle) for this long (default 60)."
        ),
    )
    group.add_argument(
        "--verbose",
        action="store_true",
        default=default if suppress else False,
        help="show the Voila server's log in the terminal (default: written to a temporary file).",
    )


def _setting_type(setting: Setting) -> Any:
    """The argparse ``type`` checking a value of ``setting``'s kind."""
    if setting.kind == "count":
        return _int_in(1)
    if setting.kind == "seed":
        return _int_in(*_SEED)
    if setting.kind in ("rate", "penalty"):
        return _float_min(0.0, strict=setting.kind == "rate")
    if setting.kind == "plugin":
        return _choice(settings.registry(setting))
    return str


_METAVARS = {"count": "N", "rate": "X", "penalty": "X", "plugin": "NAME", "seed": "S"}


def _setting_help(setting: Setting) -> str:
    text = setting.summary.replace("``", "")
    if setting.kind == "plugin":
        text += f" One of: {', '.join(settings.registry(setting).names())}."
    if setting.cli_default is not None:
        text += f" Default {setting.cli_default}."
    elif setting.auto:
        text += f" Default: {setting.auto.replace('``', '')}."
    return text


def _add_setting(group: argparse._ArgumentGroup, setting: Setting) -> None:
    """Add the option(s) of one declared setting (see :mod:`tensorrec_explore.settings`)."""
    flags = setting.cli_flags or (f"--{setting.name.replace('_', '-')}",)
    if setting.kind == "flag":
        on, off = flags if len(flags) == 2 else (*flags, f"--no-{setting.name.replace('_', '-')}")
        group.add_argument(
            on, dest=setting.name, action="store_true", default=None, help=_setting_help(setting)
        )
        group.add_argument(off, dest=setting.name, action="store_false", help="the opposite.")
        return
    group.add_argument(
        *flags,
        dest=setting.name,
        type=_setting_type(setting),
        choices=setting.choices or None,
        default=setting.cli_default,
        metavar=None if setting.choices else _METAVARS.get(setting.kind, "VALUE"),
        help=_setting_help(setting),
    )


def _add_model_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "model (each option defaults to TensorRec's own default when omitted)"
    )
    for setting in settings.cli_settings():
        _add_setting(group, setting)
    feats = parser.add_argument_group("features")
    feats.add_argument(
        "--user-features",
        choices=FEATURE_MODES,
        default="ids",
        help="user input: ids (identity, default), the dataset's features, or both.",
    )
    feats.add_argument(
        "--item-features",
        choices=FEATURE_MODES,
        default="ids",
        help="item input: ids (identity, default), the dataset's features, or both.",
    )


def _add_eval_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("evaluation (protocol of BENCHMARK.md)")
    group.add_argument(
        "--split-seed",
        type=_int_in(*_SEED),
        default=42,
        metavar="S",
        help="seed of the per-user 80/20 random holdout (default 42).",
    )
    group.add_argument(
        "--threshold",
        type=float,
        default=None,
        metavar="T",
        help=(
            "values >= T count as positives (default: 4 for movielens-100k "
            "ratings, every interaction otherwise)."
        ),
    )
    group.add_argument(
        "-k",
        "--k",
        type=_int_in(1),
        default=10,
        metavar="K",
        help="cut-off of precision/recall/NDCG/hit rate/coverage (default 10).",
    )
    group.add_argument(
        "--json",
        action="store_true",
        help="print the metrics as one JSON object instead of a table.",
    )


def _model_command(
    sub: Any, name: str, help_text: str, description: str
) -> argparse.ArgumentParser:
    """A sub-command whose first argument is a saved model's path."""
    parser = sub.add_parser(name, help=help_text, description=description)
    parser.add_argument("model", metavar="MODEL", help="path of the saved model.")
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description=(
            "Explore TensorRec recommenders. Without a command (or with 'serve') the interactive "
            "explorer is served as a web app with Voila on http://127.0.0.1:PORT/; Ctrl-C stops "
            "it. "
            "'fit' and 'evaluate' work headless in the terminal."
        ),
        epilog=(
            f"Commands: serve (default), open, fit, evaluate, download; '{PROG} COMMAND --help' "
            "explains each. "
            "To use the explorer inside JupyterLab instead: "
            "from tensorrec_explore.explorer import Explorer; Explorer(dataset)."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _add_serve_options(parser, suppress=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")

    serve = sub.add_parser(
        "serve",
        help="serve the explorer in the browser (the default)",
        description="Serve the explorer as a web app with Voila on 127.0.0.1. Ctrl-C stops it "
        "and its kernels. Each browser tab gets its own kernel.",
    )
    _add_serve_options(serve, suppress=True)

    fit = sub.add_parser(
        "fit",
        help="train a model on a dataset and print its metrics",
        description="Train TensorRec on a per-user 80/20 holdout of the dataset, with a progress "
        "bar, then print precision/recall/NDCG/AUC/MRR/hit rate/coverage on the test "
        "part (train items excluded). --save keeps the model for 'evaluate'.",
    )
    _add_data_options(fit)
    _add_model_options(fit)
    fit.add_argument(
        "--validate-every",
        type=_int_in(0),
        default=0,
        metavar="N",
        help="also compute validation metrics every N epochs (default 0 = never).",
    )
    fit.add_argument("--save", metavar="PATH", help="save the trained model to PATH.")
    fit.add_argument("--quiet", action="store_true", help="no progress bar.")
    _add_eval_options(fit)

    evaluate = _model_command(
        sub,
        "evaluate",
        "load a saved model and print its metrics",
        "Load a model saved by 'fit --save' (or TensorRec.save) and print its metrics on the "
        "test part of the dataset. Give the same --dataset, --split-seed and --threshold as "
        "when it was trained, or the train items leak into the test.",
    )
    _add_data_options(evaluate)
    evaluate.add_argument(
        "--user-features",
        choices=FEATURE_MODES,
        default="ids",
        help="user input the model was trained with (default ids).",
    )
    evaluate.add_argument(
        "--item-features",
        choices=FEATURE_MODES,
        default="ids",
        help="item input the model was trained with (default ids).",
    )
    _add_eval_options(evaluate)

    open_ = _model_command(
        sub,
        "open",
        "show a saved model in the explorer, without training",
        "Serve the explorer with a model saved by 'fit --save' or TensorRec.save (a script's, "
        "a cluster's, last week's) in every panel: its embeddings, its training curves, its "
        "recommendations. Give the --dataset it was trained on.",
    )
    _add_serve_options(open_, suppress=True)
    open_.add_argument(
        "--split",
        metavar="SPLIT",
        default=None,
        help=(
            "the split the model was trained on, so its held-out items are marked and its "
            "metrics measured on them: random_holdout (the 80/20 holdout of 'fit' with its "
            "default --split-seed 42), leave_last_out, or none (the default: every pair counts "
            "as training)."
        ),
    )

    download = sub.add_parser(
        "download",
        help="fetch a MovieLens dataset (checked by sha256)",
        description="Download a MovieLens archive from GroupLens, check its sha256 and unpack it "
        "into --data-dir (created if needed) or the user cache, where fit, evaluate "
        "and serve look for it. Nothing is fetched when the files are already there.",
    )
    download.add_argument("dataset", choices=tuple(_MOVIELENS), help="the dataset to fetch.")
    download.add_argument(
        "--data-dir",
        metavar="DIR",
        default=None,
        help="folder to put ml-100k/ or ml-1m/ in (default: "
        "$TENSORREC_EXPLORE_DATA if set, else ~/.cache/tensorrec_explore).",
    )
    return parser


# ---------------------------------------------------------------------------------------------
# commands


def _serve(args: argparse.Namespace) -> int:
    import importlib.util

    from .app.server import serve

    for module in ("voila", "ipywidgets", "plotly", "anywidget"):
        if importlib.util.find_spec(module) is None:
            raise MissingExtraError(
                f"serving the explorer needs {module}, which is not installed; install the "
                f'explorer extra: pip install "tensorrec_explore[explorer]"'
            )
    notebook = args.notebook
    model = getattr(args, "model", None)
    if model is not None:  # 'open': fail here, in one line, if it cannot be loaded
        from .model import TensorRec

        _quiet_tensorflow()
        model = str(Path(model).resolve())
        TensorRec.load(model)
        _check_split(args.split)
    if notebook is not None and not Path(notebook).is_file():
        raise InputError(f"--notebook {notebook!r} does not exist; pass an existing .ipynb file.")
    if notebook is None:
        # Fail here, in one line, rather than in every page: load the dataset once up front.
        from .app.datasets import load_dataset

        _fetch_if_asked(args)
        load_dataset(args.dataset, args.data_dir)
    return serve(
        dataset=args.dataset,
        data_dir=args.data_dir,
        port=args.port,
        open_browser=not args.no_browser,
        notebook=notebook,
        verbose=args.verbose,
        kernel_timeout=args.kernel_timeout,
        model=model,
        split=getattr(args, "split", None),
    )


def _check_split(split: str | None) -> None:
    """Refuse an unknown ``open --split`` before any server starts."""
    from .explorer.state import SPLITS

    if split is not None and split not in SPLITS:
        raise InputError(f"--split {split!r} is not a split; choose one of: {', '.join(SPLITS)}.")


def _fetch_if_asked(args: argparse.Namespace) -> None:
    """With ``--download``, make sure the named MovieLens dataset is on disk (fetching it)."""
    if not getattr(args, "download", False):
        return
    if args.dataset not in _MOVIELENS:
        raise InputError(
            f"--download fetches {' or '.join(_MOVIELENS)}; the dataset "
            f"{args.dataset!r} needs no download."
        )
    from .data import load_movielens

    load_movielens(_MOVIELENS[args.dataset], path=args.data_dir, download=True)


def _download(args: argparse.Namespace) -> int:
    from .data import load_movielens

    data_dir = args.data_dir
    if data_dir is not None:
        data_dir = Path(os.path.expanduser(data_dir))
        if data_dir.exists() and not data_dir.is_dir():
            raise InputError(f"--data-dir {str(data_dir)!r} is a file; pass a folder.")
    elif os.environ.get("TENSORREC_EXPLORE_DATA"):
        data_dir = Path(os.environ["TENSORREC_EXPLORE_DATA"])
    dataset = load_movielens(_MOVIELENS[args.dataset], path=data_dir, download=True)
    print(
        f"{args.dataset}: {dataset.n_users} users x {dataset.n_items} items, "
        f"{dataset.interactions.nnz} ratings, ready (use --data-dir "
        f"{data_dir if data_dir is not None else 'omitted: the user cache'})."
    )
    return 0


def _prepare(args: argparse.Namespace):
    """Load the dataset and split it; return (dataset, split, user features, item features)."""
    from .app.datasets import load_dataset
    from .data import random_holdout

    _fetch_if_asked(args)
    dataset = load_dataset(args.dataset, args.data_dir)
    threshold = args.threshold
    if threshold is None and args.dataset == "movielens-100k":
        threshold = 4.0
    if threshold is not None:
        dataset = dataset.to_implicit(threshold)
    split = random_holdout(dataset.interactions, seed=args.split_seed)
    user_features = dataset.features("user", mode=args.user_features)
    item_features = dataset.features("item", mode=args.item_features)
    return dataset, split, user_features, item_features


def _quiet_tensorflow() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _metrics(model, split, k: int) -> dict[str, float]:
    from .metrics import evaluate

    report = evaluate(model, split.test, train=split.train, k=k)
    return {name: float(value) for name, value in report.summary.items()}


def _print_metrics(title: str, metrics: dict[str, float], extra: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps({**extra, "metrics": metrics}, indent=None, sort_keys=False))
        return
    print(title)
    for key, value in extra.items():
        print(f"  {key:<22} {value}")
    width = max((len(name) for name in metrics), default=0)
    print(f"  {'metric':<{width}}  value")
    print(f"  {'-' * width}  ------")
    for name, value in metrics.items():
        print(f"  {name:<{width}}  {value:.4f}")


def _fit(args: argparse.Namespace) -> int:
    _quiet_tensorflow()
    if args.save:  # refuse a file or a foreign folder before training, not after
        from .model_folder import check_target

        check_target(Path(args.save).expanduser().absolute())
    dataset, split, user_features, item_features = _prepare(args)
    from .model import TensorRec

    kwargs = {
        s.name: getattr(args, s.name)
        for s in settings.cli_settings()
        if getattr(args, s.name) is not None
    }
    model = TensorRec(**kwargs)
    validation = None
    if args.validate_every:
        from .callbacks import ValidationMetrics

        validation = ValidationMetrics(split.test, k=args.k, every=args.validate_every)
    started = time.perf_counter()
    model.fit(
        split.train, user_features, item_features, verbose=not args.quiet, validation=validation
    )
    seconds = time.perf_counter() - started
    if args.save:
        model.save(args.save)
    extra = {
        "dataset": dataset_label(args.dataset),
        "users x items": f"{dataset.n_users} x {dataset.n_items}",
        "fit seconds": round(seconds, 2),
    }
    if args.save:
        extra["saved to"] = args.save
    if args.json:
        extra = {
            "dataset": dataset_label(args.dataset),
            "n_users": int(dataset.n_users),
            "n_items": int(dataset.n_items),
            "fit_seconds": round(seconds, 3),
            "k": args.k,
            "model": dict(kwargs.items()),
            "saved_to": args.save,
        }
    _print_metrics(
        "Test metrics (train items excluded):", _metrics(model, split, args.k), extra, args.json
    )
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    _quiet_tensorflow()
    path = Path(args.model)
    if not path.exists():
        raise InputError(
            f"model {args.model!r} does not exist; pass a path written by "
            f"'{PROG} fit --save PATH' or TensorRec.save(PATH)."
        )
    dataset, split, _, _ = _prepare(args)
    from .model import TensorRec

    model = TensorRec.load(str(path))
    extra = {"dataset": dataset_label(args.dataset), "model": str(path)}
    if args.json:
        extra = {
            **extra,
            "n_users": int(dataset.n_users),
            "n_items": int(dataset.n_items),
            "k": args.k,
        }
    try:
        metrics = _metrics(model, split, args.k)
    except LeakageError as error:
        raise LeakageError(
            f"{error} Pass the --dataset, --split-seed and --threshold the model "
            f"was fitted with (see '{PROG} fit --help')."
        ) from error
    _print_metrics("Test metrics (train items excluded):", metrics, extra, args.json)
    return 0


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (0 ok, 1 training failed, 2 user mistake)."""
    parser = build_parser()
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    command = args.command or "serve"
    run = {
        "serve": _serve,
        "open": _serve,
        "fit": _fit,
        "evaluate": _evaluate,
        "download": _download,
    }[command]
    try:
        return run(args)
    except TensorRecError as e:
        print(f"{PROG}: error: {_one_line(e)}", file=sys.stderr)
        return 1 if isinstance(e, TrainingError) else 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
