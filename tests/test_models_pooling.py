"""The hand-written 2x2 max pool is torch's, bit for bit: values and gradients, ties, odd sizes, fx."""

from __future__ import annotations

import pytest
import torch
import torch.fx
import torch.nn.functional as F
from torch import nn

from robustbench_logits.models import create_model
from robustbench_logits.models.pooling import MaxPool2x2, max_pool_2x2


def _inputs(kind: str, shape: tuple[int, ...]) -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    if kind == "ties":  # few distinct values: most windows hold several maxima
        return torch.randint(-2, 3, shape, generator=generator).float()
    if kind == "relu":  # zeros everywhere (ReLU before the pool, as in 4C3F and LeNet-5)
        return torch.relu(torch.randn(shape, generator=generator))
    return torch.randn(shape, generator=generator)


@pytest.mark.parametrize("shape", [(4, 3, 8, 8), (2, 5, 7, 9), (3, 6, 11), (16, 10, 24, 24)])
@pytest.mark.parametrize("kind", ["ties", "relu", "randn"])
def test_values_and_gradients_equal_torchs_max_pool_exactly(shape: tuple[int, ...], kind: str) -> None:
    x = _inputs(kind, shape).requires_grad_(True)
    ours_x = x.detach().clone().requires_grad_(True)
    reference, ours = F.max_pool2d(x, 2), max_pool_2x2(ours_x)
    assert torch.equal(reference, ours)
    upstream = torch.randn(reference.shape, generator=torch.Generator().manual_seed(1))
    (reference_grad,) = torch.autograd.grad(reference, x, upstream)
    (ours_grad,) = torch.autograd.grad(ours, ours_x, upstream)
    assert torch.equal(reference_grad, ours_grad)


def test_a_nan_propagates_as_in_torch() -> None:
    x = torch.zeros(1, 1, 4, 4)
    x[0, 0, 0, 1] = float("nan")
    assert torch.equal(max_pool_2x2(x).isnan(), F.max_pool2d(x, 2).isnan())


def test_an_in_place_op_on_the_output_does_not_break_the_backward() -> None:
    x = torch.randn(2, 3, 6, 6, requires_grad=True)
    out = max_pool_2x2(x)
    out.relu_()  # torch's pool saves indices, not its output: ours must not depend on the output either
    out.sum().backward()
    (expected,) = torch.autograd.grad(F.max_pool2d(x, 2).relu().sum(), x)
    assert torch.equal(x.grad, expected)


def test_the_layer_is_a_max_pool_without_parameters_and_fx_sees_one_call() -> None:
    layer = MaxPool2x2()
    assert isinstance(layer, nn.MaxPool2d) and not list(layer.parameters())
    graph = torch.fx.symbolic_trace(nn.Sequential(nn.Conv2d(1, 2, 3), layer)).graph
    assert [n.target for n in graph.nodes if n.op == "call_function"] == [max_pool_2x2]


@pytest.mark.parametrize("arch", ["cnn2c2f", "cnn4c3f", "lenet5"])
def test_the_small_nets_give_torchs_logits_and_input_gradients(arch: str) -> None:
    torch.manual_seed(0)
    model = create_model(arch, 10, 1, img_size=28).eval()
    reference = create_model(arch, 10, 1, img_size=28).eval()
    reference.load_state_dict(model.state_dict())
    assert any(type(m) is MaxPool2x2 for m in model.modules())  # else the comparison below compares a net with itself
    for name, module in list(reference.named_modules()):
        if isinstance(module, MaxPool2x2):
            parent, _, child = name.rpartition(".")
            setattr(reference.get_submodule(parent) if parent else reference, child, nn.MaxPool2d(2))
    assert not any(type(m) is MaxPool2x2 for m in reference.modules())
    x = torch.rand(8, 1, 28, 28, generator=torch.Generator().manual_seed(2))
    y = torch.arange(8) % 10
    grads = []
    for net in (model, reference):
        x_in = x.clone().requires_grad_(True)
        logits = net(x_in)
        grads.append((logits, torch.autograd.grad(F.cross_entropy(logits, y), x_in)[0]))
    assert torch.equal(grads[0][0], grads[1][0]) and torch.equal(grads[0][1], grads[1][1])
