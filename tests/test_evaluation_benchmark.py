"""benchmark.py and cascade.py: the cascade, bad input, modes, seeds, provenance, intervals,
RobustBench parity, the CLI and torchrun sharding."""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn as nn
from safetensors.torch import save_file

from evaluation_models import (  # noqa: F401  (fixtures)
    CNN_SOURCE,
    FAST_AUTOATTACK,
    PGD20,
    suite,
    test_set,
    trained_cnn,
)
from robustbench_logits.attacks import AttackSpec
from robustbench_logits.errors import ModelError, UserError
from robustbench_logits.evaluation import EvaluationSuite, benchmark, eps_sweep, state_dict_sha256
from robustbench_logits.evaluation.statistics import ci95


def _correct_under(model: nn.Module, spec: AttackSpec, x: torch.Tensor, y: torch.Tensor, eps: float) -> torch.Tensor:
    torch.manual_seed(0)
    adv = spec.build(model, eps, "Linf")(x, y)
    with torch.no_grad():
        return model(adv).argmax(1) == y


def test_benchmark_takes_keywords_after_the_model_with_robustbenchs_names(trained_cnn, test_set) -> None:
    with pytest.raises(TypeError):
        benchmark(trained_cnn, test_set)  # noqa  - positional dataset is refused
    result = benchmark(trained_cnn, n_examples=16, dataset=test_set, threat_model="Linf", eps="1/10", batch_size=8,
                       device="cpu", suite=suite(AttackSpec("fgsm", "fgsm")), progress=False)
    assert result.eps == pytest.approx(0.1) and result.n_examples == 16


def test_pgd_alone_leaves_no_more_than_fgsm_alone_and_the_cascade_is_the_per_example_minimum(trained_cnn, test_set) -> None:
    x, y = test_set[0][:100], test_set[1][:100]
    fgsm, pgd = AttackSpec("fgsm", "fgsm"), AttackSpec("pgd-10", "pgd", {"steps": 10})
    result = benchmark(trained_cnn, dataset=(x, y), eps=0.15, n_examples=100, suite=suite(pgd, fgsm, adaptive=False),
                       escalate=False, progress=False)
    assert result.per_attack["pgd-10"] < result.clean_acc
    with torch.no_grad():
        clean = trained_cnn(x).argmax(1) == y
    alone = clean & _correct_under(trained_cnn, pgd, x, y, 0.15)
    fgsm_alone = clean & _correct_under(trained_cnn, fgsm, x, y, 0.15)
    # each attack measured on its own: ten projected steps leave no more than one signed step does
    assert alone.double().mean() <= fgsm_alone.double().mean() and alone.double().mean() < clean.double().mean()
    # the cascade's worst case can only be at or below what PGD alone leaves (its random starts differ: 5 points)
    assert result.per_attack["pgd-10"] <= alone.double().mean().item() + 0.05
    # FGSM is deterministic, so an example the cascade leaves robust survived FGSM on its own: the worst case
    # is the per-example minimum, not an average of the attacks
    robust = torch.tensor([outcome == "robust" for outcome in result.provenance["per_example"]])
    assert robust.any() and not (robust & ~fgsm_alone).any()


def test_every_accuracy_carries_its_clopper_pearson_interval(trained_cnn, test_set) -> None:
    result = benchmark(trained_cnn, dataset=test_set, eps=0.1, n_examples=40, suite=suite(PGD20), progress=False)
    data = json.loads(result.to_json())
    n = 40
    for key in ("clean_acc", "worst_case_acc"):
        assert data[f"{key}_ci95"] == ci95(round(data[key] * n), n)
        low, high = data[f"{key}_ci95"]
        assert low <= data[key] <= high
    assert data["per_attack_ci95"]["pgd-20"] == ci95(round(data["per_attack"]["pgd-20"] * n), n)
    assert data["worst_case"]["ci95"] == data["worst_case_acc_ci95"] and data["worst_case"]["n"] == n
    rows = {row[0]: row for row in result.table()}
    assert rows["clean"][2].startswith("[") and rows["worst case"][2].startswith("[")
    from scipy.stats import binomtest

    interval = binomtest(0, 200).proportion_ci(method="exact")
    assert ci95(0, 200) == [interval.low, interval.high] and ci95(0, 200)[1] > 0.018  # 0/200 is not "0 %"


