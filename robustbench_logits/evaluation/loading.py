"""What ``rbl eval MODEL`` names: a Python file, a zoo name, or a timm name with weights."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import timm
import torch.nn as nn

import robustbench_logits.models  # noqa: F401  (registers our architectures with timm)
from robustbench_logits import zoo
from robustbench_logits._files import load_weights, sha256_file
from robustbench_logits.data import DATASETS
from robustbench_logits.errors import UserError
from robustbench_logits.models.pretrained import load_model

__all__ = ["load_model_for_eval"]


def _model_from_file(path: Path) -> nn.Module:
    """A Python file defining ``model`` (an nn.Module) or ``create_model()`` returning one."""
    spec = importlib.util.spec_from_file_location(f"rbl_eval_model_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    found = getattr(module, "model", None)
    if found is None and callable(getattr(module, "create_model", None)):
        found = module.create_model()
    if not isinstance(found, nn.Module):
        raise UserError(f"{path} must define `model` (an nn.Module) or `create_model()` returning one")
    return found


def load_model_for_eval(spec: str, dataset: str = "mnist", weights: str | os.PathLike | None = None
                        ) -> tuple[nn.Module, str, str | None]:
    """``(model, name, weights_sha256)`` for ``rbl eval MODEL``: a Python file, a zoo name or
    timm tag (``cnn2c2f.blf_at_mnist``), or a timm architecture (ours are registered) with ``weights``."""
    weights_path = Path(weights) if weights is not None else None
    if spec.endswith(".py"):
        if not Path(spec).is_file():
            raise UserError(f"model file {spec} does not exist")
        model = _model_from_file(Path(spec))
        name = Path(spec).stem
    else:
        if weights_path is None and (spec in zoo.pretrained_tags() or spec in zoo.list_models(dataset=dataset)):
            record = zoo.get_entry(spec, dataset=dataset)  # a zoo name or its timm tag
            return load_model(spec, dataset=dataset), record.name, record.sha256
        if not timm.is_model(spec):
            raise UserError(f"unknown model {spec!r}: give a zoo name, a timm name with --weights, or a .py file")
        if weights_path is None:
            raise UserError(f"{spec} is an architecture, not trained weights: pass --weights FILE.safetensors")
        data = DATASETS.get(dataset)
        model = timm.create_model(spec, num_classes=data.num_classes if data else 10,
                                  in_chans=data.input_shape[0] if data else None)
        name = spec
    if weights_path is not None:
        load_weights(model, weights_path)
    return model.eval(), name, sha256_file(weights_path) if weights_path is not None else None
