"""robustbench_logits: logit-regularization defenses, packaged and evaluated honestly.

Public API (see README "Public API"): ``benchmark``, ``BenchmarkResult``, ``load_dataset``,
``create_model``, ``with_logit_head``, ``load_model``, ``list_models``; training is
``robustbench_logits.train.train`` (a name shared with its module, so not re-exported here).
They are imported on first use (PEP 562), so ``import robustbench_logits`` and the ``rbl``
command start without loading torch, timm and the attack code they do not need, and print no
upstream deprecation warning (timm's import triggers torch's ``torch.jit.interface``
FutureWarning; robustbench's triggers setuptools' ``pkg_resources`` one).

``load_model`` takes RobustBench's signature and names too (:mod:`robustbench_logits.hub`).
Importing the package (or the ``.pth`` hook installed with it) makes ``import autoattack`` and
``import robustbench`` work on PyPI's pyautoattack (:mod:`robustbench_logits._import_hooks`).
"""

from __future__ import annotations

import importlib
import warnings
from typing import Any

from robustbench_logits import _import_hooks, _timm_registration

_import_hooks.register()
_timm_registration.register()  # timm.create_model("cnn2c2f.blf_at_mnist", pretrained=True) after import

__version__ = "0.1.0"

_PUBLIC = {
    "BenchmarkResult": "robustbench_logits.evaluation",
    "benchmark": "robustbench_logits.evaluation",
    "create_model": "robustbench_logits.models",
    "list_models": "robustbench_logits.zoo",
    "load_dataset": "robustbench_logits.data",
    "load_model": "robustbench_logits.hub",
    "with_logit_head": "robustbench_logits.models",
}

# Upstream deprecations raised while our modules import theirs; they say nothing about the user's code.
UPSTREAM_IMPORT_WARNINGS = (
    (r".*torch\.jit\.interface.*is deprecated", FutureWarning),
    (r"pkg_resources is deprecated", UserWarning),
)

__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        with warnings.catch_warnings():
            for message, category in UPSTREAM_IMPORT_WARNINGS:
                warnings.filterwarnings("ignore", message=message, category=category)
            value = getattr(importlib.import_module(_PUBLIC[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'robustbench_logits' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + list(_PUBLIC))
