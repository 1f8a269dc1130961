"""The trainer: inner attack, schedule, checkpoints and resume, selection, metadata, DDP, and MNIST accuracy."""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file

from robustbench_logits import losses
from robustbench_logits._distributed import Process
from robustbench_logits._inner_max import _random_start, inner_maximisation
from robustbench_logits.models import create_model
from robustbench_logits.recipes import InnerMax, get_recipe
from robustbench_logits.zoo import records
from robustbench_logits.train import (VAL_ATTACKS, TrainError, _augment, _dropout_rows, _fingerprint, _lr_factor,
                                      _robust_accuracy, converged, train)

REPO = Path(__file__).resolve().parents[1]
TRAIN_MODULE = importlib.import_module("robustbench_logits.train")  # the package exports the function `train`


@pytest.fixture(scope="module")
def tiny(mnist_small: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    x_train, y_train, _, _ = mnist_small
    return x_train[:32], y_train[:32]


def _kl(logits_nat: torch.Tensor, logits_adv: torch.Tensor) -> torch.Tensor:
    p = F.softmax(logits_nat, dim=1)
    return (p * (F.log_softmax(logits_nat, dim=1) - F.log_softmax(logits_adv, dim=1))).sum(1).mean()


def _margin(logits: torch.Tensor, y: torch.Tensor, delta: float = 0.9) -> torch.Tensor:
    true = logits.gather(1, y[:, None])
    hinge = (logits - true + delta).clamp_min(0) ** 2
    return hinge.masked_fill(F.one_hot(y, 10).bool(), 0).sum(1).mean()


@pytest.fixture(scope="module")
def fitted(tiny: tuple[torch.Tensor, torch.Tensor]) -> torch.nn.Module:
    """cnn2c2f fitted to the tiny batch (so its loss is low and an attack has room to raise it)."""
    x, y = tiny
    torch.manual_seed(0)
    model = create_model("cnn2c2f", 10, 1)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(60):
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimizer.step()
    return model.eval()


@pytest.mark.parametrize("loss", ["ce", "trades_kl", "ce_margin"])
def test_inner_attack_raises_the_loss_it_maximises(loss: str, tiny: tuple[torch.Tensor, torch.Tensor], fitted: torch.nn.Module) -> None:
    x, y = tiny
    model = fitted
    attack = InnerMax(eps=0.3, step_size=0.05, steps=10, loss=loss, start="normal")
    x_adv = inner_maximisation(model, x, y, attack, torch.Generator().manual_seed(0))
    with torch.no_grad():
        objective = {
            "ce": lambda z: F.cross_entropy(z, y),
            "trades_kl": lambda z: _kl(model(x), z),
            "ce_margin": lambda z: F.cross_entropy(z, y) + _margin(z, y),  # LMA-AT g' = CE + L'
        }[loss]
        noise = (x + 0.3 * torch.sign(torch.randn(x.shape, generator=torch.Generator().manual_seed(1)))).clamp(0, 1)
        before, random, after = (float(objective(model(inputs))) for inputs in (x, noise, x_adv))
    assert after > 2 * max(before, random) and after > before + 0.5
    assert float((x_adv - x).abs().max()) <= 0.3 + 1e-6 and 0.0 <= float(x_adv.min()) and float(x_adv.max()) <= 1.0


def test_inner_attack_freezes_batchnorm_keeps_the_head_in_training_form(tiny: tuple[torch.Tensor, torch.Tensor]) -> None:
    x, y = tiny
    model = create_model("resnet_small", 10, 1, head="scaled_tanh", img_size=28).train()
    seen: list[bool] = []
    model.head.register_forward_hook(lambda module, args, out: seen.append(module.training))
    running_mean = [m.running_mean.clone() for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    inner_maximisation(model, x[:4], y[:4], InnerMax(0.3, 0.1, 2), torch.Generator().manual_seed(0))
    assert seen == [True, True]  # S-Tanh attacked as tanh(z), LCAT eq. 7 training form
    after = [m.running_mean for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert all(torch.equal(a, b) for a, b in zip(running_mean, after))  # BN in eval mode
    assert all(m.training for m in model.modules())  # modes restored
    assert all(p.grad is None for p in model.parameters())  # only input gradients


def test_lr_schedule_warmup_then_step_decay() -> None:
    summers = get_recipe("alp").setup("cifar10", "resnet18_cifar")  # 5 warm-up epochs, /10 at 100, 150
    factor = _lr_factor(summers, steps_per_epoch=10)
    assert factor(0) == pytest.approx(1 / 50) and factor(49) == pytest.approx(1.0)
    assert factor(999) == 1.0 and factor(1000) == pytest.approx(0.1) and factor(1500) == pytest.approx(0.01)


def _shifted_flipped(image: np.ndarray, dy: int, dx: int, flip: bool) -> np.ndarray:
    """Expected crop: out[r, c] = image[r + dy, c + dx] where that pixel exists, else 0; then mirrored."""
    _, height, width = image.shape
    out = np.zeros_like(image)
    for r in range(height):
        for c in range(width):
            if 0 <= r + dy < height and 0 <= c + dx < width:
                out[:, r, c] = image[:, r + dy, c + dx]
    return out[:, :, ::-1] if flip else out


def test_crop_flip_outputs_are_zero_filled_shifts_or_their_mirror_images() -> None:
    # Distinct positive pixels, so the shift/flip that produced an output is unique and a zero can
    # only come from the padding. RandomCrop(padding=4) shifts by dy, dx in [-4, 4].
    image = np.arange(1, 2 * 5 * 6 + 1, dtype=np.float32).reshape(2, 5, 6)
    x = torch.from_numpy(image).expand(2000, 2, 5, 6).contiguous()
    out = _augment(x, "crop_flip", torch.Generator().manual_seed(0)).numpy()
    assert out.shape == x.shape
    candidates = {
        (dy, dx, flip): _shifted_flipped(image, dy, dx, flip)
        for dy in range(-4, 5) for dx in range(-4, 5) for flip in (False, True)
    }  # fmt: skip
    seen = []
    for example in out:
        matches = [key for key, expected in candidates.items() if np.array_equal(example, expected)]
        assert len(matches) == 1
        seen.append(matches[0])
    assert set(seen) == set(candidates)  # every offset and both orientations occur (162 of 2000 draws)
    assert 0.45 < np.mean([flip for _, _, flip in seen]) < 0.55


def test_crop_flip_replays_from_the_generator_and_only_when_asked() -> None:
    x = torch.rand(16, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    first = _augment(x, "crop_flip", torch.Generator().manual_seed(7))
    assert torch.equal(first, _augment(x, "crop_flip", torch.Generator().manual_seed(7)))
    assert not torch.equal(first, _augment(x, "crop_flip", torch.Generator().manual_seed(8)))
    untouched = torch.Generator().manual_seed(7)
    assert _augment(x, None, untouched) is x and torch.equal(untouched.get_state(), torch.Generator().manual_seed(7).get_state())
    with pytest.raises(TrainError, match="unknown augmentation"):
        _augment(x, "autoaugment", untouched)


def test_an_unset_augmentation_leaves_the_fingerprint_of_earlier_runs() -> None:
    # Runs fingerprinted before Setup had the field must still resume: None is left out.
    before = {"recipe": "standard", "setup": {"lr": 0.1, "mixup": None}, "seed": 0}
    expected = hashlib.sha256(json.dumps(before, sort_keys=True).encode()).hexdigest()
    assert _fingerprint({**before, "setup": {**before["setup"], "augmentation": None}}) == expected
    assert _fingerprint({**before, "setup": {**before["setup"], "augmentation": "crop_flip"}}) != expected


def _with_augmentation(name: str):  # noqa: ANN202
    recipe = get_recipe(name)
    setup = dataclasses.replace(recipe.setup("mnist", "cnn2c2f"), augmentation="crop_flip")
    return dataclasses.replace(recipe, setups=(setup,))


def test_augmentation_feeds_mixup_with_training_batches_only(tiny: tuple[torch.Tensor, torch.Tensor], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    augmented, mixed = [], []

    def augment(x, kind, generator, process=None):  # noqa: ANN001, ANN202
        out = _augment(x, kind, generator, process)
        augmented.append(out)
        return out

    def mix(x, y, kind, generator):  # noqa: ANN001, ANN202
        mixed.append(x)
        return x, y

    monkeypatch.setattr(TRAIN_MODULE, "_augment", augment)
    monkeypatch.setattr(TRAIN_MODULE, "_mix", mix)
    x, y = tiny
    train(_with_augmentation("standard"), "mnist", "cnn2c2f", tmp_path, preset="cpu", batch_size=8,
          train_data=(x[:16], y[:16]), eval_data=(x[16:], y[16:]), progress=False, threads=1)  # fmt: skip
    assert len(augmented) == 2  # the 2 training batches; the eval split is not augmented
    assert all(a is m for a, m in zip(augmented, mixed, strict=True))  # mixup sees the augmented batch


def _run(tmp: Path, tiny: tuple[torch.Tensor, torch.Tensor], recipe: object = "lma-at", **kw: object):  # noqa: ANN202
    x, y = tiny
    options = {"preset": "cpu", "epochs": 2, "batch_size": 8, "seed": 3, "progress": False, "threads": 1}
    return train(recipe, "mnist", "cnn2c2f", tmp, train_data=(x, y), eval_data=(x[:16], y[:16]), **{**options, **kw})


@pytest.mark.parametrize("recipe", ["lma-at", "lcat", "lrm"])
def test_interrupted_run_resumes_to_the_same_weights(recipe: str, tiny: tuple[torch.Tensor, torch.Tensor], tmp_path: Path) -> None:
    # lma-at: dropout, PGD starts, momentum and the EMA state; lcat: noise; lrm: mixup draws.
    straight = _run(tmp_path / "straight", tiny, recipe)
    first = _run(tmp_path / "resumed", tiny, recipe, stop_after=1)
    assert not first.finished and first.epochs_done == 1 and not (tmp_path / "resumed" / "model.safetensors").exists()
    resumed = _run(tmp_path / "resumed", tiny, recipe)
    assert resumed.finished and resumed.sha256 == straight.sha256
    a, b = straight.model.state_dict(), resumed.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert [h["train_loss"] for h in resumed.history] == [h["train_loss"] for h in straight.history]


def test_interrupted_run_with_augmentation_resumes_to_the_same_weights(tiny: tuple[torch.Tensor, torch.Tensor], tmp_path: Path) -> None:
    recipe = _with_augmentation("lrm")  # crop/flip, then mixup, then PGD: all from the epoch's generator
    straight = _run(tmp_path / "straight", tiny, recipe)
    _run(tmp_path / "resumed", tiny, recipe, stop_after=1)
    resumed = _run(tmp_path / "resumed", tiny, recipe)
    assert resumed.finished and resumed.sha256 == straight.sha256
    assert [h["train_loss"] for h in resumed.history] == [h["train_loss"] for h in straight.history]
    assert _run(tmp_path / "plain", tiny, "lrm").sha256 != straight.sha256  # the augmentation was applied


def test_resume_refuses_another_configuration(tiny: tuple[torch.Tensor, torch.Tensor], tmp_path: Path) -> None:
    _run(tmp_path, tiny, "standard", stop_after=1)
    with pytest.raises(TrainError, match="another configuration"):
        _run(tmp_path, tiny, "standard", seed=4)


def test_a_finished_run_continues_to_a_raised_epoch_ceiling(tiny: tuple[torch.Tensor, torch.Tensor], tmp_path: Path) -> None:
    straight = _run(tmp_path / "straight", tiny, "lrm", epochs=3)
    first = _run(tmp_path / "raised", tiny, "lrm", epochs=2)
    assert first.finished and first.epochs_done == 2
    raised = _run(tmp_path / "raised", tiny, "lrm", epochs=3)
    assert raised.finished and raised.epochs_done == 3 and raised.sha256 == straight.sha256
    assert [h["train_loss"] for h in raised.history] == [h["train_loss"] for h in straight.history]
    assert raised.metadata["epochs"] == 3
    again = _run(tmp_path / "raised", tiny, "lrm", epochs=3)  # the continued run is now the run of that configuration
    assert again.finished and again.sha256 == straight.sha256


def test_a_continuation_interrupted_before_its_new_ceiling_is_not_taken_for_the_old_run(
    tiny: tuple[torch.Tensor, torch.Tensor], tmp_path: Path
) -> None:
    _run(tmp_path, tiny, "standard", epochs=2)
    _run(tmp_path, tiny, "standard", epochs=4, stop_after=3)  # raised, then interrupted after epoch 3
    # metadata.json still describes the 2-epoch run, but the checkpoint belongs to the 4-epoch one
    with pytest.raises(TrainError, match="another configuration"):
        _run(tmp_path, tiny, "standard", epochs=2)
    assert _run(tmp_path, tiny, "standard", epochs=4).epochs_done == 4


def test_converged_at_exactly_the_tolerance_is_not_converged() -> None:
    assert not converged([0.5] * 8 + [0.75, 0.75], tolerance=0.25)  # dyadic values: the difference is exactly 0.25
    assert converged([0.5] * 8 + [0.75, 0.75], tolerance=0.2500001)


def test_a_raised_ceiling_does_not_continue_an_unfinished_run_or_another_configuration(
    tiny: tuple[torch.Tensor, torch.Tensor], tmp_path: Path
) -> None:
    _run(tmp_path / "a", tiny, "standard", epochs=3, stop_after=1)  # interrupted: no metadata.json says what it ran with
    with pytest.raises(TrainError, match="another configuration"):
        _run(tmp_path / "a", tiny, "standard", epochs=4)
    _run(tmp_path / "b", tiny, "standard", epochs=2)
    with pytest.raises(TrainError, match="another configuration"):
        _run(tmp_path / "b", tiny, "standard", epochs=3, batch_size=4)  # a ceiling and something that steers
    cyclic = dataclasses.replace(get_recipe("fast-at"), setups=(dataclasses.replace(
        get_recipe("fast-at").setup("mnist", "cnn2c2f"), overfit_guard=None),))
    _run(tmp_path / "c", tiny, cyclic, epochs=2, preset=None)
    with pytest.raises(TrainError, match="another configuration"):
        _run(tmp_path / "c", tiny, cyclic, epochs=3, preset=None)  # the cyclic lr spans every epoch: the ceiling steers


@pytest.mark.parametrize("damage", ["truncated state", "deleted checkpoint", "truncated weights"])
def test_a_damaged_run_directory_is_one_sentence_and_left_as_it_was(
    damage: str, tiny: tuple[torch.Tensor, torch.Tensor], tmp_path: Path
) -> None:
    _run(tmp_path, tiny, "standard", stop_after=1)
    state_path = tmp_path / "state.json"
    weights = tmp_path / json.loads(state_path.read_text())["checkpoint"] / "model.safetensors"
    if damage == "truncated state":
        state_path.write_text(state_path.read_text()[:40])
    elif damage == "deleted checkpoint":
        weights.unlink()
    else:
        weights.write_bytes(weights.read_bytes()[:100])
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    with pytest.raises(TrainError, match="to start over") as caught:
        _run(tmp_path, tiny, "standard")
    assert "\n" not in str(caught.value)
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before  # nothing rewritten


def test_outputs_selection_and_metadata(tiny: tuple[torch.Tensor, torch.Tensor], tmp_path: Path) -> None:
    result = _run(tmp_path, tiny, "blf", epochs=3)  # Kanai: keep the best clean epoch
    meta = json.loads((tmp_path / "metadata.json").read_text())
    keys = [(h["val_clean_accuracy"], h["val_robust_accuracy"]) for h in meta["history"]]
    best = max(range(3), key=lambda i: (keys[i], -i)) + 1  # best clean, then robust, then earliest
    assert meta["selection"] == "best_clean" and meta["selected_epoch"] == best
    assert meta["sha256"] == hashlib.sha256((tmp_path / "model.safetensors").read_bytes()).hexdigest() == result.sha256
    assert meta["recipe"] == "blf" and meta["head"] == "blf" and meta["epochs"] == 3 and meta["dataset"] == "mnist"
    assert meta["wall_time_seconds"] > 0 and {"torch", "timm", "python"} <= set(meta["versions"])
    assert 0 < meta["cpu_seconds"] == pytest.approx(sum(h["cpu_seconds"] for h in meta["history"]))
    assert meta["setup"]["hyperparameters"] == {"on": "clean"}
    log = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in log] == [1, 2, 3]
    suffixes = {p.suffix for p in tmp_path.rglob("*") if p.is_file()}
    assert suffixes <= {".safetensors", ".json", ".jsonl"}  # no pickle anywhere
    weights = load_file(tmp_path / "model.safetensors")
    assert any(k.startswith("backbone.") for k in weights)  # the LogitHeadModel's state


def test_same_seed_same_weights(tiny: tuple[torch.Tensor, torch.Tensor], tmp_path: Path) -> None:
    assert _run(tmp_path / "a", tiny, "trades", epochs=1).sha256 == _run(tmp_path / "b", tiny, "trades", epochs=1).sha256
    assert _run(tmp_path / "c", tiny, "trades", epochs=1, seed=5).sha256 != _run(tmp_path / "a", tiny, "trades", epochs=1).sha256


_DDP_SCRIPT = textwrap.dedent(
    """
    import os, sys, torch
    from safetensors.torch import save_file
    from robustbench_logits.train import train
    x, y = torch.load(sys.argv[1], weights_only=True).values()
    result = train("standard", "mnist", "lenet5", sys.argv[2], epochs=1, batch_size=8, train_data=(x, y),
                   eval_data=(x, y), progress=False, device="cpu", threads=1)
    state = {k: v.contiguous() for k, v in result.model.state_dict().items()}
    save_file(state, os.path.join(sys.argv[2], "rank%s.safetensors" % os.environ["RANK"]))
    """
)


def test_two_process_ddp_matches_one_adam_step_on_the_whole_batch(tiny: tuple[torch.Tensor, torch.Tensor], tmp_path: Path) -> None:
    x, y = tiny[0][:8].clone(), tiny[1][:8].clone()
    torch.save({"x": x, "y": y}, tmp_path / "data.pt")
    (tmp_path / "script.py").write_text(_DDP_SCRIPT)
    out = tmp_path / "run"
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", str(tmp_path / "script.py"), str(tmp_path / "data.pt"), str(out)]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-2000:]
    rank0, rank1 = load_file(out / "rank0.safetensors"), load_file(out / "rank1.safetensors")
    assert all(torch.equal(rank0[k], rank1[k]) for k in rank0)
    assert json.loads((out / "metadata.json").read_text())["world_size"] == 2
    # Expected: each rank sees 4 of the 8 examples, DDP averages the gradients, so one step of
    # Adam (PC-LC baseline: lr 0.01) on the mean CE of all 8: theta - lr * g / (|g| + eps).
    torch.manual_seed(0)
    model = create_model("lenet5", 10, 1, img_size=28)
    loss = F.cross_entropy(model(x), y)
    grads = torch.autograd.grad(loss, list(model.parameters()))
    for (name, parameter), grad in zip(model.named_parameters(), grads):
        expected = parameter.detach() - 0.01 * grad / (grad.abs() + 1e-8)
        torch.testing.assert_close(rank0[name], expected, atol=1e-6, rtol=1e-5)


def test_each_rank_draws_its_rows_of_the_global_batch_and_alone_the_draws_are_unchanged() -> None:
    # Rank r's batch is rows r::2 of one process's batch; every per-example draw must give those
    # rows what one process draws for them, from a generator seeded alike on every rank.
    x = torch.rand(6, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    alone, ranks = Process(0, 1, torch.device("cpu")), [Process(r, 2, torch.device("cpu")) for r in range(2)]
    uniform, normal = InnerMax(0.3, 0.1, 1), InnerMax(0.3, 0.1, 1, start="normal")
    draws = {
        "crop_flip": lambda v, g, p: _augment(v, "crop_flip", g, p),
        "noise": lambda v, g, p: losses.uniform_noise(v, 0.3, g, process=p),
        "uniform start": lambda v, g, p: _random_start(v, uniform, g, p),
        "normal start": lambda v, g, p: _random_start(v, normal, g, p),
    }
    for name, draw in draws.items():
        whole = draw(x, torch.Generator().manual_seed(5), None)
        assert torch.equal(draw(x, torch.Generator().manual_seed(5), alone), whole), name  # world 1: today's call
        for process in ranks:
            rows = draw(x[process.rank :: 2], torch.Generator().manual_seed(5), process)
            assert torch.equal(rows, whole[process.rank :: 2]), name
    features = torch.randn(6, 50, generator=torch.Generator().manual_seed(1))
    dropout = torch.nn.Dropout(0.5).train()
    torch.manual_seed(7)
    whole = dropout(features)  # one process: torch's dropout from the global RNG
    for process in [alone, *ranks]:
        with _dropout_rows(dropout, process):
            torch.manual_seed(7)  # seeded alike on every rank
            assert torch.equal(dropout(features[process.rank :: process.world_size]), whole[process.rank :: process.world_size])
    assert "forward" not in vars(dropout)  # torch's dropout again afterwards


_SAME_WEIGHTS_SCRIPT = textwrap.dedent(
    """
    import dataclasses, os, sys, torch
    from safetensors.torch import save_file
    from robustbench_logits.recipes import get_recipe
    from robustbench_logits.train import train

    def pgd_at_with_crop_flip(x, y, out):
        recipe = get_recipe("pgd-at")
        setup = dataclasses.replace(recipe.setup("mnist", "cnn2c2f", "cpu"), augmentation="crop_flip")
        return train(dataclasses.replace(recipe, setups=(setup,)), "mnist", "cnn2c2f", out, preset="cpu", epochs=1,
                     batch_size=8, seed=3, train_data=(x[:32], y[:32]), eval_data=(x[32:], y[32:]), n_val_robust=8,
                     val_attack="pgd-10", progress=False, device="cpu", threads=1)  # APGD's starts depend on the ranks

    if __name__ == "__main__":
        x, y = torch.load(sys.argv[1], weights_only=True).values()
        result = pgd_at_with_crop_flip(x, y, sys.argv[2])
        state = {k: v.contiguous() for k, v in result.model.state_dict().items()}
        save_file(state, os.path.join(sys.argv[2], "rank%s.safetensors" % os.environ["RANK"]))
    """
)


def test_two_processes_train_the_weights_one_process_trains(tiny: tuple[torch.Tensor, torch.Tensor], tmp_path: Path) -> None:
    # PGD-AT on cnn2c2f (50 % dropout) with crop/flip: augmentation offsets, PGD starts and dropout
    # masks are all random per example. 4 steps of 8 (4 per rank), then validation PGD on 8.
    x, y = tiny[0][:32].clone(), tiny[1][:32].clone()
    x = torch.cat([x, x[:8].flip(-1)])  # 8 more for validation
    y = torch.cat([y, y[:8]])
    torch.save({"x": x, "y": y}, tmp_path / "data.pt")
    (tmp_path / "script.py").write_text(_SAME_WEIGHTS_SCRIPT)
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", str(tmp_path / "script.py"), str(tmp_path / "data.pt"), str(tmp_path / "two")]
    two_processes = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    namespace: dict[str, object] = {"__name__": "same_weights"}  # not "__main__": define, do not run
    exec(compile(_SAME_WEIGHTS_SCRIPT, "script.py", "exec"), namespace)  # noqa: S102 -- the same function, run here alone
    one = namespace["pgd_at_with_crop_flip"](x, y, str(tmp_path / "one"))
    _, stderr = two_processes.communicate(timeout=120)
    assert two_processes.returncode == 0, stderr[-2000:]
    two = load_file(tmp_path / "two" / "rank0.safetensors")
    meta_one, meta_two = (json.loads((tmp_path / run / "metadata.json").read_text()) for run in ("one", "two"))
    assert (meta_one["world_size"], meta_two["world_size"]) == (1, 2) and meta_one["setup"] == meta_two["setup"]
    weights = one.model.state_dict()
    difference = max(float((weights[k] - two[k]).abs().max()) for k in weights)
    assert difference < 1e-5, difference  # float summation order only (per-rank random draws: ~1e-2)
    assert meta_one["history"][0]["val_robust_accuracy"] == meta_two["history"][0]["val_robust_accuracy"]


# Floors with room for the CPU: the same seeded epoch gives cnn2c2f 0.9696 on the AMD EPYC machine of
# 2026-12-03 and >= 0.97 on earlier ones (float kernels differ per CPU); a broken loop stays near 0.1.
@pytest.mark.parametrize("arch, floor", [("cnn2c2f", 0.96), ("lenet5", 0.95)])
def test_one_epoch_of_standard_ce_on_mnist(arch: str, floor: float, tmp_path: Path) -> None:
    result = train("standard", "mnist", arch, tmp_path, preset="cpu", progress=False, threads=1)
    assert result.metadata["selected_val_clean_accuracy"] >= floor
    assert result.metadata["validation"]["source"] == "training set" and result.metadata["n_train"] == 55000


def test_validation_split_is_carved_from_the_training_set_and_the_test_set_is_never_read(
    tiny: tuple[torch.Tensor, torch.Tensor], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    x, y = tiny

    def load(dataset, split, n_examples=None, data_dir=None):  # noqa: ANN001, ANN202
        assert split == "train", "the trainer must not read the test set"
        return x, y

    monkeypatch.setattr(TRAIN_MODULE, "load_dataset", load)
    meta = train("standard", "mnist", "cnn2c2f", tmp_path / "a", preset="cpu", batch_size=8, val_size=8, n_val_robust=4,
                 progress=False, threads=1).metadata  # fmt: skip
    validation = meta["validation"]
    assert validation["source"] == "training set" and validation["size"] == 8 and meta["n_train"] == 24
    assert validation["n_robust"] == 4 and validation["eps"] == 0.3
    other = train("standard", "mnist", "cnn2c2f", tmp_path / "b", preset="cpu", batch_size=8, val_size=8, seed=7,
                  n_val_robust=4, progress=False, threads=1).metadata  # fmt: skip
    assert other["validation"]["indices_sha256"] == validation["indices_sha256"]  # one split, whatever the run seed
    with pytest.raises(TrainError, match="--val-size"):
        train("standard", "mnist", "cnn2c2f", tmp_path / "c", preset="cpu", val_size=32, progress=False, threads=1)


def test_converged_means_under_one_point_between_the_last_fifth_and_the_fifth_before() -> None:
    assert not converged([0.1, 0.2, 0.3, 0.4])  # too few epochs to judge
    assert converged([0.1, 0.5, 0.8, 0.9, 0.905])  # fifth = 1 epoch: 0.9 -> 0.905
    assert not converged([0.1, 0.5, 0.8, 0.88, 0.9])  # 2 points
    # 10 epochs, fifth = 2: mean of epochs 9-10 against epochs 7-8
    assert converged([0.5] * 6 + [0.5, 0.5, 0.509, 0.509])  # 0.9 points
    assert not converged([0.5] * 6 + [0.5, 0.5, 0.511, 0.511])  # 1.1 points
    assert not converged([0.5] * 6 + [0.5, 0.5, 0.489, 0.489])  # falling counts too
    # a flat but noisy curve (3 points between neighbours, the validation PGD's epoch-to-epoch noise) converges;
    # the earlier max - min rule called it unconverged
    assert converged([0.2, 0.4, 0.5, 0.5, 0.5, 0.5, 0.52, 0.48, 0.49, 0.51])
    # a steady rise of 0.6 points per epoch is 1.2 points between fifths, however smooth
    assert not converged([0.5 + 0.006 * i for i in range(10)])
    # only the last two fifths count: what came before them does not
    assert converged([0.0, 0.9, 0.1, 0.8, 0.3, 0.7, 0.6, 0.6, 0.605, 0.6])


def _scripted_robust(monkeypatch: pytest.MonkeyPatch, values: list[float]) -> None:
    scores = iter(values)
    monkeypatch.setattr(TRAIN_MODULE, "_robust_accuracy", lambda *args, **kwargs: next(scores))


def test_overfit_guard_stops_and_keeps_the_best_robust_epoch(tiny: tuple[torch.Tensor, torch.Tensor], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _scripted_robust(monkeypatch, [0.5, 0.6, 0.3, 0.7])  # epoch 3 falls 0.3 below the best: stop there
    result = _run(tmp_path, tiny, "fast-at", epochs=4)
    meta = result.metadata
    assert result.finished and meta["epochs_done"] == 3 and "catastrophic-overfitting guard" in meta["stopped"]
    assert meta["selection"] == "best_robust" and meta["selected_epoch"] == 2 and meta["selected_val_robust_accuracy"] == 0.6
    again = _run(tmp_path, tiny, "fast-at", epochs=4)  # a finished run is not extended on a second call
    assert again.epochs_done == 3 and again.sha256 == result.sha256


def _capped_standard(epochs: int, min_epochs: int):  # noqa: ANN202
    """The standard recipe's CPU setting with ``epochs`` as a ceiling and ``min_epochs``."""
    recipe = get_recipe("standard")
    setup = dataclasses.replace(recipe.setup("mnist", "cnn2c2f", "cpu"), epochs=epochs, min_epochs=min_epochs)
    return dataclasses.replace(recipe, setups=(setup,))


def test_min_epochs_turns_epochs_into_a_ceiling_reached_only_without_convergence(
    tiny: tuple[torch.Tensor, torch.Tensor], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    capped = _capped_standard(epochs=9, min_epochs=5)
    curve = [0.0, 0.2, 0.4, 0.45, 0.47, 0.46, 0.465, 0.6]  # converged at epoch 7: epochs 6-7 average .4625, epochs 4-5 .46
    _scripted_robust(monkeypatch, curve)
    meta = _run(tmp_path / "a", tiny, capped, epochs=None, preset=None).metadata
    assert meta["epochs_done"] == 7 and meta["converged"] and meta["stopped"].startswith("converged")
    assert [h["val_robust_accuracy"] for h in meta["history"]] == curve[:7]
    _scripted_robust(monkeypatch, [0.1 * i for i in range(9)])
    meta = _run(tmp_path / "b", tiny, capped, epochs=None, preset=None).metadata
    assert meta["epochs_done"] == 9 and not meta["converged"] and meta["stopped"] is None


def test_a_run_stopped_by_an_older_rule_goes_on_when_the_current_rule_would_not_stop_it(
    tiny: tuple[torch.Tensor, torch.Tensor], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    capped = _capped_standard(epochs=7, min_epochs=5)
    rising = [0.1 * i for i in range(7)]
    _scripted_robust(monkeypatch, rising)
    monkeypatch.setattr(TRAIN_MODULE, "converged", lambda curve: True)  # an older, laxer rule
    first = _run(tmp_path, tiny, capped, epochs=None, preset=None).metadata
    assert first["epochs_done"] == 5 and first["stopped"].startswith("converged")
    monkeypatch.setattr(TRAIN_MODULE, "converged", converged)
    _scripted_robust(monkeypatch, rising[5:])
    again = _run(tmp_path, tiny, capped, epochs=None, preset=None).metadata
    assert again["epochs_done"] == 7 and again["stopped"] is None and not again["converged"]
    assert [h["val_robust_accuracy"] for h in again["history"]] == rising


def test_cyclic_lr_is_a_triangle_peaking_at_two_fifths() -> None:
    setup = get_recipe("fast-at").setup("mnist", "cnn2c2f")
    factor = _lr_factor(setup, steps_per_epoch=10)  # 10 epochs -> 100 steps, peak after step 40
    values = [factor(step) for step in range(100)]
    assert values[39] == pytest.approx(1.0) and values[19] == pytest.approx(0.5)
    assert values[99] == pytest.approx(0.0) and values[69] == pytest.approx(0.5)
    assert all(a < b for a, b in zip(values[:40], values[1:40])) and all(a > b for a, b in zip(values[39:], values[40:]))


def test_a_non_finite_training_loss_stops_the_run_as_diverged(tiny: tuple[torch.Tensor, torch.Tensor], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    epoch = TRAIN_MODULE._Run._epoch

    def nan_epoch(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        return {**epoch(self, *args, **kwargs), "train_loss": float("nan")}

    monkeypatch.setattr(TRAIN_MODULE._Run, "_epoch", nan_epoch)
    meta = _run(tmp_path, tiny, "standard", epochs=3).metadata
    assert meta["epochs_done"] == 1 and meta["stopped"].startswith("diverged")


def test_an_unknown_validation_attack_is_refused_before_the_run_directory_exists(tiny: tuple[torch.Tensor, torch.Tensor], tmp_path: Path) -> None:
    with pytest.raises(TrainError, match="--val-attack apgd-ce or pgd-10"):
        _run(tmp_path / "run", tiny, "pgd-at", val_attack="pgd-40")
    assert not (tmp_path / "run").exists()


def test_the_validation_attack_is_recorded_and_apgd_is_the_default(tiny: tuple[torch.Tensor, torch.Tensor], tmp_path: Path) -> None:
    default = _run(tmp_path / "a", tiny, "pgd-at", epochs=1, n_val_robust=8).metadata["validation"]["attack"]
    pgd = _run(tmp_path / "b", tiny, "pgd-at", epochs=1, n_val_robust=8, val_attack="pgd-10").metadata["validation"]["attack"]
    assert (default, pgd) == (VAL_ATTACKS["apgd-ce"], VAL_ATTACKS["pgd-10"])


def test_every_shipped_model_names_a_validation_attack_the_trainer_still_runs() -> None:
    # a record's validation attack is a description; renaming one would strand the runs (and plans) that used it
    assert {r.training["validation"]["attack"] for r in records()} <= set(VAL_ATTACKS.values())


def test_apgd_validation_is_seeded_at_least_as_strong_as_pgd_and_leaves_the_global_rng(
    tiny: tuple[torch.Tensor, torch.Tensor], fitted: torch.nn.Module
) -> None:
    x, y = tiny
    alone = Process(rank=0, world_size=1, device=torch.device("cpu"))
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    scores = {name: _robust_accuracy(fitted, x, y, 0.1, 16, 0, alone, name) for name in VAL_ATTACKS}
    assert torch.equal(torch.random.get_rng_state(), before)  # run_attack's manual_seed stayed inside
    assert scores["apgd-ce"] == _robust_accuracy(fitted, x, y, 0.1, 16, 0, alone, "apgd-ce")
    clean = float((fitted(x).argmax(1) == y).float().mean())
    assert scores["apgd-ce"] <= scores["pgd-10"] < clean
