"""Checkpoint selection through the public ``train()``: the shipped weights are the selected epoch's.

A run where the validation accuracies differ from epoch to epoch and the best epoch is not the
last one is trained five epochs, one ``stop_after`` call at a time, so every epoch's checkpoint
can be copied aside. Then ``model.safetensors`` must equal, tensor for tensor, the checkpoint of
the epoch the rule picks (computed here from the logged history), and differ from the last
epoch's, and ``metadata.json`` must name that epoch. The rule (train.py): ``best_clean`` ranks
epochs by (validation clean, validation robust) accuracy, ``best_robust`` by (robust, clean),
ties go to the earliest epoch; ``last`` ships the final epoch.
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import json
import os
import platform
import time
from importlib import metadata
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from robustbench_logits.recipes import get_recipe
from robustbench_logits.train import TrainError, train

EPOCHS = 5


@pytest.fixture(scope="module")
def data(mnist_small: tuple[torch.Tensor, ...]) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    x, y, _, _ = mnist_small
    return (x[:64], y[:64]), (x[64:128], y[64:128])


def _recipe(selection: str, **fields):  # noqa: ANN202, ANN003
    recipe = get_recipe("standard")
    # lr 0.05 on 64 examples: accuracies move from epoch to epoch (measured at seed 1 below)
    fields = {"selection": selection, "lr": 0.05, "epochs": EPOCHS, "batch_size": 16, **fields}
    setup = dataclasses.replace(recipe.setup("mnist", "cnn2c2f"), **fields)
    return dataclasses.replace(recipe, setups=(setup,))


def _newest_checkpoint(out: Path) -> Path:
    return max(out.glob("checkpoints/epoch-*/model.safetensors"))


def _train_epoch_by_epoch(out: Path, selection: str, data) -> tuple[object, list[dict[str, torch.Tensor]]]:  # noqa: ANN001
    train_data, eval_data = data
    options = {"seed": 1, "train_data": train_data, "eval_data": eval_data, "n_val_robust": 32, "progress": False, "threads": 1}
    snapshots = []
    for epoch in range(1, EPOCHS + 1):
        result = train(_recipe(selection), "mnist", "cnn2c2f", out, stop_after=epoch, **options)
        snapshots.append(load_file(_newest_checkpoint(out)))
        assert result.epochs_done == epoch
        if epoch < EPOCHS:  # interrupted: no weights shipped yet, so no file, no hash, no metadata
            assert not result.finished and result.weights is None and result.sha256 is None and result.metadata == {}
    return result, snapshots


def _expected_epoch(history: list[dict], selection: str) -> int:
    if selection == "last":
        return len(history)
    if selection == "best_clean":
        key = [(h["val_clean_accuracy"], h["val_robust_accuracy"]) for h in history]
    else:
        key = [(h["val_robust_accuracy"], h["val_clean_accuracy"]) for h in history]
    return max(range(len(history)), key=lambda i: (key[i], -i)) + 1  # ties: the earliest


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("selection", ["best_clean", "best_robust", "last"])
def test_shipped_weights_are_the_selected_epochs_checkpoint(selection: str, data, tmp_path: Path) -> None:  # noqa: ANN001
    result, snapshots = _train_epoch_by_epoch(tmp_path, selection, data)
    assert result.finished
    history = result.history
    clean = [h["val_clean_accuracy"] for h in history]
    robust = [h["val_robust_accuracy"] for h in history]
    assert len(set(clean)) > 1 and len(set(robust)) > 1, "the data must make epochs differ"
    assert not any(_same(snapshots[i], snapshots[i + 1]) for i in range(EPOCHS - 1))  # training moved

    expected = _expected_epoch(history, selection)
    if selection != "last":
        # the run discriminates: the best epoch is not the last one, nor the first
        assert 1 < expected < EPOCHS, f"pick another seed: {selection} selects epoch {expected} of {clean} / {robust}"
    meta = json.loads((tmp_path / "metadata.json").read_text())
    assert meta["selection"] == selection and meta["selected_epoch"] == expected
    assert meta["selected_val_clean_accuracy"] == clean[expected - 1]
    shipped = load_file(tmp_path / "model.safetensors")
    assert _same(shipped, snapshots[expected - 1])
    if selection != "last":
        assert not _same(shipped, snapshots[-1])
    true_sha = hashlib.sha256((tmp_path / "model.safetensors").read_bytes()).hexdigest()
    assert meta["sha256"] == result.sha256 == true_sha
    assert meta["weights"] == "model.safetensors" and meta["history"] == history and meta["paper"]
    assert "converged" in meta and meta["epochs_done"] == EPOCHS
    recipe = get_recipe("standard")  # what the run was, for the zoo card and leaderboard entry
    assert meta["recipe_title"] == recipe.title and meta["checkpoint_rule"] == recipe.checkpoint
    assert meta["dataset"] == "mnist" and meta["arch"] == "cnn2c2f" and meta["epochs"] == EPOCHS
    assert meta["cpu_seconds"] == pytest.approx(sum(h["cpu_seconds"] for h in history)) and meta["cpu_seconds"] > 0
    # only the newest epoch's checkpoint is kept beside the best weights
    assert [p.name for p in tmp_path.glob("checkpoints/epoch-*")] == [f"epoch-{EPOCHS:04d}"]


def test_a_run_stopped_early_is_finished_and_ships_its_best_epoch(data, tmp_path: Path) -> None:  # noqa: ANN001
    # overfit guard 0: stop as soon as validation PGD accuracy falls below its best (epoch 3 here)
    train_data, eval_data = data
    recipe = _recipe("best_robust", overfit_guard=0.0)
    result = train(recipe, "mnist", "cnn2c2f", tmp_path, seed=1, train_data=train_data, eval_data=eval_data,
                   n_val_robust=32, progress=False, threads=1)
    robust = [h["val_robust_accuracy"] for h in result.history]
    assert result.finished and result.epochs_done == len(robust) < EPOCHS
    assert robust[-1] < max(robust) and result.metadata["stopped"]
    assert result.metadata["selected_epoch"] == robust.index(max(robust)) + 1
    assert result.metadata["converged"] is False  # under 5 epochs: too short to call converged (train.converged)
    assert (tmp_path / "model.safetensors").is_file()


def test_a_leftover_checkpoint_directory_does_not_stop_a_run(data, tmp_path: Path) -> None:  # noqa: ANN001
    # a run killed between creating an epoch's directory and recording it leaves the directory behind
    (tmp_path / "checkpoints" / "epoch-0001").mkdir(parents=True)
    train_data, eval_data = data
    result = train(_recipe("last"), "mnist", "cnn2c2f", tmp_path, seed=1, epochs=1, train_data=train_data,
                   eval_data=eval_data, n_val_robust=0, progress=False, threads=1)
    assert result.finished


def test_an_unknown_selection_rule_is_refused(data, tmp_path: Path) -> None:  # noqa: ANN001
    train_data, eval_data = data
    with pytest.raises(TrainError, match="^unknown selection 'best_loss' in the recipe: use 'best_clean', 'best_robust' or 'last'"):
        train(_recipe("best_loss"), "mnist", "cnn2c2f", tmp_path, train_data=train_data, eval_data=eval_data, progress=False)


def _tiny(data):  # noqa: ANN001, ANN202
    """16 training examples (one batch of 16: one step per epoch) and 8 validation examples."""
    (x_train, y_train), (x_eval, y_eval) = data
    return {"train_data": (x_train[:16], y_train[:16]), "eval_data": (x_eval[:8], y_eval[:8]), "progress": False, "threads": 1}


def test_a_run_whose_validation_robust_accuracy_is_flat_is_converged(data, tmp_path: Path) -> None:  # noqa: ANN001
    # lr 0: the weights never move and the validation PGD starts are seeded alike every epoch, so the
    # robust accuracy is the same at each of the 5 epochs. The rule (train.converged): over the last
    # fifth of the epochs, ceil(0.2 * 5) = 1, compared with the epoch before it, max - min = 0 < 0.01.
    result = train(_recipe("last", lr=0.0), "mnist", "cnn2c2f", tmp_path, seed=1, n_val_robust=8, **_tiny(data))
    robust = [h["val_robust_accuracy"] for h in result.history]
    assert result.finished and len(robust) == EPOCHS and None not in robust and len(set(robust)) == 1
    assert result.metadata["converged"] is True


def test_a_previous_checkpoint_that_cannot_be_deleted_does_not_stop_the_run(data, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    # Removing the previous epoch's checkpoint is housekeeping after state.json points at the new one:
    # a file that cannot be removed (held open on a network file system, a permission) leaves that
    # directory behind and the run goes on. Simulated: removing a file inside a checkpoint directory
    # fails (shutil.rmtree removes entries with dir_fd on Linux; the path check covers other systems).
    real_unlink = os.unlink

    def refuse(path, *, dir_fd=None):  # noqa: ANN001, ANN202
        if dir_fd is not None or "epoch-" in str(path):
            raise PermissionError(errno.EACCES, "simulated: the file is in use", str(path))
        return real_unlink(path)

    monkeypatch.setattr(os, "unlink", refuse)
    result = train(_recipe("last", epochs=2), "mnist", "cnn2c2f", tmp_path, seed=1, n_val_robust=0, **_tiny(data))
    assert result.finished and result.epochs_done == 2 and result.weights.is_file()
    assert (tmp_path / "checkpoints" / "epoch-0001").is_dir()  # its deletion was attempted, and failed


def _scripted(monkeypatch, clean: list[float], robust: list[float]) -> None:  # noqa: ANN001
    """Replace the validation measurements by these per-epoch accuracies (one value per call, in turn)."""
    from robustbench_logits import train as train_module

    clean_values, robust_values = iter(clean), iter(robust)
    monkeypatch.setattr(train_module, "_clean_accuracy", lambda *args, **kwargs: next(clean_values))
    monkeypatch.setattr(train_module, "_robust_accuracy", lambda *args, **kwargs: next(robust_values))


def test_best_clean_breaks_a_clean_accuracy_tie_by_robust_accuracy(data, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    # Scripted validation accuracies, epochs 1-3: clean 0.5, 0.5, 0.25 and robust 0.0, 0.25, 0.5.
    # best_clean ranks by (clean, robust): (0.5, 0.0) < (0.5, 0.25) > (0.25, 0.5), so epoch 2 - the
    # tie on clean accuracy goes to the higher robust accuracy, not to the earlier epoch, and an
    # epoch's robust accuracy of 0.0 counts as 0.0.
    _scripted(monkeypatch, [0.5, 0.5, 0.25], [0.0, 0.25, 0.5])
    started = time.perf_counter()
    result = train(_recipe("best_clean", epochs=3), "mnist", "cnn2c2f", tmp_path, seed=1, n_val_robust=8, **_tiny(data))
    elapsed = time.perf_counter() - started
    meta = json.loads((tmp_path / "metadata.json").read_text())
    assert result.finished and meta == result.metadata
    assert meta["selected_epoch"] == 2
    assert meta["selected_val_clean_accuracy"] == 0.5 and meta["selected_val_robust_accuracy"] == 0.25
    # the run's wall time is its epochs' (validation included), within the time train() took
    assert meta["wall_time_seconds"] == pytest.approx(sum(h["seconds"] for h in result.history))
    assert 0 < meta["wall_time_seconds"] <= elapsed
    # provenance: the versions of the stack that trained it
    assert meta["versions"]["torch"] == metadata.version("torch") and meta["versions"]["python"] == platform.python_version()
    # the TrainResult: where, the shipped weights, and the model as the last epoch left it
    assert result.out_dir == tmp_path and result.weights == tmp_path / "model.safetensors"
    last = load_file(tmp_path / "checkpoints" / f"epoch-{3:04d}" / "model.safetensors")
    assert _same({k: v for k, v in result.model.state_dict().items() if k in last}, last)
    assert _same(load_file(result.weights), load_file(tmp_path / "checkpoints" / "best.safetensors"))


def test_a_resumed_run_whose_early_epochs_predate_cpu_seconds_counts_them_as_zero(data, tmp_path: Path) -> None:  # noqa: ANN001
    # A checkpoint written before the package recorded cpu_seconds has history rows without it:
    # resuming it must finish, and metadata's cpu_seconds is then the sum over the rows that have it.
    options = {"seed": 1, "n_val_robust": 0, **_tiny(data)}
    train(_recipe("last", epochs=2), "mnist", "cnn2c2f", tmp_path, stop_after=1, **options)
    state_path = tmp_path / "state.json"
    state = json.loads(state_path.read_text())
    del state["history"][0]["cpu_seconds"]
    state_path.write_text(json.dumps(state))
    result = train(_recipe("last", epochs=2), "mnist", "cnn2c2f", tmp_path, **options)
    assert result.finished and "cpu_seconds" not in result.history[0]
    assert result.metadata["cpu_seconds"] == pytest.approx(result.history[1]["cpu_seconds"], abs=1e-9)
