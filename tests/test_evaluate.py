"""evaluate.py: the cascade, masking diagnostics, bad input, provenance, sharding, RobustBench parity.

The models are tiny CNNs trained here on 2000 MNIST examples (about a second); attacks are kept
short. Masked models: a CE model under S-Tanh with s = 100 (LCAT eq. 7) and one whose head
zeroes input gradients.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn as nn
from safetensors.torch import save_file

from robustbench_logits.attacks import AttackSpec
from robustbench_logits.errors import ModelError, UserError
from robustbench_logits.evaluate import DiagnosticThresholds, EvaluationSuite, benchmark, eps_sweep, state_dict_sha256
from robustbench_logits.heads import LogitHead, ScaledTanh
from robustbench_logits.models import LogitHeadModel

# One source for the architecture: exec'd here and written to the model file `rbl eval` loads.
_CNN_SOURCE = """
import torch.nn as nn

def create_model():
    return nn.Sequential(nn.Conv2d(1, 8, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 16, 5), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(256, 10))
"""


def _create_cnn() -> nn.Module:
    namespace: dict = {}
    exec(_CNN_SOURCE, namespace)
    return namespace["create_model"]()


@pytest.fixture(scope="session")
def trained_cnn(mnist_small) -> nn.Module:
    """A plainly (CE) trained CNN, ~95% clean accuracy on MNIST."""
    x_train, y_train, _, _ = mnist_small
    torch.manual_seed(0)
    model = _create_cnn()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(2):
        for start in range(0, x_train.shape[0], 50):
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x_train[start:start + 50]), y_train[start:start + 50]).backward()
            optimizer.step()
    return model.eval()


@pytest.fixture()
def test_set(mnist_small) -> tuple[torch.Tensor, torch.Tensor]:
    return mnist_small[2], mnist_small[3]


class ZeroGradientHead(LogitHead):
    """Identity in the forward pass, zero gradient backwards: the most blatant gradient masking."""

    name = "zero_gradient"

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return z.detach() + 0.0 * z


def _suite(*specs: AttackSpec) -> EvaluationSuite:
    return EvaluationSuite("test", list(specs), autoattack=False, adaptive_steps=20,
                           thresholds=DiagnosticThresholds(large_eps_steps=10))


def _correct_under(model: nn.Module, spec: AttackSpec, x: torch.Tensor, y: torch.Tensor, eps: float) -> torch.Tensor:
    adv = spec.build(model, eps, "Linf")(x, y)
    with torch.no_grad():
        return model(adv).argmax(1) == y


# --- attacks and the cascade ------------------------------------------------------------------------


def test_pgd_lowers_accuracy_below_fgsm(trained_cnn, test_set) -> None:
    fgsm = benchmark(trained_cnn, test_set, eps=0.15, n_examples=100, suite=_suite(AttackSpec("fgsm", "fgsm")),
                     progress=False)
    pgd = benchmark(trained_cnn, test_set, eps=0.15, n_examples=100, suite=_suite(AttackSpec("pgd-20", "pgd", {"steps": 20})),
                    progress=False)
    assert fgsm.clean_acc > 0.85
    assert pgd.worst_case_acc < fgsm.worst_case_acc - 0.05


def test_cascade_is_the_per_example_minimum_over_attacks(trained_cnn, test_set) -> None:
    # Deterministic attacks (no random start), in float64 so batch composition cannot change a result.
    model = copy.deepcopy(trained_cnn).double()
    x, y = test_set[0][:150].double(), test_set[1][:150]
    specs = [AttackSpec("pgd-5", "pgd", {"steps": 5, "random_start": False}),
             AttackSpec("cw50-pgd-5", "cw_margin_pgd", {"steps": 5, "random_start": False}),
             AttackSpec("fgsm", "fgsm")]
    result = benchmark(model, (x, y), eps=0.08, suite=_suite(*specs), batch_size=64, progress=False)
    with torch.no_grad():
        clean = model(x).argmax(1) == y
    alone = [_correct_under(model, spec, x, y, 0.08) for spec in specs]
    robust = clean.clone()
    for spec, correct in zip(specs, alone):
        robust &= correct
        assert result.per_attack[spec.name] == pytest.approx(robust.double().mean().item())
    assert result.worst_case_acc == pytest.approx(robust.double().mean().item())
    assert [o == "robust" for o in result.provenance["per_example"]] == robust.tolist()
    assert 0 < result.worst_case_acc < result.clean_acc  # the test would be vacuous otherwise
    assert sum(a["newly_broken"] for a in result.provenance["attacks"]) == int((clean & ~robust).sum())


# --- masking diagnostics --------------------------------------------------------------------------------


def _masked_suite() -> EvaluationSuite:
    return _suite(AttackSpec("pgd-20", "pgd", {"steps": 20}), AttackSpec("fgsm", "fgsm"))


@pytest.mark.parametrize("head", [ScaledTanh(s=100.0), ZeroGradientHead()], ids=["stanh-s100", "zero-gradient"])
def test_masked_models_are_flagged_and_the_adaptive_attack_breaks_them(trained_cnn, test_set, head) -> None:
    masked = LogitHeadModel(trained_cnn, head).eval()
    result = benchmark(masked, test_set, eps=0.3, n_examples=100, suite=_masked_suite(), progress=False)
    assert result.unreliable and "Unreliable" in result.footnote
    for flag in ("zero_gradients", "adaptive_attack_stronger", "large_eps_not_broken"):
        assert flag in result.flags, (flag, result.flags)
    assert result.adaptive_acc is not None
    assert result.adaptive_acc < result.per_attack["pgd-20"] - 0.25
    assert result.worst_case_acc <= result.adaptive_acc


def test_a_black_box_attack_beating_white_box_is_flagged(trained_cnn, test_set) -> None:
    masked = LogitHeadModel(trained_cnn, ZeroGradientHead()).eval()
    suite = _masked_suite().add(AttackSpec("square-300", "square", {"n_queries": 300}))
    result = benchmark(masked, test_set, eps=0.3, n_examples=100, suite=suite, progress=False)
    assert "black_box_beats_white_box" in result.flags
    assert result.per_attack["square-300"] < result.per_attack["fgsm"] - 0.25


def test_a_plainly_trained_model_raises_no_flag(trained_cnn, test_set, monkeypatch) -> None:
    from pyautoattack import checks

    # As if a dynamic model (autograd inside forward) had been evaluated earlier in this process:
    # pyautoattack keeps that count globally and would call this plain model "dynamic".
    monkeypatch.setitem(checks.funcs, "grad", 1)
    standard = benchmark(trained_cnn, test_set, eps=0.3, n_examples=64, suite="standard", progress=False)
    assert standard.flags == {} and not standard.unreliable and standard.footnote == ""
    assert standard.adaptive_acc is None  # no head to adapt to
    assert standard.autoattack_acc is not None and standard.autoattack_acc <= 0.05 < standard.clean_acc
    # AutoAttack version="standard" for L-inf (Croce & Hein 2020; pyautoattack _set_version), seed 0.
    params = {a["name"]: a["params"] for a in standard.provenance["attacks"]}
    assert list(params) == ["autoattack/apgd-ce", "autoattack/apgd-t", "autoattack/fab-t", "autoattack/square"]
    assert {k: params["autoattack/apgd-ce"][k] for k in ("n_iter", "n_restarts", "rho", "seed")} == {
        "n_iter": 100, "n_restarts": 1, "rho": 0.75, "seed": 0}
    assert (params["autoattack/apgd-t"]["n_target_classes"], params["autoattack/apgd-t"]["n_iter"]) == (9, 100)
    assert (params["autoattack/fab-t"]["n_target_classes"], params["autoattack/fab-t"]["n_restarts"]) == (9, 1)
    assert (params["autoattack/square"]["n_queries"], params["autoattack/square"]["p_init"]) == (5000, 0.8)
    suite = _masked_suite().add(AttackSpec("square-300", "square", {"n_queries": 300}))
    suite.add(AttackSpec("pgd-100x2", "pgd", {"steps": 100, "restarts": 2}, category="long"))
    custom = benchmark(trained_cnn, test_set, eps=0.15, n_examples=100, suite=suite, progress=False)
    assert custom.flags == {}, custom.flags
    assert 0 < custom.worst_case_acc  # eps small enough that the later attacks had something to break


def test_single_step_beating_iterative_is_flagged(trained_cnn, test_set) -> None:
    # A one-step "iterative" attack with a tiny step is weaker than FGSM: the flag must fire.
    weak = AttackSpec("pgd-1-tiny", "pgd", {"steps": 1, "alpha": 0.001, "random_start": False})
    result = benchmark(trained_cnn, test_set, eps=0.15, n_examples=100, suite=_suite(weak, AttackSpec("fgsm", "fgsm")),
                       progress=False)
    assert "single_step_beats_iterative" in result.flags


def test_autoattack_warnings_are_surfaced(trained_cnn, test_set, fast_autoattack) -> None:
    masked = LogitHeadModel(trained_cnn, ZeroGradientHead()).eval()
    suite = EvaluationSuite("aa", [AttackSpec("pgd-5", "pgd", {"steps": 5})], adaptive=False)
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # an application that silences warnings must not silence AutoAttack's
    try:
        result = benchmark(masked, test_set, eps=0.3, n_examples=16, suite=suite, progress=False)
    finally:
        root.setLevel(level)
    assert "zero gradient" in result.flags["autoattack_warnings"]
    assert "Square Attack has decreased" in result.flags["autoattack_warnings"]
    # The evidence names the attacks Square ran after, not pgd-5, which ran after Square.
    evidence = result.flags["black_box_beats_white_box"]
    assert "autoattack/square broke" in evidence and "autoattack/fab-t" in evidence and "pgd-5" not in evidence
    # Provenance holds the settings AutoAttack really ran with (this fixture shortened them).
    params = {a["name"]: a["params"] for a in result.provenance["attacks"]}
    assert (params["autoattack/apgd-ce"]["n_iter"], params["autoattack/apgd-t"]["n_target_classes"],
            params["autoattack/square"]["n_queries"]) == (10, 2, 100)


# --- bad input ----------------------------------------------------------------------------------------------


def test_bad_input_gets_a_clear_error(trained_cnn, test_set) -> None:
    x, y = test_set[0][:16], test_set[1][:16]
    suite = _suite(AttackSpec("fgsm", "fgsm"))
    class NaNLogits(nn.Module):
        def forward(self, inputs: torch.Tensor) -> torch.Tensor:
            return trained_cnn(inputs) * float("nan")

    cases = [
        (nn.Sequential(trained_cnn, nn.Softmax(dim=1)), (x, y), ModelError, "probabilities"),
        (NaNLogits(), (x, y), ModelError, "NaN"),
        (trained_cnn, (x * 2 - 0.5, y), UserError, r"\[0, 1\]"),
        (nn.Sequential(trained_cnn, nn.Linear(10, 5)), "mnist", ModelError, "classes"),
    ]
    for model, dataset, error, message in cases:
        with pytest.raises(error, match=message):
            benchmark(model, dataset, eps=0.1, n_examples=16, suite=suite, progress=False)

    class Randomised(nn.Module):
        def forward(self, inputs: torch.Tensor) -> torch.Tensor:
            return trained_cnn(inputs + 0.01 * torch.randn_like(inputs))

    with pytest.raises(ModelError, match="randomised"):
        benchmark(Randomised(), (x, y), eps=0.1, suite=suite, progress=False)

    with_nan = x.clone()
    with_nan[0, 0, 0, 0] = float("nan")  # NaN fails both `< 0` and `> 1`: the range check alone passed it
    more_cases = [
        (dict(dataset=(with_nan, y)), UserError, "NaN"),
        (dict(dataset=(x, y - 1)), UserError, "labels span"),
        (dict(dataset=(x.repeat(1, 3, 1, 1), y)), ModelError, "fails on inputs"),
        (dict(dataset=(x, y), eps=float("nan")), UserError, "eps"),
        (dict(dataset=(x[:0], y[:0])), UserError, "no examples"),
        (dict(dataset=(x, y % 5), suite="standard", model=nn.Sequential(trained_cnn, nn.Linear(10, 5))), UserError,
         "at least 10 classes"),  # pyautoattack's APGD-T raised an IndexError
        (dict(dataset=(x, y), suite=_suite(AttackSpec("a", "fgsm"), AttackSpec("a", "pgd"))), UserError, "unique"),
    ]
    for kwargs, error, message in more_cases:
        with pytest.raises(error, match=message):
            benchmark(**{"model": trained_cnn, "eps": 0.1, "suite": suite, "progress": False, **kwargs})
    with pytest.raises(UserError, match="specs"):
        eps_sweep(trained_cnn, (x, y), [0.1], attacks=[AttackSpec.from_instance(__import__("torchattacks").FGSM(trained_cnn))])


def test_a_model_in_train_mode_is_evaluated_in_eval_mode_with_a_warning(trained_cnn, test_set) -> None:
    dropout = nn.Sequential(copy.deepcopy(trained_cnn), nn.Dropout(0.9)).train()  # random only in train mode
    with pytest.warns(UserWarning, match="train mode"):
        result = benchmark(dropout, test_set, eps=0.1, n_examples=32, suite=_suite(AttackSpec("fgsm", "fgsm")),
                           progress=False)
    assert result.clean_acc > 0.85  # dropout 0.9 in train mode would wreck this
    assert dropout.training  # the caller's mode is restored


def test_each_submodules_mode_is_restored_and_batchnorm_models_are_hashed(trained_cnn, test_set) -> None:
    model = nn.Sequential(copy.deepcopy(trained_cnn), nn.BatchNorm1d(10), nn.Dropout(0.5)).train()
    model[1].eval()  # fine-tuning with BatchNorm frozen: model.train() afterwards would unfreeze it
    with pytest.warns(UserWarning, match="train mode"):
        result = benchmark(model, test_set, eps=0.1, n_examples=16, suite=_suite(AttackSpec("fgsm", "fgsm")),
                           progress=False)
    assert [m.training for m in (model, model[0], model[1], model[2])] == [True, True, False, True]
    # BatchNorm's num_batches_tracked is a 0-dim tensor; hashing it used to crash.
    sha = result.provenance["model"]["weights_sha256"]
    assert sha == state_dict_sha256(model)
    model[1].num_batches_tracked += 1
    assert state_dict_sha256(model) != sha
    model.eval()
    model[2].train()  # an eval-mode parent does not make a train-mode dropout deterministic
    with pytest.warns(UserWarning, match="train mode"):
        benchmark(model, test_set, eps=0.1, n_examples=16, suite=_suite(AttackSpec("fgsm", "fgsm")), progress=False)
    assert model[2].training and not model.training


def test_every_chunk_seeds_the_attacks_that_reseed_themselves(trained_cnn, test_set, monkeypatch) -> None:
    import torchattacks

    seen: list[int] = []
    forward = torchattacks.Square.forward

    def recording(self, images, labels):
        seen.append(self.seed)
        return forward(self, images, labels)

    monkeypatch.setattr(torchattacks.Square, "forward", recording)
    suite = _suite(AttackSpec("fgsm", "fgsm"), AttackSpec("square-5", "square", {"n_queries": 5}))
    benchmark(trained_cnn, test_set, eps=0.05, n_examples=40, suite=suite, batch_size=20, seed=3, progress=False)
    # Square is attack 1 of the cascade; chunks 0 and 1: (seed*1000003 + k*7919 + c) mod 2^31 by hand.
    assert seen == [3 * 1_000_003 + 7_919, 3 * 1_000_003 + 7_919 + 1]


# --- provenance, sweeps ---------------------------------------------------------------------------------------


def test_result_json_records_every_number_and_its_provenance(trained_cnn, test_set) -> None:
    result = benchmark(trained_cnn, test_set, eps=0.1, n_examples=40, suite=_suite(AttackSpec("fgsm", "fgsm")),
                       seed=3, model_name="cnn", progress=False)
    data = json.loads(result.to_json())
    assert data["clean_acc"] == result.clean_acc and data["per_attack"] == {"fgsm": result.worst_case_acc}
    provenance = data["provenance"]
    assert provenance["model"]["name"] == "cnn"
    assert provenance["model"]["weights_sha256"] == state_dict_sha256(trained_cnn)
    assert provenance["dataset"]["example_indices"] == list(range(40))
    fgsm = provenance["attacks"][0]
    assert fgsm["name"] == "fgsm" and fgsm["eps"] == 0.1 and fgsm["wall_time_s"] >= 0
    assert fgsm["resolved_params"]["eps"] == 0.1  # what the built torchattacks object ran with
    assert provenance["seeds"]["base"] == 3
    assert {"torch", "torchattacks", "pyautoattack", "robustbench", "timm"} <= set(provenance["versions"])
    changed = copy.deepcopy(trained_cnn)
    with torch.no_grad():
        changed[0].bias[0] += 1e-3
    assert state_dict_sha256(changed) != state_dict_sha256(trained_cnn)


def test_eps_sweep_is_monotone_and_plots_a_png(trained_cnn, test_set, tmp_path) -> None:
    sweep = eps_sweep(trained_cnn, test_set, [0.0, 0.1, 0.2], n_examples=64,
                      attacks=[AttackSpec("pgd-10", "pgd", {"steps": 10})])
    accuracies = sweep.accuracy["pgd-10"]
    with torch.no_grad():
        clean = (trained_cnn(test_set[0][:64]).argmax(1) == test_set[1][:64]).double().mean().item()
    assert accuracies[0] == pytest.approx(clean)
    assert accuracies[0] > accuracies[1] > accuracies[2]
    png = sweep.plot(tmp_path / "sweep.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --- RobustBench parity, CLI and sharding -------------------------------------------------------------------------


@pytest.fixture()
def fast_autoattack(monkeypatch):
    """AutoAttack standard with fewer iterations/queries/targets, for CPU tests (same code path)."""
    import pyautoattack.autoattack as autoattack

    original = autoattack.AutoAttack._set_version

    def fast(self, version="standard"):
        original(self, version)
        self.apgd.n_iter = self.apgd_targeted.n_iter = self.fab.n_iter = 10
        self.apgd_targeted.n_target_classes = self.fab.n_target_classes = 2
        self.square.n_queries = 100

    monkeypatch.setattr(autoattack.AutoAttack, "_set_version", fast)


def test_robustbench_benchmark_gives_the_same_numbers_on_cifar10(cifar10_dir, fast_autoattack) -> None:
    from robustbench.eval import benchmark as robustbench_benchmark

    from robustbench_logits.data import load_dataset

    x, y = load_dataset("cifar10", n_examples=20, data_dir=cifar10_dir)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 15 * 15, 10))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(60):  # memorise the fixture so there is robustness to measure
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    model.eval()
    eps = 22 / 255  # mid-way: AutoAttack breaks some of the memorised examples, not all
    clean, robust = robustbench_benchmark(model, n_examples=20, dataset="cifar10", threat_model="Linf",
                                          data_dir=str(cifar10_dir), eps=eps, batch_size=32, device=torch.device("cpu"))
    ours = benchmark(model, "cifar10", eps=eps, n_examples=20, data_dir=cifar10_dir, batch_size=32, progress=False)
    assert (ours.clean_acc, ours.autoattack_acc) == (pytest.approx(clean), pytest.approx(robust))
    assert 0 < robust < clean  # neither trivial end


def _rbl_eval(args: list[str], launcher: list[str], cwd: Path) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(launcher + ["-m", "robustbench_logits.cli", "eval", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]


def test_cli_eval_and_torchrun_sharding_give_one_identical_result(trained_cnn, tmp_path) -> None:
    (tmp_path / "cnn.py").write_text(_CNN_SOURCE)
    save_file(trained_cnn.state_dict(), str(tmp_path / "cnn.safetensors"))
    common = ["cnn.py", "--weights", "cnn.safetensors", "--dataset", "mnist", "--eps", "0.15", "-n", "32",
              "--batch-size", "16", "--suite", "standard", "--no-progress"]
    _rbl_eval(common + ["--out", "one.json", "--sweep", "0,0.2"], [sys.executable], tmp_path)
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent))
    _rbl_eval(common + ["--out", "two.json"], [torchrun, "--nproc_per_node=2"], tmp_path)
    one, two = (json.loads((tmp_path / f).read_text()) for f in ("one.json", "two.json"))
    assert two["provenance"]["world_size"] == 2 and one["provenance"]["world_size"] == 1
    for key in ("clean_acc", "autoattack_acc", "worst_case_acc", "per_attack", "flags"):
        assert one[key] == two[key], key
    assert one["provenance"]["per_example"] == two["provenance"]["per_example"]
    assert one["provenance"]["model"]["weights_sha256"] == __import__("hashlib").sha256(
        (tmp_path / "cnn.safetensors").read_bytes()).hexdigest()
    assert 0 < one["autoattack_acc"] < one["clean_acc"]
    assert (tmp_path / "one.png").read_bytes()[:4] == b"\x89PNG"


def test_l2_threat_model_runs_its_own_suite(trained_cnn, test_set) -> None:
    full = [spec.name for spec in EvaluationSuite.full("L2").ordered()]
    assert "cw-l2" in full and "fgsm" not in full and "fgm" in full  # FGSM is L-inf only
    result = benchmark(trained_cnn, test_set, threat_model="L2", eps=2.0, n_examples=48,
                       suite=_suite(AttackSpec("pgd-l2-10", "pgd", {"steps": 10})), progress=False)
    assert result.worst_case_acc < result.clean_acc - 0.2 and result.flags == {}
    assert result.provenance["probes"]["large_eps"] == pytest.approx(28.0)  # sqrt(784)


def test_repeated_autoattack_warnings_are_summarised_not_repeated() -> None:
    from robustbench_logits.evaluate import _summarise_warnings

    zero = "there are {} points with zero gradient! This might lead to unreliable evaluation."
    square = "Square Attack has decreased the robust accuracy of 1.00%."
    text = _summarise_warnings([zero.format(247), zero.format(239), square, zero.format(12)])
    assert text == f"{zero.format(247)} (and 2 more like it) | {square}"
    assert _summarise_warnings([square]) == square
