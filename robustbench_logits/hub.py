"""``load_model`` by RobustBench's signature, for our zoo and for RobustBench's.

``load_model(model_name, model_dir="./models", dataset=..., threat_model=...)`` is the call
RobustBench users already write. A name in our zoo (:mod:`robustbench_logits.zoo`, shipped
weights, no network) is loaded from there; any other name is looked up in RobustBench's zoo and
handed to ``robustbench.utils.load_model``, which reads
``<model_dir>/<dataset>/<threat_model>/<model_name>.pt`` or downloads it first. So our
evaluation (``rbl eval Carmon2019Unlabeled --dataset cifar10``) can be pointed at RobustBench's
published models.

A checkpoint is first opened with ``torch.load(weights_only=True)`` here: a file holding pickled
code is refused (:class:`~robustbench_logits.errors.WeightsError`) before robustbench unpickles
it. For our zoo, ``dataset`` and ``threat_model`` default to the model's own; for RobustBench's,
to RobustBench's defaults (cifar10, Linf).
"""

from __future__ import annotations

import difflib
import os
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from robustbench_logits import zoo
from robustbench_logits._files import sha256_file
from robustbench_logits.errors import ModelError, WeightsError
from robustbench_logits.models.pretrained import load_model as load_pretrained

__all__ = ["is_robustbench_name", "load_model", "load_for_eval", "robustbench_checkpoint_path"]

_RB_DATASETS = ("cifar10", "cifar100", "imagenet")
_RB_THREAT_MODELS = ("Linf", "L2", "corruptions", "corruptions_3d")


def _ignore_upstream_warnings() -> None:
    """Inside ``warnings.catch_warnings()``: robustbench's import warns about setuptools'
    pkg_resources, and timm's (which robustbench imports) about torch.jit and its own moves."""
    warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
    warnings.filterwarnings("ignore", message=r".*torch\.jit\.interface.*is deprecated", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"timm\..*")


def _robustbench_zoo() -> dict[tuple[str, str], dict[str, Any]]:
    """RobustBench's model table, keyed by (dataset, threat model) strings.

    Imported here, on first use only: robustbench's zoo imports every architecture it ships
    (seconds), which a user of our own zoo never needs.
    """
    with warnings.catch_warnings():
        _ignore_upstream_warnings()
        from robustbench.model_zoo import model_dicts
    return {(d.value, t.value): models for d, by_threat in model_dicts.items() for t, models in by_threat.items()}


def is_robustbench_name(name: str) -> bool:
    """Whether ``name`` is a model of RobustBench's zoo (any dataset and threat model)."""
    return any(name in models for models in _robustbench_zoo().values())


def robustbench_checkpoint_path(model_name: str, model_dir: str | os.PathLike, dataset: str, threat_model: str) -> Path:
    """Where robustbench keeps (or downloads) a model's checkpoint."""
    return Path(model_dir) / dataset / threat_model.replace("_3d", "") / f"{model_name}.pt"


def _is_ours(model_name: str) -> bool:
    """A name or timm tag of our zoo (names repeat across datasets, so membership, not lookup)."""
    if model_name in zoo.list_models():
        return True
    try:
        zoo.get_entry(model_name)
    except ModelError:
        return False
    return True


def _unknown(model_name: str, dataset: str, threat_model: str, table: dict[tuple[str, str], dict[str, Any]]) -> ModelError:
    found_in = [key for key, models in table.items() if model_name in models]
    if found_in:
        where = ", ".join(f"dataset={d!r}, threat_model={t!r}" for d, t in found_in)
        return ModelError(f"RobustBench's {model_name} is not a {dataset} {threat_model} model: pass {where}")
    candidates = list(zoo.list_models()) + list(table.get((dataset, threat_model), {}))
    close = difflib.get_close_matches(model_name, candidates, n=3, cutoff=0.6)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    return ModelError(f"unknown model {model_name!r}: neither in our zoo (`rbl zoo`) nor in RobustBench's "
                      f"{dataset} {threat_model} zoo.{hint}")


def _check_weights_only(path: Path) -> None:
    try:
        torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # weights_only refuses pickled code with an UnpicklingError
        raise WeightsError(f"cannot read {path} as weights-only ({type(error).__name__}): it may hold pickled "
                           "code; replace it with the checkpoint RobustBench publishes") from None


def load_model(
    model_name: str,
    model_dir: str | os.PathLike = "./models",
    dataset: str | None = None,
    threat_model: str | None = None,
    custom_checkpoint: str = "",
    norm: str | None = None,
) -> nn.Module:
    """A model in eval mode, from our zoo or RobustBench's; RobustBench's signature and keywords.

    ``norm`` is RobustBench's deprecated spelling of ``threat_model``. ``model_dir`` and
    ``custom_checkpoint`` matter only for RobustBench's models. A RobustBench checkpoint
    missing from ``model_dir`` is downloaded by robustbench, which needs the network; without
    it, the error says where to put the file.
    """
    threat_model = norm if norm is not None else threat_model
    if _is_ours(model_name):  # checks dataset/threat model against the record, sha256 of the weights
        return load_pretrained(model_name, dataset=dataset, threat_model=threat_model)
    dataset = dataset or "cifar10"
    threat_model = threat_model or "Linf"
    if dataset not in _RB_DATASETS:
        raise _unknown_dataset(model_name, dataset)
    if threat_model not in _RB_THREAT_MODELS:
        raise ModelError(f"unknown threat model {threat_model!r}: use one of {', '.join(_RB_THREAT_MODELS)}")
    table = _robustbench_zoo()
    if model_name not in table.get((dataset, threat_model), {}):
        raise _unknown(model_name, dataset, threat_model, table)
    path = robustbench_checkpoint_path(model_name, model_dir, dataset, threat_model)
    existed = path.is_file()
    if existed:
        _check_weights_only(path)
    from robustbench.utils import load_model as robustbench_load_model  # robustbench's zoo is loaded above

    try:
        with warnings.catch_warnings():
            _ignore_upstream_warnings()
            model = robustbench_load_model(model_name, model_dir=model_dir, dataset=dataset,
                                           threat_model=threat_model, custom_checkpoint=custom_checkpoint)
    except Exception as error:
        if existed:
            raise
        if path.exists():  # a partial download: never leave half a file behind
            path.unlink()
        raise ModelError(
            f"RobustBench's {model_name} is not in {model_dir} and could not be downloaded "
            f"({type(error).__name__}): it needs the network, or its checkpoint at {path}"
        ) from None
    return model.eval()


def _unknown_dataset(model_name: str, dataset: str) -> ModelError:
    return ModelError(f"{model_name!r} is not in our zoo (`rbl zoo`), and RobustBench's zoo has datasets "
                      f"{', '.join(_RB_DATASETS)}, not {dataset!r}")


def load_for_eval(
    spec: str, dataset: str, threat_model: str, model_dir: str | os.PathLike = "./models"
) -> tuple[nn.Module, str, str | None] | None:
    """``(model, name, checkpoint sha256)`` when ``spec`` names a RobustBench model; ``None`` otherwise.

    For ``rbl eval``: our own zoo names, files and timm names are left to the evaluation's loader.
    """
    if spec.endswith(".py") or Path(spec).suffix or _is_ours(spec) or dataset not in _RB_DATASETS:
        return None
    if not is_robustbench_name(spec):
        return None
    model = load_model(spec, model_dir=model_dir, dataset=dataset, threat_model=threat_model)
    path = robustbench_checkpoint_path(spec, model_dir, dataset, threat_model)
    return model, spec, sha256_file(path) if path.is_file() else None