def test_the_result_json_has_the_documented_shape(trained_cnn, test_set) -> None:
    result = benchmark(trained_cnn, dataset=test_set, eps=0.1, n_examples=32, suite=suite(PGD20), seed=3,
                       model_name="cnn", progress=False)
    data = json.loads(result.to_json())
    assert {"clean_acc_ci95", "autoattack_acc_ci95", "adaptive_acc_ci95", "worst_case_acc_ci95", "per_attack_ci95",
            "worst_case", "indicators", "unreliable", "flags", "notes", "footnote", "escalation"} <= set(data)
    assert set(data["escalation"]) >= {"enabled", "converged", "budget", "spent", "rounds"}
    base = data["escalation"]["rounds"][0]
    assert base["name"] == "base" and set(base) >= {"robust_accuracy", "ci95", "passes", "seconds"}
    assert base["passes"]["forward"] > 0 and base["passes"]["backward"] > 0
    provenance = data["provenance"]
    assert provenance["model"]["name"] == "cnn" and provenance["model"]["weights_sha256"] == state_dict_sha256(trained_cnn)
    assert provenance["dataset"]["example_indices"] == list(range(32)) and provenance["seeds"]["base"] == 3
    pgd = provenance["attacks"][0]
    assert pgd["name"] == "pgd-20" and pgd["resolved_params"]["eps"] == 0.1 and pgd["wall_time_s"] >= 0
    assert {"torch", "torchattacks", "pyautoattack", "robustbench", "timm"} <= set(provenance["versions"])
    assert set(provenance["indicator_catalogue"]) >= {"zero_gradients", "black_box_beats_white_box"}


def test_autoattack_runs_as_four_registry_attacks_with_standard_settings(trained_cnn, test_set) -> None:
    result = benchmark(trained_cnn, dataset=test_set, eps=0.3, n_examples=32, suite="standard", progress=False)
    assert result.indicators == [] and not result.unreliable and result.footnote == ""
    assert result.adaptive_acc is None  # no head to adapt to
    assert result.autoattack_acc is not None and result.autoattack_acc <= 0.05 < result.clean_acc
    params = {a["name"]: a["params"] for a in result.provenance["attacks"]}
    assert list(params) == ["autoattack/apgd-ce", "autoattack/apgd-t", "autoattack/fab-t", "autoattack/square"]
    # read back from pyautoattack's objects: AutoAttack version="standard" for L-inf, seed 0
    assert {k: params["autoattack/apgd-ce"][k] for k in ("n_iter", "n_restarts", "rho", "seed", "loss")} == {
        "n_iter": 100, "n_restarts": 1, "rho": 0.75, "seed": 0, "loss": "ce"}
    assert (params["autoattack/apgd-t"]["n_target_classes"], params["autoattack/apgd-t"]["n_iter"]) == (9, 100)
    assert (params["autoattack/fab-t"]["n_target_classes"], params["autoattack/fab-t"]["n_restarts"]) == (9, 1)
    assert (params["autoattack/square"]["n_queries"], params["autoattack/square"]["p_init"]) == (5000, 0.8)


def test_autoattacks_messages_never_point_to_a_file_we_do_not_ship(trained_cnn, test_set, caplog) -> None:
    from evaluation_models import ZeroGradient

    the_suite = EvaluationSuite("aa", [], autoattack_overrides=FAST_AUTOATTACK, adaptive=False)
    result = benchmark(ZeroGradient(trained_cnn), dataset=test_set, eps=0.3, n_examples=16, suite=the_suite,
                       escalate=False, progress=False)
    text = result.to_json() + caplog.text
    assert "flags_doc.md" not in text and "zero_gradients" in result.flags
    params = {a["name"]: a["params"] for a in result.provenance["attacks"]}
    assert (params["autoattack/apgd-ce"]["n_iter"], params["autoattack/square"]["n_queries"]) == (10, 100)


