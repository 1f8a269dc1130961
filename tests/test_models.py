"""Registered architectures (Kanai et al. App. B.2, Li et al.) and the LogitHeadModel wrapper."""

from __future__ import annotations

import numpy as np
import pytest
import timm
import torch
from torch import nn

from robustbench_logits.errors import ModelError
from robustbench_logits.heads import BoundedLogitFunction, LearnableBoundedLogitFunction, ScaledTanh, TanhHead
from robustbench_logits.models import ARCHITECTURES, LogitHeadModel, create_model, with_logit_head


def _n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _conv(c_in: int, c_out: int, k: int) -> int:
    return c_in * c_out * k * k + c_out


def _fc(n_in: int, n_out: int) -> int:
    return n_in * n_out + n_out


def test_all_architectures_are_registered_with_timm():
    assert set(ARCHITECTURES) == {
        "lenet5", "cnn2c2f", "cnn4c3f", "resnet18_cifar", "wide_resnet34_10", "vgg13_cifar", "resnet_small"
    }
    assert all(timm.is_model(name) for name in ARCHITECTURES)


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_model_runs_forward_and_backward_at_its_input_size(name):
    torch.manual_seed(0)
    model = timm.create_model(name, num_classes=7)
    cfg = model.pretrained_cfg
    assert cfg is model.default_cfg
    assert cfg["num_classes"] == model.num_classes == 7
    channels = cfg["input_size"][0]
    assert cfg["input_size"] == ((1, 28, 28) if name in ("lenet5", "cnn2c2f", "cnn4c3f") else (3, 32, 32))
    assert cfg["mean"] == (0.0,) * channels and cfg["std"] == (1.0,) * channels
    batch = 1 if name == "wide_resnet34_10" else 2
    x = torch.rand(batch, *cfg["input_size"], requires_grad=True)
    out = model(x)
    assert out.shape == (batch, 7)
    out.square().sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    if name != "cnn4c3f":  # its zero-initialised last layer blocks the input gradient at init
        assert x.grad.abs().sum() > 0
    assert isinstance(model.get_classifier(), nn.Linear)
    assert model.get_classifier().out_features == 7
    model.reset_classifier(3)
    assert model.num_classes == 3 and model.get_classifier().out_features == 3
    assert model.eval()(x[:1]).shape == (1, 3)


def test_2c2f_has_the_app_b2_layers_and_parameter_count():
    model = timm.create_model("cnn2c2f")
    expected = _conv(1, 10, 5) + _conv(10, 20, 5) + _fc(320, 50) + _fc(50, 10)
    assert _n_params(model) == expected == 21_840
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(320, 50), (50, 10)]
    dropouts = [m for m in model.modules() if isinstance(m, nn.Dropout)]
    assert len(dropouts) == 1 and dropouts[0].p == 0.5
    assert not any(isinstance(m, nn.Conv2d) and m.padding != (0, 0) for m in model.modules())


def test_4c3f_has_the_app_b2_layers_parameter_count_and_zero_last_layer():
    model = timm.create_model("cnn4c3f")
    expected = (
        _conv(1, 32, 3) + _conv(32, 32, 3) + _conv(32, 64, 3) + _conv(64, 64, 3)
        + _fc(1024, 200) + _fc(200, 200) + _fc(200, 10)
    )
    assert _n_params(model) == expected == 312_202
    last = model.get_classifier()
    assert (last.in_features, last.out_features) == (200, 10)
    assert torch.count_nonzero(last.weight) == 0 and torch.count_nonzero(last.bias) == 0
    assert torch.count_nonzero(model.pre_logits[1].weight) > 0  # only the last layer is zero
    assert torch.equal(model.eval()(torch.rand(3, 1, 28, 28)), torch.zeros(3, 10))
    dropouts = [m for m in model.modules() if isinstance(m, nn.Dropout)]
    assert len(dropouts) == 1 and dropouts[0].p == 0.5
    # dropout acts on the output of the first fc (after its ReLU), not after the second
    assert isinstance(model.pre_logits[2], nn.ReLU) and model.pre_logits[3] is dropouts[0]
    model.reset_classifier(4)
    assert torch.count_nonzero(model.get_classifier().weight) == 0


@pytest.mark.parametrize(("name", "flat"), [("cnn2c2f", 20 * 5 * 5), ("cnn4c3f", 64 * 5 * 5), ("lenet5", 16 * 6 * 6)])
def test_flatten_size_follows_a_32x32x3_input(name, flat):
    model = timm.create_model(name, in_chans=3, img_size=32).eval()
    assert model.pretrained_cfg["input_size"] == (3, 32, 32)
    assert model.pre_logits[1].in_features == flat
    assert model(torch.rand(2, 3, 32, 32)).shape == (2, 10)
    with pytest.raises(ModelError, match="img_size"):
        model(torch.rand(2, 3, 28, 28))


