"""A backbone followed by a logit head: model(x) = head(backbone(x)), with the head swappable.

The defenses of Kanai et al. (BLF, sec. 4) and LCAT (S-Tanh, eq. 7) add one function between a
network's last layer and softmax. Keeping it a separate attribute lets attacks see through it:
``model.forward_logits(x)`` gives the pre-head logits z, ``model.with_head(other)`` evaluates the
same trained backbone under another head (adaptive attacks), ``model.backbone`` strips it.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from robustbench_logits.errors import ModelError
from robustbench_logits.heads import LogitHead, create_head

__all__ = ["LogitHeadModel", "with_logit_head"]


def _as_head(head: LogitHead | str, **head_kwargs: Any) -> LogitHead:
    if isinstance(head, LogitHead):
        if head_kwargs:
            raise ModelError("head arguments are only accepted with a head name; configure the LogitHead instead")
        return head
    if isinstance(head, str):
        return create_head(head, **head_kwargs)
    raise ModelError(f"a logit head must be a LogitHead or a head name, got {type(head).__name__}")


class LogitHeadModel(nn.Module):
    """``forward(x) = head(backbone(x))``; timm's API (num_classes, pretrained_cfg, ...) is the backbone's.

    state_dict keys are ``backbone.*`` plus ``head.*`` for heads with parameters (L-BLF).
    """

    def __init__(self, backbone: nn.Module, head: LogitHead) -> None:
        super().__init__()
        if isinstance(backbone, LogitHeadModel):
            raise ModelError("this model already has a logit head; use model.with_head(...) to replace it")
        if not isinstance(head, LogitHead):
            raise ModelError(f"a logit head must be a LogitHead, got {type(head).__name__}")
        self.backbone = backbone
        self.head = head

    def forward_logits(self, x: torch.Tensor) -> torch.Tensor:
        """The pre-head logits z (Kanai et al.'s pre-logits), shape (N, C)."""
        return self.backbone(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x))

    def with_head(self, head: LogitHead | str, **head_kwargs: Any) -> LogitHeadModel:
        """A new LogitHeadModel on the same backbone module (shared weights) with ``head``.

        The new head takes this model's train/eval mode; the backbone's mode is left alone.
        """
        replaced = LogitHeadModel(self.backbone, _as_head(head, **head_kwargs))
        replaced.training = self.training
        replaced.head.train(self.training)
        return replaced

    @property
    def num_classes(self) -> int:
        return self.backbone.num_classes

    @property
    def pretrained_cfg(self) -> dict[str, Any] | None:
        return getattr(self.backbone, "pretrained_cfg", None)

    @property
    def default_cfg(self) -> dict[str, Any] | None:
        return getattr(self.backbone, "default_cfg", None)

    def get_classifier(self, *args: Any, **kwargs: Any) -> nn.Module:
        """The backbone's last layer (the head is not a classifier: it has no weights per class)."""
        return self.backbone.get_classifier(*args, **kwargs)

    def reset_classifier(self, num_classes: int, *args: Any, **kwargs: Any) -> None:
        self.backbone.reset_classifier(num_classes, *args, **kwargs)


def with_logit_head(model: nn.Module, head: LogitHead | str, **head_kwargs: Any) -> LogitHeadModel:
    """Wrap ``model`` so its logits pass through ``head``: a LogitHead, or a name for create_head.

    Example: ``with_logit_head(timm.create_model("cnn2c2f"), "blf", gamma=1.0)`` (Kanai et al. sec. 4).
    """
    return LogitHeadModel(model, _as_head(head, **head_kwargs))