def test_bad_input_gets_a_clear_error_before_any_work(trained_cnn, test_set) -> None:
    x, y = test_set[0][:16], test_set[1][:16]
    quick = suite(AttackSpec("fgsm", "fgsm"))

    class NaNLogits(nn.Module):
        def forward(self, inputs: torch.Tensor) -> torch.Tensor:
            return trained_cnn(inputs) * float("nan")

    with_nan = x.clone()
    with_nan[0, 0, 0, 0] = float("nan")  # NaN fails both `< 0` and `> 1`: the range check alone passed it
    cases = [
        (dict(model=NaNLogits()), ModelError, "NaN"),
        (dict(dataset=(x * 2 - 0.5, y)), UserError, r"\[0, 1\]"),
        (dict(model=nn.Sequential(trained_cnn, nn.Linear(10, 5)), dataset="mnist"), ModelError, "classes"),
        (dict(dataset=(with_nan, y)), UserError, "NaN"),
        (dict(dataset=(x, y - 1)), UserError, "labels span"),
        (dict(dataset=(x.repeat(1, 3, 1, 1), y)), ModelError, "fails on inputs"),
        (dict(eps=float("nan")), UserError, "eps"),
        (dict(dataset=(x[:0], y[:0])), UserError, "no examples"),
        (dict(dataset=(x, y % 5), suite="standard", model=nn.Sequential(trained_cnn, nn.Linear(10, 5))), UserError,
         "at least 10 classes"),  # pyautoattack's APGD-T raised an IndexError
        (dict(suite=suite(AttackSpec("a", "fgsm"), AttackSpec("a", "pgd"))), UserError, "unique"),
        (dict(escalate="lots"), UserError, "escalate"),
    ]
    for kwargs, error, message in cases:
        with pytest.raises(error, match=message):
            benchmark(**{"model": trained_cnn, "dataset": (x, y), "eps": 0.1, "suite": quick, "progress": False,
                         **kwargs})
    with pytest.raises(UserError, match="specs"):
        eps_sweep(trained_cnn, (x, y), [0.1], attacks=[AttackSpec.from_instance(__import__("torchattacks").FGSM(trained_cnn))])


def test_a_model_in_train_mode_is_evaluated_in_eval_mode_and_every_mode_restored(trained_cnn, test_set) -> None:
    dropout = nn.Sequential(copy.deepcopy(trained_cnn), nn.Dropout(0.9)).train()  # random only in train mode
    with pytest.warns(UserWarning, match="train mode"):
        result = benchmark(dropout, dataset=test_set, eps=0.1, n_examples=32, suite=suite(AttackSpec("fgsm", "fgsm")),
                           progress=False)
    assert result.clean_acc > 0.85 and dropout.training
    model = nn.Sequential(copy.deepcopy(trained_cnn), nn.BatchNorm1d(10), nn.Dropout(0.5)).train()
    model[1].eval()  # fine-tuning with BatchNorm frozen: model.train() afterwards would unfreeze it
    with pytest.warns(UserWarning, match="train mode"):
        result = benchmark(model, dataset=test_set, eps=0.1, n_examples=16, suite=suite(AttackSpec("fgsm", "fgsm")),
                           progress=False)
    assert [m.training for m in (model, model[0], model[1], model[2])] == [True, True, False, True]
    assert result.provenance["model"]["weights_sha256"] == state_dict_sha256(model)  # 0-dim buffers hashed
    model[1].num_batches_tracked += 1
    assert state_dict_sha256(model) != result.provenance["model"]["weights_sha256"]


def test_every_chunk_seeds_the_attacks_that_reseed_themselves(trained_cnn, test_set, monkeypatch) -> None:
    import torchattacks

    seen: list[int] = []
    forward = torchattacks.Square.forward

    def recording(self, images, labels):
        seen.append(self.seed)
        return forward(self, images, labels)

    monkeypatch.setattr(torchattacks.Square, "forward", recording)
    the_suite = suite(AttackSpec("fgsm", "fgsm"), AttackSpec("square-5", "square", {"n_queries": 5}), adaptive=False)
    benchmark(trained_cnn, dataset=test_set, eps=0.05, n_examples=40, suite=the_suite, batch_size=20, seed=3,
              escalate=False, progress=False)
    # Square is attack 1 of the cascade; chunks 0 and 1: (seed*1000003 + k*7919 + c) mod 2^31 by hand.
    assert seen == [3 * 1_000_003 + 7_919, 3 * 1_000_003 + 7_919 + 1]


def test_l2_threat_model_runs_its_own_suite(trained_cnn, test_set) -> None:
    full = [spec.name for spec in EvaluationSuite.full("L2").ordered()]
    assert "cw-l2" in full and "fgsm" not in full and "fgm" in full  # FGSM is L-inf only
    result = benchmark(trained_cnn, dataset=test_set, threat_model="L2", eps=2.0, n_examples=48,
                       suite=suite(AttackSpec("pgd-l2-10", "pgd", {"steps": 10})), progress=False)
    assert result.worst_case_acc < result.clean_acc - 0.2 and result.flags == {}
    assert result.provenance["probes"]["large_eps"] == pytest.approx(28.0)  # sqrt(784)


