"""What is evaluated: the dataset, the checks that reject meaningless input, the model's identity and mode.

Randomised forward passes and probability outputs are not rejected here any more: they are
indicators (``randomised_forward``, ``probabilities_output``) that escalation answers with EOT
and with attacks on log-probabilities.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from typing import Iterator

import torch
import torch.nn as nn

from robustbench_logits.errors import ModelError, UserError
from robustbench_logits.validation import check_model_output

__all__ = ["check_inputs", "eval_mode", "resolve_dataset", "state_dict_sha256"]


def resolve_dataset(dataset: str | tuple[torch.Tensor, torch.Tensor], n_examples: int | None,
                    data_dir: str | os.PathLike | None) -> tuple[str, torch.Tensor, torch.Tensor, int | None]:
    """(name, x, y, number of classes or None) for a dataset name or an ``(x, y)`` pair."""
    if isinstance(dataset, str):
        from robustbench_logits.data import DATASETS, load_dataset

        x, y = load_dataset(dataset, split="test", n_examples=n_examples, data_dir=data_dir)
        return dataset, x, y, DATASETS[dataset].num_classes
    if isinstance(dataset, (tuple, list)) and len(dataset) == 2 and all(isinstance(t, torch.Tensor) for t in dataset):
        x, y = dataset
        if x.shape[0] == 0:
            raise UserError("the dataset has no examples: pass a non-empty (x, y)")
        return "custom", x[:n_examples], y[:n_examples], None
    raise UserError("dataset must be a dataset name (e.g. 'mnist') or a tuple (x, y) of tensors")


def check_inputs(model: nn.Module, x: torch.Tensor, y: torch.Tensor, num_classes: int | None,
                 device: torch.device) -> None:
    """Reject inputs and models that would make the numbers meaningless, before any attack runs."""
    if not torch.is_floating_point(x) or x.dim() != 4:
        raise UserError(f"inputs must be float NCHW images, got {x.dtype} of shape {tuple(x.shape)}")
    if not torch.isfinite(x).all():  # NaN fails every comparison, so the range check alone lets it through
        raise UserError("inputs contain NaN or infinite values: clean the dataset before evaluating")
    if x.numel() and (x.min() < 0 or x.max() > 1):
        raise UserError(f"inputs span [{x.min():.3g}, {x.max():.3g}], not [0, 1]: put normalisation inside the model")
    if y.dtype != torch.int64 or y.shape != (x.shape[0],):
        raise UserError(f"labels must be int64 of shape ({x.shape[0]},), got {y.dtype} {tuple(y.shape)}")
    if y.numel() and (y.min() < 0 or (num_classes is not None and y.max() >= num_classes)):
        raise UserError(f"labels span [{int(y.min())}, {int(y.max())}], outside the dataset's classes: "
                        "use class indices 0..C-1")
    probe = x[:32].to(device)
    try:
        with torch.no_grad():
            first = check_model_output(model(probe))
    except RuntimeError as error:
        raise ModelError(f"the model fails on inputs of shape {tuple(probe.shape[1:])} ({str(error).splitlines()[0]}): "
                         "build it for this dataset") from None
    if first.dim() != 2 or first.shape[0] != probe.shape[0]:
        raise ModelError(f"the model must return logits of shape (N, C), got {tuple(first.shape)}")
    expected = num_classes if num_classes is not None else int(y.max()) + 1
    if (num_classes is not None and first.shape[1] != num_classes) or first.shape[1] < expected:
        raise ModelError(f"the model outputs {first.shape[1]} classes but the dataset has {expected}: "
                         "build it with num_classes matching the dataset")
    if not torch.isfinite(first).all():
        raise ModelError("the model returns NaN or infinite logits: fix the model or its weights before evaluating")


def state_dict_sha256(model: nn.Module) -> str:
    """sha256 over the state dict (sorted names, dtype, shape, bytes): the weights' identity in memory."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        tensor = tensor.detach().cpu().contiguous()
        digest.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        # reshape(-1): a 0-dim tensor (BatchNorm's num_batches_tracked) cannot be viewed as bytes
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
    return digest.hexdigest()


@contextlib.contextmanager
def eval_mode(*modules: nn.Module | None) -> Iterator[None]:
    """Modules in eval mode inside the block; afterwards every submodule gets back its own mode.

    Not ``model.train()``: that would also switch parts the caller had frozen in eval mode
    (e.g. BatchNorm during fine-tuning), and miss a train-mode submodule under an eval-mode parent.
    """
    saved = [(sub, sub.training) for module in modules if module is not None for sub in module.modules()]
    try:
        for module in modules:
            if module is not None:
                module.eval()
        yield
    finally:
        for sub, training in saved:
            sub.training = training
