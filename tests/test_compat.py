"""robustbench_logits.compat and _import_hooks: AutoAttack's GitHub API on pyautoattack, and
robustbench importable in our environment without importing us first."""

import subprocess
import sys
import sysconfig
import textwrap
import warnings
from importlib import metadata
from pathlib import Path

import pytest
import torch
from torch import nn

import robustbench_logits  # noqa: F401  (registers the import hooks in this process too)
from robustbench_logits.compat import AutoAttackUsageError, RobustBenchAutoAttack


def _tiny_model(x: torch.Tensor | None = None, y: torch.Tensor | None = None, shape=(3, 32, 32)) -> nn.Module:
    """A linear classifier, fitted to (x, y) when given so that clean accuracy is high."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(int(torch.tensor(shape).prod()), 10))
    if x is not None:
        optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
        for _ in range(50):
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            optimizer.step()
    return model.eval()


def _run(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", **env}, timeout=300)


def _hook_installed() -> bool:
    """Our distribution is installed (wheel or editable) with its .pth file."""
    try:
        metadata.distribution("robustbench-logits")
    except metadata.PackageNotFoundError:
        return False
    return (Path(sysconfig.get_paths()["purelib"]) / "robustbench_logits_hooks.pth").is_file()


@pytest.mark.skipif(not _hook_installed(), reason="package not pip-installed here (source tree on sys.path)")
def test_robustbench_and_autoattack_import_without_importing_us_first():
    result = _run("""
        import sys
        import robustbench
        from robustbench.eval import benchmark
        import autoattack
        from autoattack.state import EvaluationState
        print(autoattack.AutoAttack.__module__, "robustbench_logits.evaluation" in sys.modules)
    """)
    assert result.returncode == 0, result.stderr
    # our shim answered, and nothing heavier than the hook of our package was imported
    assert result.stdout.split() == ["robustbench_logits.compat", "False"]


def test_a_real_autoattack_is_not_shadowed(tmp_path):
    real = tmp_path / "autoattack"
    real.mkdir()
    (real / "__init__.py").write_text("class AutoAttack:\n    pass\n")
    (real / "state.py").write_text("class EvaluationState:\n    pass\n")
    result = _run("""
        import robustbench_logits
        import autoattack
        from autoattack.state import EvaluationState
        print(autoattack.__file__, EvaluationState.__module__)
    """, PYTHONPATH=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [str(real / "__init__.py"), "autoattack.state"]


def test_robustbench_benchmark_runs_on_pyautoattack_with_offline_cifar(cifar10_dir):
    from pyautoattack import AutoAttack
    from robustbench.eval import benchmark

    from robustbench_logits.data import load_dataset

    x, y = load_dataset("cifar10", n_examples=16, data_dir=cifar10_dir)
    model = _tiny_model(x, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clean, robust = benchmark(model, n_examples=16, dataset="cifar10", threat_model="Linf",
                                  data_dir=str(cifar10_dir), eps=0.3, batch_size=16)
    with torch.no_grad():
        expected_clean = (model(x).argmax(1) == y).float().mean().item()
    x_adv, _ = AutoAttack(model, eps=0.3, norm="Linf", version="standard", seed=0).run_standard_evaluation(
        x, y, batch_size=16)
    with torch.no_grad():
        expected_robust = (model(x_adv).argmax(1) == y).float().mean().item()
    assert clean == expected_clean
    assert robust == expected_robust
    assert clean > 0.5 and robust < clean  # the attack ran and found adversarial examples


# --- AutoAttack's README, "How to use AutoAttack", on a small MNIST-shaped model -----------------


@pytest.fixture()
def mnist_like() -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    x = torch.rand(8, 1, 28, 28, generator=generator)
    y = torch.arange(8) % 10
    return _tiny_model(x, y, shape=(1, 28, 28)), x, y


EPS = 0.3


def _accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    with torch.no_grad():
        return (model(x).argmax(1) == y).float().mean().item()


def _in_ball(x_adv: torch.Tensor, x: torch.Tensor, eps: float) -> bool:
    return bool((x_adv - x).abs().max() <= eps + 1e-6 and x_adv.min() >= 0 and x_adv.max() <= 1)


def test_readme_standard_and_individual(mnist_like):
    from autoattack import AutoAttack

    model, images, labels = mnist_like
    adversary = AutoAttack(model, norm="Linf", eps=EPS, version="standard")
    x_adv = adversary.run_standard_evaluation(images, labels, bs=4)
    assert x_adv.shape == images.shape and _in_ball(x_adv, images, EPS)
    assert _accuracy(model, x_adv, labels) < _accuracy(model, images, labels)

    dict_adv = adversary.run_standard_evaluation_individual(images, labels, bs=4)
    assert list(dict_adv) == ["apgd-ce", "apgd-t", "fab-t", "square"]
    assert all(_in_ball(v, images, EPS) for v in dict_adv.values())
    assert adversary.attacks_to_run == ["apgd-ce", "apgd-t", "fab-t", "square"]  # restored afterwards


def test_readme_subset_and_custom_version_configure_the_attack(mnist_like):
    from autoattack import AutoAttack

    model, images, labels = mnist_like
    adversary = AutoAttack(model, norm="Linf", eps=EPS, version="standard")
    adversary.attacks_to_run = ["apgd-ce"]  # "To specify a subset of attacks"
    assert list(adversary.run_standard_evaluation_individual(images, labels, bs=8)) == ["apgd-ce"]

    adversary = AutoAttack(model, norm="Linf", eps=EPS, version="custom")
    with pytest.raises(AutoAttackUsageError, match="attacks_to_run"):
        adversary.run_standard_evaluation(images, labels, bs=8)
    adversary.attacks_to_run = ["apgd-ce", "fab"]
    adversary.apgd.n_restarts = 2
    adversary.fab.n_restarts = 2
    adversary.seed = 0
    assert adversary.attack.apgd.n_restarts == 2 and adversary.attack.seed == 0  # reached pyautoattack
    x_adv = adversary.run_standard_evaluation(images, labels, bs=8)
    assert _in_ball(x_adv, images, EPS)
    x_adv2, y_adv = adversary.run_standard_evaluation(images, labels, bs=8, return_labels=True)
    assert torch.equal(x_adv, x_adv2) and torch.equal(y_adv, model(x_adv).argmax(1))  # seeded: reproducible

    by_keyword = AutoAttack(model, norm="Linf", eps=EPS, version="custom", attacks_to_run=["apgd-ce", "fab"])
    assert by_keyword.attacks_to_run == ["apgd-ce", "fab"]


@pytest.mark.parametrize("version, attacks", [
    ("plus", ["apgd-ce", "apgd-dlr", "fab", "square", "apgd-t", "fab-t"]),
    ("rand", ["apgd-ce", "apgd-dlr"]),
])
def test_readme_other_versions(mnist_like, version, attacks):
    from autoattack import AutoAttack

    model, images, labels = mnist_like
    adversary = AutoAttack(model, norm="Linf", eps=EPS, version=version)
    assert adversary.attacks_to_run == attacks
    if version == "rand":
        assert adversary.apgd.eot_iter == 20  # expectation over transformation, as the README says
    x_adv = adversary.run_standard_evaluation(images, labels, bs=8)
    assert _in_ball(x_adv, images, EPS)
    assert _accuracy(model, x_adv, labels) < _accuracy(model, images, labels)


def test_usage_errors_are_one_line_user_errors(mnist_like):
    model = mnist_like[0]
    with pytest.raises(AutoAttackUsageError, match="only used with version='custom'"):
        RobustBenchAutoAttack(model, version="standard", attacks_to_run=["apgd-ce"])
    with pytest.raises(AutoAttackUsageError, match="unknown AutoAttack version"):
        RobustBenchAutoAttack(model, version="fast")
    with pytest.raises(AutoAttackUsageError, match="TensorFlow"):
        RobustBenchAutoAttack(model, is_tf_model=True)


def test_state_module_is_pyautoattacks():
    import pyautoattack.state
    from autoattack.state import EvaluationState

    assert EvaluationState is pyautoattack.state.EvaluationState
