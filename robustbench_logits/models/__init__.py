"""timm-registered architectures of the papers, and the logit-head wrapper.

Importing this package registers ``lenet5``, ``cnn2c2f``, ``cnn4c3f``, ``resnet18_cifar``,
``wide_resnet34_10``, ``vgg13_cifar`` and ``resnet_small`` with timm.
"""

from __future__ import annotations

from typing import Any, Mapping

import timm
from torch import nn

from robustbench_logits.errors import ModelError
from robustbench_logits.heads import LogitHead
from robustbench_logits.models.architectures import ARCHITECTURES, ConvClassifier
from robustbench_logits.models.logit_head import LogitHeadModel, with_logit_head

__all__ = ["ARCHITECTURES", "ConvClassifier", "LogitHeadModel", "create_model", "with_logit_head"]


def create_model(
    arch: str,
    num_classes: int = 10,
    in_chans: int | None = None,
    head: LogitHead | str | None = None,
    head_kwargs: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> nn.Module:
    """``timm.create_model(arch, ...)``, wrapped in a LogitHeadModel when ``head`` is given.

    ``arch`` is one of ARCHITECTURES or any timm name; ``in_chans=None`` keeps the arch's default;
    ``head`` is a LogitHead or a heads.HEADS name built with ``head_kwargs``.
    """
    if not timm.is_model(arch):
        raise ModelError(f"unknown architecture {arch!r}; use one of {', '.join(ARCHITECTURES)} or a timm model name")
    model = timm.create_model(arch, num_classes=num_classes, in_chans=in_chans, **kwargs)
    if head is None:
        if head_kwargs:
            raise ModelError("head_kwargs given without a head; pass head=<name> too")
        return model
    return with_logit_head(model, head, **(head_kwargs or {}))
