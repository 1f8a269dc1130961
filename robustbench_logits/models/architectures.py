"""The papers' architectures, registered in timm: ``timm.create_model("cnn2c2f", num_classes=10)``.

Inputs are images in [0, 1]; no model normalises (pretrained_cfg mean 0, std 1). The nets with a
flatten layer (2C2F, 4C3F, LeNet-5) are built for one input size, ``img_size``; the others pool
globally and accept any size that survives their down-sampling.

ResNets reuse timm's ``ResNet``; the small nets, VGG-13 and WRN-34-10 are written here because
timm 1.0.9 has no CIFAR-style VGG (its VGG head is a 4096-wide 7x7 conv MLP for 224 px inputs)
and no pre-activation basic-block WRN.
"""

from __future__ import annotations

from typing import Any, Callable

import torch
from timm.models import build_model_with_cfg, generate_default_cfgs, register_model
from timm.models.resnet import BasicBlock, ResNet
from torch import nn

from robustbench_logits.errors import ModelError
from robustbench_logits.models.pooling import MaxPool2x2
from robustbench_logits.models.pretrained import build_pretrained, pretrained_cfg
from robustbench_logits.zoo import pretrained_tags

__all__ = ["ARCHITECTURES", "ConvClassifier"]  # timm's register_model appends each model name

ARCHITECTURES: tuple[str, ...] = (
    "lenet5",
    "cnn2c2f",
    "cnn4c3f",
    "resnet18_cifar",
    "wide_resnet34_10",
    "vgg13_cifar",
    "resnet_small",
)
"""The timm names this module registers."""

ImageSize = int | tuple[int, int]


def _pair(size: ImageSize) -> tuple[int, int]:
    if isinstance(size, int):
        return (size, size)
    height, width = size
    return (int(height), int(width))


class ConvClassifier(nn.Module):
    """features -> pre_logits -> fc, with timm's classifier API (get/reset_classifier, forward_head).

    ``pre_logits`` maps the feature map to a vector of ``num_features``; ``fc`` is the last linear
    layer, re-created by ``reset_classifier`` (zero-initialised when ``zero_init_classifier``).
    ``fixed_img_size`` is set for nets with a flatten layer, which only accept that input size.
    """

    def __init__(
        self,
        features: nn.Module,
        pre_logits: nn.Module,
        num_features: int,
        num_classes: int,
        fixed_img_size: tuple[int, int] | None = None,
        zero_init_classifier: bool = False,
    ) -> None:
        super().__init__()
        self.features = features
        self.pre_logits = pre_logits
        self.num_features = self.head_hidden_size = num_features
        self.fixed_img_size = fixed_img_size
        self.zero_init_classifier = zero_init_classifier
        self.reset_classifier(num_classes)

    def get_classifier(self) -> nn.Module:
        return self.fc

    def reset_classifier(self, num_classes: int, global_pool: Any = None) -> None:
        """A fresh last layer with ``num_classes`` outputs (0: none, output the pre-logits)."""
        self.num_classes = num_classes
        self.fc = nn.Linear(self.num_features, num_classes) if num_classes > 0 else nn.Identity()
        if self.zero_init_classifier and num_classes > 0:
            nn.init.zeros_(self.fc.weight)
            nn.init.zeros_(self.fc.bias)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        if self.fixed_img_size is not None and tuple(x.shape[-2:]) != self.fixed_img_size:
            height, width = x.shape[-2:]
            raise ModelError(
                f"this model was built for {self.fixed_img_size[0]}x{self.fixed_img_size[1]} inputs but got "
                f"{height}x{width}; create it with img_size=({height}, {width})"
            )
        return self.features(x)

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        x = self.pre_logits(x)
        return x if pre_logits else self.fc(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))


def _flat_size(features: nn.Module, in_chans: int, img_size: tuple[int, int], arch: str) -> int:
    """Number of features ``features`` outputs for one input, so flatten layers follow the input size."""
    try:
        with torch.no_grad():
            shape = features(torch.zeros(1, in_chans, *img_size)).shape[1:]
    except RuntimeError:
        shape = None
    if shape is None or min(shape) < 1:
        raise ModelError(f"{arch} cannot take {img_size[0]}x{img_size[1]} inputs: too small; use a larger img_size")
    return shape.numel()