def test_robustbench_benchmark_gives_the_same_numbers_on_cifar10(cifar10_dir, monkeypatch) -> None:
    import pyautoattack.autoattack as autoattack
    from robustbench.eval import benchmark as robustbench_benchmark

    from robustbench_logits.data import load_dataset

    original = autoattack.AutoAttack._set_version

    def fast(self, version="standard"):  # RobustBench's AutoAttack, shortened exactly like FAST_AUTOATTACK
        original(self, version)
        self.apgd.n_iter = self.apgd_targeted.n_iter = self.fab.n_iter = 10
        self.apgd_targeted.n_target_classes = self.fab.n_target_classes = 2
        self.square.n_queries = 100

    monkeypatch.setattr(autoattack.AutoAttack, "_set_version", fast)
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
    ours = benchmark(model, dataset="cifar10", eps=eps, n_examples=20, data_dir=cifar10_dir, batch_size=32,
                     suite=EvaluationSuite("standard", autoattack_overrides=FAST_AUTOATTACK), escalate=False,
                     progress=False)
    assert (ours.clean_acc, ours.autoattack_acc) == (pytest.approx(clean), pytest.approx(robust))
    assert 0 < robust < clean  # neither trivial end


def _rbl_eval(args: list[str], launcher: list[str], cwd: Path) -> str:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(launcher + ["-m", "robustbench_logits.cli", "eval", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=1200)  # a hang guard, not a speed test
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_cli_eval_prints_intervals_and_torchrun_sharding_gives_one_identical_result(trained_cnn, tmp_path) -> None:
    (tmp_path / "cnn.py").write_text(CNN_SOURCE)
    save_file(trained_cnn.state_dict(), str(tmp_path / "cnn.safetensors"))
    common = ["cnn.py", "--weights", "cnn.safetensors", "--dataset", "mnist", "--eps", "0.15", "-n", "32",
              "--batch-size", "16", "--suite", "standard", "--no-progress"]
    printed = _rbl_eval(common + ["--out", "one.json", "--sweep", "0,0.2"], [sys.executable], tmp_path)
    assert "95 % CI" in printed and "Verdict" in printed and "flags_doc" not in printed
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent))
    _rbl_eval(common + ["--out", "two.json"], [torchrun, "--nproc_per_node=2"], tmp_path)
    one, two = (json.loads((tmp_path / f).read_text()) for f in ("one.json", "two.json"))
    assert two["provenance"]["world_size"] == 2 and one["provenance"]["world_size"] == 1
    # each rank's share of the queue: every chunk (32 examples in chunks of 16) taken exactly once
    assert [r["chunks"] for r in one["provenance"]["ranks"]] == [[0, 1]]
    assert sorted(c for r in two["provenance"]["ranks"] for c in r["chunks"]) == [0, 1]
    assert all(0 < r["done_s"] <= two["provenance"]["wall_time_s"]["total"] for r in two["provenance"]["ranks"])
    for key in ("clean_acc", "autoattack_acc", "worst_case_acc", "per_attack", "indicators", "worst_case_acc_ci95"):
        assert one[key] == two[key], key
    assert one["provenance"]["per_example"] == two["provenance"]["per_example"]
    assert [r["robust_accuracy"] for r in one["escalation"]["rounds"]] == [
        r["robust_accuracy"] for r in two["escalation"]["rounds"]]
    assert one["provenance"]["model"]["weights_sha256"] == __import__("hashlib").sha256(
        (tmp_path / "cnn.safetensors").read_bytes()).hexdigest()
    assert 0 < one["autoattack_acc"] < one["clean_acc"]
    assert (tmp_path / "one.png").read_bytes()[:4] == b"\x89PNG"


def test_eps_sweep_is_monotone_and_plots_a_png_with_intervals(trained_cnn, test_set, tmp_path) -> None:
    sweep = eps_sweep(trained_cnn, test_set, [0.0, 0.1, 0.2], n_examples=64,
                      attacks=[AttackSpec("pgd-10", "pgd", {"steps": 10})])
    accuracies = sweep.accuracy["pgd-10"]
    with torch.no_grad():
        clean = (trained_cnn(test_set[0][:64]).argmax(1) == test_set[1][:64]).double().mean().item()
    assert accuracies[0] == pytest.approx(clean) and accuracies[0] > accuracies[1] > accuracies[2]
    assert sweep.to_dict()["accuracy_ci95"]["pgd-10"][0] == ci95(round(clean * 64), 64)
    assert sweep.plot(tmp_path / "sweep.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
