"""Saving never destroys what it did not write; loading never runs code a file names."""

from __future__ import annotations

import json
import threading

import keras
import numpy as np
import pytest

from tensorrec_explore import ModelFileError, TensorRec, model_folder

from .planted import make_planted


class UnregisteredTower(keras.layers.Layer):
    """A custom layer that is NOT registered with Keras: it saves but cannot be loaded."""

    def call(self, features):
        return features[:, :4]


def _model(seed: int = 0, **params) -> TensorRec:
    data = make_planted()
    return TensorRec(n_components=4, epochs=1, random_state=seed, **params).fit(data.interactions)


@pytest.fixture(scope="module")
def models() -> tuple[TensorRec, TensorRec]:
    return _model(0), _model(1)


def _same(loaded: TensorRec, model: TensorRec) -> bool:
    return np.allclose(loaded.predict(), model.predict(), rtol=1e-4, atol=1e-5)


def test_save_refuses_a_folder_with_other_files(models, tmp_path) -> None:
    (tmp_path / "notes.txt").write_text("precious")
    with pytest.raises(ModelFileError, match="not a TensorRec model"):
        models[0].save(tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "precious"


def test_save_refuses_a_regular_file(models, tmp_path) -> None:
    target = tmp_path / "model"
    target.write_text("precious")
    with pytest.raises(ModelFileError, match="is a file"):
        models[0].save(target)
    assert target.read_text() == "precious"


def test_save_replaces_an_empty_folder_and_a_previous_model(models, tmp_path) -> None:
    target = tmp_path / "model"
    target.mkdir()
    models[0].save(target)
    assert _same(TensorRec.load(target), models[0])
    models[1].save(target)
    assert _same(TensorRec.load(target), models[1])
    assert sorted(p.name for p in tmp_path.iterdir()) == [".model.lock", "model"]


def test_crash_between_the_renames_is_recovered_by_the_next_load(
    models, tmp_path, monkeypatch
) -> None:
    target = tmp_path / "model"
    models[0].save(target)
    real_replace, calls = model_folder.os.replace, []

    def crash_on_second(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise KeyboardInterrupt("simulated crash between the renames")
        real_replace(src, dst)

    monkeypatch.setattr(model_folder.os, "replace", crash_on_second)
    with pytest.raises(KeyboardInterrupt):
        models[1].save(target)
    monkeypatch.setattr(model_folder.os, "replace", real_replace)
    assert not target.exists() and (tmp_path / ".model.old").is_dir()
    assert _same(TensorRec.load(target), models[0])  # the old model comes back
    assert not (tmp_path / ".model.old").exists()
    models[1].save(target)
    assert _same(TensorRec.load(target), models[1])


def test_stale_staging_folders_are_cleaned(models, tmp_path) -> None:
    target = tmp_path / "model"
    stale = tmp_path / ".model.abc.tmp"
    stale.mkdir()
    (stale / "weights.npz").write_bytes(b"half")
    models[0].save(target)
    assert not stale.exists()


def test_concurrent_saves_and_loads_always_see_a_whole_model(models, tmp_path) -> None:
    target = tmp_path / "model"
    models[0].save(target)
    expected = [m.predict() for m in models]
    errors: list[BaseException] = []

    def saver(index: int) -> None:
        try:
            for _ in range(3):
                models[index].save(target)
        except BaseException as error:
            errors.append(error)

    def loader() -> None:
        try:
            for _ in range(4):
                scores = TensorRec.load(target).predict()
                assert any(np.allclose(scores, e, rtol=1e-4, atol=1e-5) for e in expected)
        except BaseException as error:
            errors.append(error)

    threads = [
        threading.Thread(target=saver, args=(0,)),
        threading.Thread(target=saver, args=(1,)),
        threading.Thread(target=loader),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors


def test_unloadable_custom_layer_never_replaces_a_good_model(models, tmp_path) -> None:
    target = tmp_path / "model"
    models[0].save(target)
    data = make_planted()
    bad = TensorRec(
        n_components=4, epochs=1, random_state=0, user_representation=UnregisteredTower()
    ).fit(data.interactions, user_features=data.user_features)
    with pytest.raises(ModelFileError, match="does not load back"):
        bad.save(target)
    assert _same(TensorRec.load(target), models[0])


def _poison(target, key: str, entry: object) -> None:
    config = json.loads((target / "config.json").read_text())
    config[key] = entry
    config.pop("checksums")
    (target / "config.json").write_text(json.dumps(config))


@pytest.mark.parametrize("key", ["loss", "prediction"])
def test_a_poisoned_plugin_entry_never_runs(models, tmp_path, key) -> None:
    target, witness = tmp_path / "model", tmp_path / "pwned"
    models[0].save(target)
    _poison(target, key, {"class": "os:system", "config": {"command": f"touch {witness}"}})
    with pytest.raises(ModelFileError, match=r"os:system.*allowed_modules=\('os',\)"):
        TensorRec.load(target)
    assert not witness.exists()


def test_a_poisoned_keras_entry_never_runs(models, tmp_path) -> None:
    target, witness = tmp_path / "model", tmp_path / "pwned"
    models[0].save(target)
    _poison(
        target,
        "user_representation",
        {"module": "os", "class_name": "system", "config": {"command": f"touch {witness}"}},
    )
    with pytest.raises(ModelFileError, match="os:system"):
        TensorRec.load(target)
    assert not witness.exists()


def test_an_allowed_module_still_needs_the_right_base_class(models, tmp_path) -> None:
    target, witness = tmp_path / "model", tmp_path / "pwned"
    models[0].save(target)
    _poison(target, "loss", {"class": "os:system", "config": {"command": f"touch {witness}"}})
    with pytest.raises(ModelFileError, match="not a Loss subclass"):
        TensorRec.load(target, allowed_modules=("os",))
    assert not witness.exists()


def _corrupt_weights(target) -> None:
    raw = bytearray((target / "weights.npz").read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    (target / "weights.npz").write_bytes(bytes(raw))


def _truncate_data(target) -> None:
    raw = (target / "data.npz").read_bytes()
    (target / "data.npz").write_bytes(raw[: len(raw) // 2])


def _edit_config(**changes):
    def edit(target) -> None:
        config = json.loads((target / "config.json").read_text())
        for key, value in changes.items():
            if key in config["params"]:
                config["params"][key] = value
            else:
                config[key] = value
        (target / "config.json").write_text(json.dumps(config))

    return edit


@pytest.mark.parametrize(
    "damage, message",
    [
        (_corrupt_weights, "corrupt"),
        (_truncate_data, "corrupt"),
        (lambda t: (t / "config.json").write_text("{not json"), "corrupt"),
        (lambda t: (t / "config.json").write_text("[1, 2]"), "not a TensorRec"),
        (_edit_config(format=99), "newer tensorrec_explore"),
        (_edit_config(format="1"), "not a TensorRec model format"),
        (_edit_config(n_components=16), "do not belong together"),
        (_edit_config(n_components="abc"), "invalid configuration"),
        (_edit_config(unexpected=1, params={"bogus": 1}), "invalid configuration"),
        (lambda t: (t / "weights.npz").unlink(), "missing weights.npz"),
    ],
)
def test_damaged_files_raise_model_file_error_with_the_path(
    models, tmp_path, damage, message
) -> None:
    target = tmp_path / "model"
    models[0].save(target)
    if damage is not _corrupt_weights and damage is not _truncate_data:
        config = json.loads((target / "config.json").read_text())
        config.pop("checksums")  # edits below must reach the checks after the checksum
        (target / "config.json").write_text(json.dumps(config))
    damage(target)
    with pytest.raises(ModelFileError, match=message) as info:
        TensorRec.load(target)
    assert str(target) in str(info.value)


def test_unchecksummed_bit_flip_still_gives_model_file_error(models, tmp_path) -> None:
    target = tmp_path / "model"
    models[0].save(target)
    _edit_config(checksums=None)(target)
    _corrupt_weights(target)
    with pytest.raises(ModelFileError, match=str(target)):
        TensorRec.load(target)


@pytest.mark.slow
def test_two_processes_saving_one_path_while_a_third_loads(models, tmp_path) -> None:
    import os
    import subprocess
    import sys

    sources = [models[i].save(tmp_path / f"source{i}") for i in (0, 1)]
    target = tmp_path / "model"
    models[0].save(target)
    code = (
        "import sys; from tensorrec_explore import TensorRec; "
        "m = TensorRec.load(sys.argv[1]); [m.save(sys.argv[2]) for _ in range(4)]"
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    savers = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(s), str(target)],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for s in sources
    ]
    expected = [m.predict() for m in models]
    while any(p.poll() is None for p in savers):
        scores = TensorRec.load(target).predict()
        assert any(np.allclose(scores, e, rtol=1e-4, atol=1e-5) for e in expected)
    for saver in savers:
        assert saver.wait() == 0, saver.stderr.read()[-2000:]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".model")) == [
        ".model.lock"
    ]


def _twenty_epochs(tmp_path, loss: str, schedule: str, reload: bool, split: bool) -> TensorRec:
    """Train 20 epochs as one fit, or 10 + fit_partial 10, with a save/load in between."""
    data = make_planted().interactions
    model = TensorRec(
        n_components=4, loss=loss, learning_rate_schedule=schedule, random_state=3, epochs=10
    )
    if not split:
        return model.fit(data, epochs=20)
    model.fit(data)
    if reload:
        model = TensorRec.load(model.save(tmp_path / f"{loss}-{schedule}"))
    return model.fit_partial(data)


@pytest.mark.parametrize("loss", ["softmax", "bpr"])
def test_fit_partial_after_load_continues_exactly(tmp_path, loss) -> None:
    for schedule in ("linear", "constant"):
        kept = _twenty_epochs(tmp_path, loss, schedule, reload=False, split=True)
        reloaded = _twenty_epochs(tmp_path, loss, schedule, reload=True, split=True)
        assert reloaded.epochs_done_ == kept.epochs_done_ == 20
        assert int(reloaded.optimizer_.iterations) == int(kept.optimizer_.iterations)
        np.testing.assert_allclose(reloaded.predict(), kept.predict(), rtol=1e-5, atol=1e-5)
    # A constant rate makes 10 + 10 epochs the same training as 20 in one call.
    whole = _twenty_epochs(tmp_path, loss, "constant", reload=False, split=False)
    np.testing.assert_allclose(reloaded.predict(), whole.predict(), rtol=1e-5, atol=1e-5)


def test_weights_are_saved_by_name(models, tmp_path) -> None:
    target = models[0].save(tmp_path / "model")
    with np.load(target / "weights.npz") as arrays:
        names = set(arrays.files)
    assert {"user_tower_0/0_kernel", "item_tower/0_kernel", "user_bias/0_kernel"} <= names
    assert any(name.startswith("optimizer/") for name in names)
    arrays = dict(np.load(target / "weights.npz"))
    arrays["item_tower/0_other"] = arrays.pop("item_tower/0_kernel")
    np.savez(target / "weights.npz", **arrays)
    _edit_config(checksums=None)(target)
    with pytest.raises(ModelFileError, match=r"lacks \['item_tower/0_kernel'\]"):
        TensorRec.load(target)


def test_a_format_1_folder_still_loads(models, tmp_path) -> None:
    target = models[0].save(tmp_path / "model")
    network = models[0].network_
    with np.load(target / "weights.npz") as arrays:
        old = {f"w{i}": arrays[name] for i, name in enumerate(network.named_variables())}
    np.savez(target / "weights.npz", **old)
    config = json.loads((target / "config.json").read_text())
    config.update(format=1, checksums=None)
    del config["rng_state"]
    (target / "config.json").write_text(json.dumps(config))
    with pytest.warns(DeprecationWarning, match="format 1"):
        loaded = TensorRec.load(target)
    assert _same(loaded, models[0])
    assert loaded.epochs_done_ == models[0].epochs_done_


def test_the_training_history_is_saved_and_continues_after_load(tmp_path) -> None:
    from tensorrec_explore.callbacks import ValidationMetrics

    data = make_planted()
    model = TensorRec(n_components=4, epochs=3, random_state=0)
    model.fit(data.interactions, validation=ValidationMetrics(data.held_out, k=5))
    assert len(model.history_.logs) == 3 and "val_ndcg@5" in model.history_.logs[-1]
    loaded = TensorRec.load(model.save(tmp_path / "model"))
    assert loaded.history_.epochs == model.history_.epochs
    for mine, theirs in zip(loaded.history_.logs, model.history_.logs, strict=True):
        assert mine.keys() == theirs.keys()
        np.testing.assert_allclose(list(mine.values()), [float(v) for v in theirs.values()])
    loaded.fit_partial(data.interactions, epochs=1)
    assert len(loaded.history_.logs) == 4
    # a hand-edited history is refused with the path, not half-loaded
    target = model.save(tmp_path / "edited")
    _edit_config(history={"epochs": [0, 1], "logs": [{"loss": 1.0}]})(target)
    with pytest.raises(ModelFileError, match="2 epochs but 1 logs"):
        TensorRec.load(target)
    _edit_config(history={"epochs": [0], "logs": [{"loss": "low"}]})(target)
    with pytest.raises(ModelFileError, match="history is invalid"):
        TensorRec.load(target)