def _cnn2c2f(num_classes: int, in_chans: int, img_size: ImageSize) -> ConvClassifier:
    # Kanai et al. App. B.2 "2C2F": conv 10@5x5 and 20@5x5 (stride 1, no padding), each followed
    # by max pooling (stride 2) then ReLU -- the order the paper lists; fc 320x50, ReLU, 50 %
    # dropout, fc 50x10. Default PyTorch init. Kernel 2 for the pools (only the stride is stated).
    img_size = _pair(img_size)
    features = nn.Sequential(
        nn.Conv2d(in_chans, 10, kernel_size=5),
        MaxPool2x2(),
        nn.ReLU(),
        nn.Conv2d(10, 20, kernel_size=5),
        MaxPool2x2(),
        nn.ReLU(),
    )
    flat = _flat_size(features, in_chans, img_size, "cnn2c2f")  # 320 at 28x28
    pre_logits = nn.Sequential(nn.Flatten(), nn.Linear(flat, 50), nn.ReLU(), nn.Dropout(0.5))
    return ConvClassifier(features, pre_logits, 50, num_classes, fixed_img_size=img_size)


def _cnn4c3f(num_classes: int, in_chans: int, img_size: ImageSize) -> ConvClassifier:
    # Kanai et al. App. B.2 "4C3F" (TRADES' SmallCNN): conv 32, 32, 64, 64 @3x3 (stride 1, no
    # padding), ReLU after each, max pooling (stride 2) after the 2nd and 4th ReLU; fc 1024x200,
    # ReLU, 50 % dropout (on fc1's output only), fc 200x200, ReLU, fc 200x10. Default PyTorch init
    # except the last fc, whose weights and biases start at zero -- as the paper states.
    img_size = _pair(img_size)
    features = nn.Sequential(
        nn.Conv2d(in_chans, 32, kernel_size=3),
        nn.ReLU(),
        nn.Conv2d(32, 32, kernel_size=3),
        nn.ReLU(),
        MaxPool2x2(),
        nn.Conv2d(32, 64, kernel_size=3),
        nn.ReLU(),
        nn.Conv2d(64, 64, kernel_size=3),
        nn.ReLU(),
        MaxPool2x2(),
    )
    flat = _flat_size(features, in_chans, img_size, "cnn4c3f")  # 1024 at 28x28
    pre_logits = nn.Sequential(
        nn.Flatten(),
        nn.Linear(flat, 200),
        nn.ReLU(),
        nn.Dropout(0.5),
        nn.Linear(200, 200),
        nn.ReLU(),
    )
    return ConvClassifier(
        features, pre_logits, 200, num_classes, fixed_img_size=img_size, zero_init_classifier=True
    )


