"""The ``tensorrec-explore`` command without a browser: help, argument errors, fit, evaluate."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tensorrec_explore import cli
from tensorrec_explore.app.datasets import file_columns, load_dataset
from tensorrec_explore.app.kernel import dataset_choice
from tensorrec_explore.app.server import voila_command
from tensorrec_explore.errors import InputError

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run the command in a fresh interpreter, as a user would."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run(
        [sys.executable, "-m", "tensorrec_explore.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )


def test_help_is_fast_and_explains_every_option():
    started = time.monotonic()
    result = run("--help")
    elapsed = time.monotonic() - started
    assert result.returncode == 0
    for option in (
        "--dataset",
        "--data-dir",
        "--port",
        "--no-browser",
        "--kernel-timeout",
        "serve",
        "fit",
        "evaluate",
        "synthetic",
        "movielens-100k",
        "JupyterLab",
    ):
        assert option in result.stdout, option
    assert elapsed < 10, f"--help took {elapsed:.1f} s (TensorFlow imported?)"
    for command in ("fit", "evaluate", "serve"):
        sub = run(command, "--help")
        assert sub.returncode == 0 and "usage: tensorrec-explore " + command in sub.stdout


def test_help_does_not_import_tensorflow_or_widgets():
    code = (
        "import sys\nfrom tensorrec_explore import cli\ntry:\n    cli.main(['--help'])\n"
        "except SystemExit:\n    pass\n"
        "bad = [m for m in ('tensorflow', 'ipywidgets', 'plotly', 'voila') if m in sys.modules]\n"
        "print('LOADED', bad)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert "LOADED []" in result.stdout, result.stdout + result.stderr


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--port", "0"], "--port"),
        (["--port", "http"], "--port"),
        (["--dataset", "no-such-file.csv"], "--dataset"),
        (["--data-dir", "/no/such/folder"], "--data-dir"),
        (["bogus"], "invalid choice"),
        (["fit", "--loss", "nope"], "unknown loss 'nope'"),
        (["fit", "--user-representation", "deep_magic"], "unknown representation"),
        (["fit", "--epochs", "0"], "--epochs"),
        (["fit", "--learning-rate", "-1"], "--learning-rate"),
        (["fit", "--learning-rate-schedule", "cosine"], "--learning-rate-schedule"),
        (["fit", "--user-features", "pixels"], "--user-features"),
        (["evaluate"], "MODEL"),
        (["--no-such-option"], "unrecognized arguments"),
    ],
)
def test_bad_arguments_give_one_line_and_exit_2(args, fragment, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(args)
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("tensorrec-explore") and "error:" in lines[0]
    assert fragment in lines[0]
    assert "Traceback" not in captured.err


def test_bad_arguments_exit_2_from_the_console_script():
    result = run("fit", "--loss", "nope")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_library_errors_give_one_line_and_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("user,item,value\n1,10,5\n2,11,not-a-number\n")
    code = cli.main(["fit", "--dataset", str(bad), "--epochs", "1"])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("tensorrec-explore: error:"), err
    assert cli.main(["evaluate", str(tmp_path / "missing.tre")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "missing.tre" in err[0], err


def test_movielens_missing_is_a_one_line_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TENSORREC_EXPLORE_DATA", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    code = cli.main(["fit", "--dataset", "movielens-1m", "--data-dir", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "ml-1m" in err[0], err


def test_serve_checks_the_dataset_before_starting(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("user,item,value\n1,10,5\n2,11,not-a-number\n")
    assert cli.main(["serve", "--no-browser", "--dataset", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "value" in err[0], err


def test_port_in_use_is_a_one_line_error(capsys):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        code = cli.main(["serve", "--no-browser", "--port", str(port)])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"port {port}" in err[0], err


def test_serve_options_work_before_and_after_the_command():
    parser = cli.build_parser()
    top = parser.parse_args(["--port", "9000", "--no-browser"])
    assert (top.command, top.port, top.no_browser, top.dataset) == (None, 9000, True, "synthetic")
    sub = parser.parse_args(["--port", "9000", "serve", "--dataset", "movielens-100k"])
    assert (sub.command, sub.port, sub.dataset, sub.no_browser) == (
        "serve",
        9000,
        "movielens-100k",
        False,
    )


def test_dataset_choice_reaches_the_kernel_environment():
    assert dataset_choice({}) == ("synthetic", None)
    env = {"TENSORREC_EXPLORE_DATASET": "movielens-100k", "TENSORREC_EXPLORE_DATA_DIR": "/d"}
    assert dataset_choice(env) == ("movielens-100k", "/d")
    assert dataset_choice({**env, "QUERY_STRING": "dataset=synthetic"})[0] == "synthetic"
    with pytest.raises(InputError, match="a URL may choose only"):
        dataset_choice({"QUERY_STRING": "dataset=/etc/passwd"})


def test_voila_command_binds_localhost_and_a_fixed_port():
    command = voila_command("app.ipynb", port=8123)
    assert "--Voila.ip=127.0.0.1" in command and "--port=8123" in command
    assert "--Voila.port_retries=0" in command and "--no-browser" in command


def test_interaction_files_columns_are_guessed(tmp_path):
    path = tmp_path / "ratings.csv"
    path.write_text("userId,movieId,rating,timestamp\n1,10,5,1\n1,11,3,2\n2,10,4,3\n")
    assert file_columns(path) == {
        "user_col": "userId",
        "item_col": "movieId",
        "value_col": "rating",
        "timestamp_col": "timestamp",
    }
    dataset = load_dataset(str(path))
    assert (dataset.n_users, dataset.n_items) == (2, 2)


@pytest.mark.slow
def test_fit_then_evaluate_round_trip(tmp_path):
    model = tmp_path / "model.tre"
    fitted = run(
        "fit",
        "--epochs",
        "2",
        "--n-components",
        "8",
        "--loss",
        "warp",
        "--validate-every",
        "1",
        "--save",
        str(model),
        "--json",
    )
    assert fitted.returncode == 0, fitted.stderr[-3000:]
    fit_report = json.loads(fitted.stdout.strip().splitlines()[-1])
    assert fit_report["dataset"] == "synthetic" and fit_report["model"]["loss"] == "warp"
    assert 0.0 <= fit_report["metrics"]["precision@10"] <= 1.0
    assert "epoch" in fitted.stderr  # the tqdm progress bar
    assert model.exists()

    evaluated = run("evaluate", str(model), "--json")
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    report = json.loads(evaluated.stdout.strip().splitlines()[-1])
    for name, value in fit_report["metrics"].items():
        assert report["metrics"][name] == pytest.approx(value, abs=1e-6), name

    table = run("evaluate", str(model))
    assert table.returncode == 0
    assert "precision@10" in table.stdout and "ndcg@10" in table.stdout
    assert "Traceback" not in table.stderr


# ---- issue 14: one-line errors (exit 2) for user mistakes; issue 12: download


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("tensorrec-explore: error:"), err
    return err[0]


def test_download_fetches_checks_and_reuses(tmp_path, capsys, monkeypatch):
    from tests.data.fake_movielens import serve_fake_archive

    asked = serve_fake_archive(monkeypatch)
    target = tmp_path / "data"
    assert cli.main(["download", "movielens-100k", "--data-dir", str(target)]) == 0
    assert "12 users x 10 items" in capsys.readouterr().out
    assert (target / "ml-100k" / "u.data").is_file() and len(asked) == 1
    assert cli.main(["download", "movielens-100k", "--data-dir", str(target)]) == 0
    assert len(asked) == 1  # already there: nothing fetched


def test_download_without_network_is_a_one_line_error(tmp_path, capsys, monkeypatch):
    import urllib.error

    from tensorrec_explore.data import movielens

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(movielens.urllib.request, "urlopen", offline)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("TENSORREC_EXPLORE_DATA", raising=False)
    assert cli.main(["download", "movielens-1m"]) == 2
    assert "offline" in _one_error_line(capsys)


def test_fit_download_flag_and_leaking_evaluate(tmp_path, capsys, monkeypatch):
    from tests.data.fake_movielens import serve_fake_archive

    serve_fake_archive(monkeypatch)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("TENSORREC_EXPLORE_DATA", raising=False)
    model = tmp_path / "model"
    common = ["--dataset", "movielens-100k", "--threshold", "1"]
    assert (
        cli.main(
            [
                "fit",
                *common,
                "--download",
                "--epochs",
                "1",
                "--n-components",
                "2",
                "--quiet",
                "-k",
                "1",
                "--save",
                str(model),
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert cli.main(["evaluate", str(model), *common, "-k", "1"]) == 0
    capsys.readouterr()
    assert cli.main(["evaluate", str(model), *common, "-k", "1", "--split-seed", "7"]) == 2
    assert "trained on" in _one_error_line(capsys)


def test_download_flag_refuses_other_datasets(capsys):
    assert cli.main(["fit", "--download", "--epochs", "1"]) == 2
    assert "needs no download" in _one_error_line(capsys)


def test_fit_save_never_overwrites_foreign_files(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("precious")
    assert cli.main(["fit", "--epochs", "1", "--quiet", "--save", str(tmp_path)]) == 2
    assert "not a TensorRec model" in _one_error_line(capsys)
    assert (tmp_path / "notes.txt").read_text() == "precious"


def test_user_mistakes_exit_2_in_one_line(tmp_path, capsys):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert cli.main(["fit", "--dataset", str(empty)]) == 2
    assert "empty" in _one_error_line(capsys)
    latin = tmp_path / "latin.csv"
    latin.write_bytes("user,item,value\nRené,Amélie,5\n".encode("latin-1"))
    assert cli.main(["fit", "--dataset", str(latin)]) == 2
    assert "line 2" in _one_error_line(capsys)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{not json")
    assert cli.main(["evaluate", str(broken)]) == 2
    assert str(broken) in _one_error_line(capsys)
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["fit", "--seed", "-1"])
    assert exit_info.value.code == 2


def test_real_bugs_keep_their_traceback(monkeypatch):
    def broken(args):
        raise RuntimeError("a bug")

    monkeypatch.setattr(cli, "_download", broken)
    with pytest.raises(RuntimeError, match="a bug"):
        cli.main(["download", "movielens-100k"])


def test_serve_download_fetches_before_serving(tmp_path, monkeypatch):
    from tensorrec_explore.app import server
    from tests.data.fake_movielens import serve_fake_archive

    asked, served = serve_fake_archive(monkeypatch), []
    monkeypatch.setattr(server, "serve", lambda **kwargs: served.append(kwargs) or 0)
    assert (
        cli.main(
            [
                "serve",
                "--no-browser",
                "--dataset",
                "movielens-100k",
                "--download",
                "--data-dir",
                str(tmp_path),
            ]
        )
        == 0
    )
    assert len(asked) == 1 and (tmp_path / "ml-100k" / "u.data").is_file()
    assert served and served[0]["dataset"] == "movielens-100k"


def test_open_serves_a_saved_model_and_the_app_shows_it(tmp_path, monkeypatch, capsys):
    from tensorrec_explore import TensorRec
    from tensorrec_explore.app import server
    from tensorrec_explore.app.datasets import load_dataset
    from tensorrec_explore.data import random_holdout

    dataset = load_dataset("synthetic", None)
    split = random_holdout(dataset.interactions, seed=42)  # the explorer's (and fit's) split
    model = TensorRec(n_components=4, epochs=2, random_state=0).fit(split.train)
    model.save(tmp_path / "model")
    served = []
    monkeypatch.setattr(server, "serve", lambda **kwargs: served.append(kwargs) or 0)
    assert cli.main(["open", str(tmp_path / "model"), "--no-browser", "--port", "8123"]) == 0
    assert served[0]["model"] == str((tmp_path / "model").resolve())
    assert served[0]["port"] == 8123 and served[0]["dataset"] == "synthetic"
    assert served[0]["split"] is None  # unknown: every pair counts as training
    argv = ["open", str(tmp_path / "model"), "--no-browser", "--split", "random_holdout"]
    assert cli.main(argv) == 0 and served[1]["split"] == "random_holdout"
    # the page's kernel (its own process, as under Voila) shows that model without training,
    # with the held-out items of the split it was given
    code = (
        "from tensorrec_explore.app.kernel import launch\n"
        "ex = launch()\n"
        "print('RESULT', ex.controller.run is None, ex.state.status, ex.state.n_components,"
        " 'trained elsewhere' in ex.state.message, ex.state.split,"
        " ex.state.data['test'].nnz > 0)\n"
        "ex.close()\n"
    )
    env = {
        **os.environ,
        server.ENV_DATASET: "synthetic",
        server.ENV_MODEL: served[0]["model"],
        server.ENV_SPLIT: served[1]["split"],
        "PYTHONPATH": str(ROOT),
    }
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert "RESULT True finished 4 True random_holdout True" in result.stdout, result.stderr[-2000:]
    # a folder that is not a model, or an unknown split: one line, exit 2, before any server
    (tmp_path / "empty").mkdir()
    capsys.readouterr()
    assert cli.main(["open", str(tmp_path / "empty"), "--no-browser"]) == 2
    assert len(served) == 2 and len(capsys.readouterr().err.strip().splitlines()) == 1
    assert cli.main(["open", str(tmp_path / "model"), "--no-browser", "--split", "80/20"]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(served) == 2 and len(error) == 1 and "random_holdout" in error[0], error
