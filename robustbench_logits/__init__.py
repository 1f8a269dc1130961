"""robustbench_logits: logit-regularization defenses, packaged and evaluated honestly.

Public API (see README "Public API"): ``benchmark``, ``BenchmarkResult``, ``load_dataset``,
``create_model``, ``with_logit_head``, ``load_model``, ``list_models``; training is
``robustbench_logits.train.train`` (a name shared with its module, so not re-exported here).
They are imported on first use (PEP 562), so ``import robustbench_logits`` and the ``rbl``
command start without loading torchattacks, timm and the attack code they do not need.
"""

from __future__ import annotations

import importlib
from typing import Any

from robustbench_logits import compat as _compat

_compat.install()

__version__ = "0.1.0"

_PUBLIC = {
    "BenchmarkResult": "robustbench_logits.evaluate",
    "benchmark": "robustbench_logits.evaluate",
    "create_model": "robustbench_logits.models",
    "list_models": "robustbench_logits.zoo",
    "load_dataset": "robustbench_logits.data",
    "load_model": "robustbench_logits.zoo",
    "with_logit_head": "robustbench_logits.models",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        value = getattr(importlib.import_module(_PUBLIC[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'robustbench_logits' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + list(_PUBLIC))
