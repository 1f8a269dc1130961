"""Register our architectures and the zoo's pretrained tags with timm on ``import robustbench_logits``.

timm has no plugin entry points: a model is known to ``timm.create_model`` / ``timm.list_models``
only once the module that registers it has run. Importing :mod:`robustbench_logits.models`
eagerly would make ``import robustbench_logits`` (and every ``rbl`` command) load torch and timm,
so :func:`register` imports it right away only if timm is already loaded, and otherwise right
after timm finishes importing (a one-shot import hook). Either way, after ``import
robustbench_logits``, ``timm.create_model("cnn2c2f.blf_at_mnist", pretrained=True)`` works.
Standard library only.
"""

from __future__ import annotations

import importlib
import sys
import types

from robustbench_logits._after_import import run_after_import

__all__ = ["register"]

_REGISTERING_MODULE = "robustbench_logits.models"


def _register_now(_timm: types.ModuleType) -> None:
    if _REGISTERING_MODULE not in sys.modules:  # also true while it is importing timm itself
        importlib.import_module(_REGISTERING_MODULE)


def register() -> None:
    """Make timm know our models: now if timm is loaded, else right after it loads (idempotent)."""
    run_after_import("timm", _register_now)
