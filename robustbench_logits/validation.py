"""Checks run before any work starts, shared by ``benchmark()``, the CLI and submissions.

Each raises a one-line :class:`~robustbench_logits.errors.UserError` saying what to do, so a
mistake costs a second, not a finished evaluation lost to a traceback at the end (issue 9): an
output path that is a directory or unwritable, a device that is not there, a model whose dtype
does not match the images, a model that returns a tuple or a dict instead of logits.
Nothing here writes, creates or moves a file.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from robustbench_logits import zoo
from robustbench_logits.errors import ModelError, UserError

__all__ = ["OutputPathError", "check_device", "check_model_dtype", "check_model_output", "check_output_path", "check_zoo_dataset"]


class OutputPathError(UserError):
    """An output path that cannot receive the file (a directory, unwritable, under a file)."""


def check_output_path(path: str | os.PathLike, option: str = "--out") -> Path:
    """``path`` can be written as a file: not a directory, and its nearest existing ancestor is a writable directory."""
    path = Path(path)
    if path.is_dir():
        raise OutputPathError(f"{option} {path} is a directory: give a file path inside it (e.g. {path / 'result.json'})")
    if path.exists() and not os.access(path, os.W_OK):
        raise OutputPathError(f"{option} {path} exists and is not writable: pass another {option}")
    ancestor = path.parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise OutputPathError(f"{option} {path}: {ancestor} is a file, not a directory; pass another {option}")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise OutputPathError(f"{option} {path}: {ancestor} is not writable; pass another {option}")
    return path


def check_device(device: str | torch.device | None) -> torch.device | None:
    """The device, or a one-line error when it is malformed or absent on this machine (``cuda`` without a GPU)."""
    if device is None:
        return None
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        raise UserError(f"device {device!r} is not a torch device: use cpu, cuda or cuda:N") from None
    if resolved.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise UserError(f"device {device!r} asked for, but no CUDA GPU is available here: use --device cpu")
        if resolved.index is not None and resolved.index >= count:
            raise UserError(f"device {device!r} asked for, but this machine has {count} GPU(s) (cuda:0..cuda:{count - 1})")
    elif resolved.type == "mps" and not torch.backends.mps.is_available():
        raise UserError(f"device {device!r} asked for, but MPS is not available here: use --device cpu")
    elif resolved.type not in ("cpu", "cuda", "mps"):
        raise UserError(f"device {device!r} is not supported: use cpu or cuda")
    return resolved


def check_model_dtype(model: nn.Module, input_dtype: torch.dtype = torch.float32, name: str = "the model") -> None:
    """The model's floating parameters and buffers have the images' dtype (float32), else say how to convert."""
    dtypes = {t.dtype for t in list(model.parameters()) + list(model.buffers()) if t.is_floating_point()}
    wrong = sorted(str(d).replace("torch.", "") for d in dtypes if d != input_dtype)
    if wrong:
        want = str(input_dtype).replace("torch.", "")
        raise ModelError(f"{name} has {'/'.join(wrong)} weights but the images are {want}: "
                         f"convert it with model.to(torch.{want}) before evaluating")


def check_model_output(output: object, name: str = "the model") -> torch.Tensor:
    """The output of one forward pass is a floating logits tensor; a tuple, dict or integer output is named."""
    if isinstance(output, dict):
        raise ModelError(f"{name} returns a dict (keys {', '.join(map(str, list(output)[:5]))}), not a logits tensor: "
                         "wrap it so forward returns only the logits, e.g. lambda x: model(x)['logits']")
    if isinstance(output, (tuple, list)):
        raise ModelError(f"{name} returns a {type(output).__name__} of {len(output)} items, not a logits tensor: "
                         "wrap it so forward returns only the logits, e.g. lambda x: model(x)[0]")
    if not isinstance(output, torch.Tensor):
        raise ModelError(f"{name} returns {type(output).__name__}, not a logits tensor: forward must return a (N, C) tensor")
    if not output.is_floating_point():
        raise ModelError(f"{name} returns {str(output.dtype).replace('torch.', '')} outputs, not float logits: "
                         "return the logits, not predicted labels")
    return output


def check_zoo_dataset(model: str, dataset: str) -> None:
    """A zoo model (by name or timm tag) is evaluated only on a dataset its record says it was trained on."""
    matching = [r for r in zoo.records() if model in (r.name, r.tag)]
    if not matching or any(r.dataset == dataset for r in matching):
        return  # not a zoo model (a file or an architecture name, checked where it is loaded), or the right one
    trained_on = sorted({r.dataset for r in matching})  # a name can exist on several datasets (a tag on one)
    others = ", ".join(zoo.list_models(dataset=dataset)) or "none yet"
    raise ModelError(f"{model} was trained on {' and '.join(trained_on)}, not {dataset}: pass "
                     f"{' or '.join(f'--dataset {d}' for d in trained_on)}, or pick a {dataset} model ({others})")