def test_dropout_is_active_only_in_training():
    torch.manual_seed(0)
    model = timm.create_model("cnn2c2f")
    x = torch.rand(4, 1, 28, 28)
    assert not torch.equal(model.train()(x), model(x))
    assert torch.equal(model.eval()(x), model(x))


def test_cifar_resnets_have_a_3x3_stride_1_stem_and_no_max_pool():
    for name in ("resnet18_cifar", "resnet_small"):
        model = timm.create_model(name)
        assert model.conv1.kernel_size == (3, 3) and model.conv1.stride == (1, 1)
        assert isinstance(model.maxpool, nn.Identity)
        assert model.forward_features(torch.rand(1, 3, 32, 32)).shape[-2:] == (4, 4)  # 32 / 8
    assert _n_params(timm.create_model("resnet_small")) <= 1_000_000
    assert 11_000_000 < _n_params(timm.create_model("resnet18_cifar")) < 11_300_000


def test_wide_resnet34_10_has_the_trades_widths_and_depth():
    model = timm.create_model("wide_resnet34_10")
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3)]
    assert len(convs) == 1 + 3 * 5 * 2  # stem + 3 groups x 5 blocks x 2 convs (34 - 4 = 30 layers)
    assert model.get_classifier().in_features == 640


def test_bad_model_requests_raise_model_errors():
    with pytest.raises(ModelError):
        timm.create_model("cnn2c2f", pretrained=True)
    with pytest.raises(ModelError):
        create_model("no_such_arch")
    with pytest.raises(ModelError):
        timm.create_model("cnn2c2f", img_size=8)
    with pytest.raises(ModelError):
        timm.create_model("vgg13_cifar", img_size=28)


def test_logit_head_model_applies_the_head_to_the_backbone_logits():
    torch.manual_seed(0)
    backbone = timm.create_model("cnn2c2f").eval()
    model = with_logit_head(backbone, "blf", gamma=0.5).eval()
    x = torch.rand(3, 1, 28, 28)
    z = backbone(x).detach().double().numpy()
    s = 1.0 / (1.0 + np.exp(-z))
    expected = 0.5 * (2.0 * (z * s + s - z * s**2) - 1.0)  # Kanai et al. eq. (5), times gamma
    np.testing.assert_allclose(model(x).detach().numpy(), expected, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(model.forward_logits(x), backbone(x))
    assert model.backbone is backbone and isinstance(model.head, BoundedLogitFunction)


def test_with_head_shares_the_backbone_and_strips_or_replaces_the_head():
    torch.manual_seed(0)
    model = create_model("resnet_small", head=ScaledTanh(s=100.0)).eval()
    x = torch.rand(2, 3, 32, 32)
    z = model.forward_logits(x)
    torch.testing.assert_close(model(x), torch.tanh(100.0 * z))
    stripped = model.with_head("identity")
    replaced = model.with_head(TanhHead(gamma=2.0))
    assert stripped.backbone is model.backbone and replaced.backbone is model.backbone
    assert not replaced.training and not replaced.head.training  # takes the model's eval mode
    torch.testing.assert_close(stripped(x), z)
    torch.testing.assert_close(replaced(x), 2.0 * torch.tanh(z))
    with torch.no_grad():
        model.backbone.fc.bias.add_(1.0)  # shared weights: every view sees the change
    torch.testing.assert_close(stripped(x), z + 1.0)
    torch.testing.assert_close(model(x), torch.tanh(100.0 * (z + 1.0)))
    model.train()
    assert model.head.training
    torch.testing.assert_close(model.with_head(ScaledTanh()).head(z), torch.tanh(z))  # train form
    with pytest.raises(ModelError):
        with_logit_head(model, "blf")


def test_logit_head_model_keeps_timm_api_and_stable_state_dict_keys():
    model = create_model("cnn2c2f", head="lblf")
    assert isinstance(model, LogitHeadModel) and isinstance(model.head, LearnableBoundedLogitFunction)
    keys = list(model.state_dict())
    assert keys[-1] == "head.gamma_tilde"
    assert all(k.startswith("backbone.") for k in keys[:-1])
    assert keys[:-1] == ["backbone." + k for k in model.backbone.state_dict()]
    assert model.pretrained_cfg is model.backbone.pretrained_cfg
    assert model.default_cfg is model.backbone.default_cfg
    assert model.num_classes == 10 and model.get_classifier() is model.backbone.get_classifier()
    model.reset_classifier(4)
    assert model.num_classes == model.backbone.num_classes == 4
    out = model(torch.rand(2, 1, 28, 28))
    assert out.shape == (2, 4)
    out.sum().backward()
    assert model.head.gamma_tilde.grad is not None
    assert model.backbone.get_classifier().weight.grad is not None


def test_logit_head_model_wraps_any_timm_model():
    model = create_model("efficientnet_b0", num_classes=10, head="sine").eval()
    assert model.num_classes == 10
    assert model.pretrained_cfg["architecture"] == "efficientnet_b0"
    x = torch.rand(1, 3, 32, 32)
    torch.testing.assert_close(model(x), torch.sin(model.forward_logits(x)))