def _lenet5(num_classes: int, in_chans: int, img_size: ImageSize) -> ConvClassifier:
    # Li et al. (PC-LC) use "LeNet-5 (LeCun et al. 1998)" without details. We take the common
    # modern reading: conv 6@5x5 (padding 2, so 28x28 MNIST matches LeCun's 32x32 input), ReLU,
    # max-pool 2, conv 16@5x5, ReLU, max-pool 2, fc 400x120, ReLU, fc 120x84, ReLU, fc 84xC
    # (ReLU/max-pool/full C3 connections instead of the 1998 squashing, sub-sampling and RBF output).
    img_size = _pair(img_size)
    features = nn.Sequential(
        nn.Conv2d(in_chans, 6, kernel_size=5, padding=2),
        nn.ReLU(),
        MaxPool2x2(),
        nn.Conv2d(6, 16, kernel_size=5),
        nn.ReLU(),
        MaxPool2x2(),
    )
    flat = _flat_size(features, in_chans, img_size, "lenet5")  # 400 at 28x28
    pre_logits = nn.Sequential(
        nn.Flatten(), nn.Linear(flat, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU()
    )
    return ConvClassifier(features, pre_logits, 84, num_classes, fixed_img_size=img_size)


_VGG13_LAYOUT = (64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M")


def _vgg13_cifar(num_classes: int, in_chans: int, img_size: ImageSize = 32) -> ConvClassifier:
    # Li et al. use "VGG-13" on 32x32 colour images without details. We take the CIFAR variant of
    # kuangliu/pytorch-cifar (the reference Kanai et al. cite for CIFAR nets): 3x3 convs with
    # batch norm and ReLU in VGG's configuration B, five 2x2 max-pools, one fc 512xC. Global
    # average pooling before the fc (a no-op at 32x32, where the map is 1x1) lets 64x64 work too.
    layers: list[nn.Module] = []
    channels = in_chans
    for item in _VGG13_LAYOUT:
        if item == "M":
            layers.append(MaxPool2x2())
        else:
            layers += [nn.Conv2d(channels, item, kernel_size=3, padding=1), nn.BatchNorm2d(item), nn.ReLU()]
            channels = item
    if min(_pair(img_size)) < 32:  # five 2x2 max-pools must leave at least one pixel
        raise ModelError(f"vgg13_cifar needs inputs of at least 32x32, got img_size={img_size}; use 32 or more")
    features = nn.Sequential(*layers)
    pre_logits = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
    return ConvClassifier(features, pre_logits, channels, num_classes)


class _WideBasicBlock(nn.Module):
    """Pre-activation WRN block (Zagoruyko & Komodakis 2016), as in TRADES' wideresnet.py.

    out = conv2(relu(bn2(conv1(relu(bn1(x)))))) + shortcut, where the shortcut is x, or a 1x1
    conv of relu(bn1(x)) when the block changes width or resolution.
    """

    def __init__(self, in_chs: int, out_chs: int, stride: int) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_chs)
        self.act1 = nn.ReLU()
        self.conv1 = nn.Conv2d(in_chs, out_chs, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_chs)
        self.act2 = nn.ReLU()
        self.conv2 = nn.Conv2d(out_chs, out_chs, kernel_size=3, padding=1, bias=False)
        needs_projection = in_chs != out_chs or stride != 1
        self.shortcut = (
            nn.Conv2d(in_chs, out_chs, kernel_size=1, stride=stride, bias=False) if needs_projection else None
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pre_activated = self.act1(self.bn1(x))
        out = self.conv2(self.act2(self.bn2(self.conv1(pre_activated))))
        skip = x if self.shortcut is None else self.shortcut(pre_activated)
        return skip + out


def _wide_resnet34_10(num_classes: int, in_chans: int, img_size: ImageSize = 32) -> ConvClassifier:
    # WRN-34-10 as in TRADES' wideresnet.py (Kanai et al. App. B.2 use that implementation):
    # 3x3 stem of 16, three groups of (depth - 4) / 6 blocks of width 16k, 32k, 64k (strides 1,
    # 2, 2), final BN-ReLU, global average pooling, fc. Dropout 0. Default PyTorch init, as Kanai
    # et al. state for all their nets (TRADES' own code uses He-normal conv init instead).
    # img_size is only recorded in pretrained_cfg: global pooling takes any input size.
    depth, widen_factor = 34, 10
    blocks_per_group = (depth - 4) // 6
    widths = (16, 16 * widen_factor, 32 * widen_factor, 64 * widen_factor)
    layers: list[nn.Module] = [nn.Conv2d(in_chans, widths[0], kernel_size=3, padding=1, bias=False)]
    for group, stride in enumerate((1, 2, 2)):
        for index in range(blocks_per_group):
            in_chs = widths[group] if index == 0 else widths[group + 1]
            layers.append(_WideBasicBlock(in_chs, widths[group + 1], stride if index == 0 else 1))
    layers += [nn.BatchNorm2d(widths[-1]), nn.ReLU()]
    features = nn.Sequential(*layers)
    pre_logits = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
    return ConvClassifier(features, pre_logits, widths[-1], num_classes)


def _cifar_resnet(layers: tuple[int, ...], channels: tuple[int, ...], num_classes: int, in_chans: int) -> ResNet:
    # timm's ResNet with the CIFAR stem of kuangliu/pytorch-cifar (cited by Kanai et al. for
    # ResNet-18): one 3x3 stride-1 conv, no max-pool. timm's non-deep stem is fixed at 64
    # channels, so we ask for a deep stem of width channels[0] / 2 (which sets the stem output
    # to channels[0]) and replace it at once.
    model = ResNet(
        block=BasicBlock,
        layers=layers,
        channels=channels,
        num_classes=num_classes,
        in_chans=in_chans,
        stem_type="deep",
        stem_width=channels[0] // 2,
    )
    model.conv1 = nn.Conv2d(in_chans, channels[0], kernel_size=3, stride=1, padding=1, bias=False)
    model.maxpool = nn.Identity()
    for info in model.feature_info:  # the stem no longer down-samples by 4
        info["reduction"] = max(1, info["reduction"] // 4)
    # Kanai et al. use PyTorch's default init; timm's ResNet uses He-normal and zero last-BN.
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear, nn.BatchNorm2d)):
            module.reset_parameters()
    return model


def _resnet18_cifar(num_classes: int, in_chans: int, img_size: ImageSize = 32) -> ResNet:
    # img_size is only recorded in pretrained_cfg: global pooling takes any input size.
    return _cifar_resnet((2, 2, 2, 2), (64, 128, 256, 512), num_classes, in_chans)


def _resnet_small(num_classes: int, in_chans: int, img_size: ImageSize = 32) -> ResNet:
    # Not from the papers: ResNet-18's topology at a quarter of the width (~0.7 M parameters,
    # ~1/16 of the FLOPs), cheap enough to train on a CPU for tests and smoke runs.
    return _cifar_resnet((2, 2, 2, 2), (16, 32, 64, 128), num_classes, in_chans)


def _cfg(in_chans: int, img_size: int, paper: str, fixed_input_size: bool = False, **kwargs: Any) -> dict[str, Any]:
    return {
        "url": "",
        "num_classes": 10,
        "input_size": (in_chans, img_size, img_size),
        "fixed_input_size": fixed_input_size,
        "mean": (0.0,) * in_chans,
        "std": (1.0,) * in_chans,
        "interpolation": "bilinear",
        "crop_pct": 1.0,
        "paper_name": paper,
        **kwargs,
    }


_KANAI = "Constraining Logits by Bounded Function for Adversarial Robustness (Kanai et al.)"
_LI = "Improving Adversarial Robustness via Probabilistically Compact Loss with Logit Constraints (Li et al.)"
_SMALL_NETS = {"first_conv": "features.0", "classifier": "fc"}
_RESNETS = {"first_conv": "conv1", "classifier": "fc"}

default_cfgs = generate_default_cfgs(
    {
        "cnn2c2f": _cfg(1, 28, _KANAI, fixed_input_size=True, **_SMALL_NETS),
        "cnn4c3f": _cfg(1, 28, _KANAI, fixed_input_size=True, **_SMALL_NETS),
        "lenet5": _cfg(1, 28, _LI, fixed_input_size=True, **_SMALL_NETS),
        "vgg13_cifar": _cfg(3, 32, _LI, **_SMALL_NETS),
        "wide_resnet34_10": _cfg(3, 32, _KANAI, **_SMALL_NETS),
        "resnet18_cifar": _cfg(3, 32, _KANAI, **_RESNETS),
        "resnet_small": _cfg(3, 32, "", **_RESNETS),
        **{tag: pretrained_cfg(record) for tag, record in pretrained_tags().items()},
    }
)
"""timm pretrained cfgs: input size, mean 0 / std 1 (inputs stay in [0, 1]), 10 classes; one more per
zoo record (``cnn2c2f.blf_at_mnist``) with its weights ``file`` (models/pretrained.py)."""


def _build(variant: str, builder: Callable[..., nn.Module], pretrained: bool, **kwargs: Any) -> nn.Module:
    """timm's build_model_with_cfg, then make pretrained_cfg describe the model actually built.

    ``pretrained=True`` with a zoo tag (timm passes ``cnn2c2f.blf_mnist``'s tag, "blf_mnist", as
    ``pretrained_cfg``) loads the zoo model (models/pretrained.py); without a tag there are no weights.
    """
    if pretrained:
        cfg = kwargs.pop("pretrained_cfg", None)  # the tag, or its cfg dict (models/pretrained.load_model)
        tag = cfg if isinstance(cfg, str) else (cfg or {}).get("tag") if isinstance(cfg, dict) else getattr(cfg, "tag", None)
        return build_pretrained(variant, builder, tag, _build_bare, pretrained_cfg=cfg, **kwargs)
    return _build_bare(variant, builder, **kwargs)


def _build_bare(variant: str, builder: Callable[..., nn.Module], **kwargs: Any) -> nn.Module:
    """The architecture with fresh weights; its pretrained_cfg (the tag's, when one is named) describes it."""
    model = build_model_with_cfg(builder, variant, pretrained=False, **kwargs)
    cfg = model.pretrained_cfg  # a per-model dict, also aliased as model.default_cfg
    in_chans = model.get_submodule(cfg["first_conv"]).in_channels
    height, width = _pair(kwargs.get("img_size") or cfg["input_size"][-2:])
    cfg.update(
        num_classes=model.num_classes,
        input_size=(in_chans, height, width),
        mean=(0.0,) * in_chans,
        std=(1.0,) * in_chans,
    )
    return model


@register_model
def cnn2c2f(pretrained: bool = False, num_classes: int = 10, in_chans: int = 1, **kwargs: Any) -> ConvClassifier:
    """2C2F: two convs, two fcs (Kanai et al. App. B.2); 28x28x1 by default, ``img_size`` for others."""
    return _build("cnn2c2f", _cnn2c2f, pretrained, num_classes=num_classes, in_chans=in_chans, **kwargs)


@register_model
def cnn4c3f(pretrained: bool = False, num_classes: int = 10, in_chans: int = 1, **kwargs: Any) -> ConvClassifier:
    """4C3F: four convs, three fcs, last fc zero-initialised (Kanai et al. App. B.2); 28x28x1 by default."""
    return _build("cnn4c3f", _cnn4c3f, pretrained, num_classes=num_classes, in_chans=in_chans, **kwargs)


@register_model
def lenet5(pretrained: bool = False, num_classes: int = 10, in_chans: int = 1, **kwargs: Any) -> ConvClassifier:
    """LeNet-5 (Li et al., Experiments, after LeCun et al. 1998; ReLU/max-pool reading); 28x28x1 by default."""
    return _build("lenet5", _lenet5, pretrained, num_classes=num_classes, in_chans=in_chans, **kwargs)


@register_model
def vgg13_cifar(pretrained: bool = False, num_classes: int = 10, in_chans: int = 3, **kwargs: Any) -> ConvClassifier:
    """VGG-13 with batch norm and a 512xC fc, CIFAR variant (Li et al., Experiments); 32x32x3 by default."""
    return _build("vgg13_cifar", _vgg13_cifar, pretrained, num_classes=num_classes, in_chans=in_chans, **kwargs)


@register_model
def wide_resnet34_10(
    pretrained: bool = False, num_classes: int = 10, in_chans: int = 3, **kwargs: Any
) -> ConvClassifier:
    """WRN-34-10, pre-activation, TRADES layout (Kanai et al. sec. 5.1, App. B.2); 32x32x3 by default."""
    return _build(
        "wide_resnet34_10", _wide_resnet34_10, pretrained, num_classes=num_classes, in_chans=in_chans, **kwargs
    )


@register_model
def resnet18_cifar(pretrained: bool = False, num_classes: int = 10, in_chans: int = 3, **kwargs: Any) -> ResNet:
    """ResNet-18 with a 3x3 stride-1 stem and no max-pool (Kanai et al. sec. 5.1); 32x32x3 by default."""
    return _build(
        "resnet18_cifar", _resnet18_cifar, pretrained, num_classes=num_classes, in_chans=in_chans, **kwargs
    )


@register_model
def resnet_small(pretrained: bool = False, num_classes: int = 10, in_chans: int = 3, **kwargs: Any) -> ResNet:
    """ResNet-18 layout at 1/4 width (16-128 channels, ~0.7 M parameters) for CPU runs; 32x32x3."""
    return _build("resnet_small", _resnet_small, pretrained, num_classes=num_classes, in_chans=in_chans, **kwargs)
