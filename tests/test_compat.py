import warnings

import torch
from torch import nn

import robustbench_logits  # noqa: F401  (installs the compat layer)


def _tiny_cifar_model(x: torch.Tensor | None = None, y: torch.Tensor | None = None) -> nn.Module:
    """A linear classifier, fitted to (x, y) when given so that clean accuracy is high."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 10))
    if x is not None:
        optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
        for _ in range(50):
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            optimizer.step()
    return model.eval()


def test_robustbench_benchmark_runs_on_pyautoattack_with_offline_cifar(cifar10_dir):
    from pyautoattack import AutoAttack
    from robustbench.eval import benchmark

    from robustbench_logits.data import load_dataset

    x, y = load_dataset("cifar10", n_examples=16, data_dir=cifar10_dir)
    model = _tiny_cifar_model(x, y)
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


def test_shim_speaks_robustbench_dialect():
    import autoattack
    from autoattack.state import EvaluationState

    import pyautoattack.state

    assert EvaluationState is pyautoattack.state.EvaluationState
    model = _tiny_cifar_model()
    x = torch.rand(4, 3, 32, 32)
    y = model(x).argmax(1)
    adversary = autoattack.AutoAttack(model, norm="Linf", eps=8 / 255, version="standard", device="cpu",
                                      log_path=None)
    x_adv = adversary.run_standard_evaluation(x, y, bs=4)
    assert isinstance(x_adv, torch.Tensor) and x_adv.shape == x.shape
    assert (x_adv - x).abs().max() <= 8 / 255 + 1e-6
