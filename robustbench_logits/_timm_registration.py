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
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
from collections.abc import Sequence

__all__ = ["register"]

_REGISTERING_MODULE = "robustbench_logits.models"


def _register_now() -> None:
    if _REGISTERING_MODULE not in sys.modules:  # also true while it is importing timm itself
        importlib.import_module(_REGISTERING_MODULE)


class _AfterTimm(importlib.abc.MetaPathFinder):
    """Finds nothing itself; wraps timm's loader so our models register as soon as timm has run."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != "timm":
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)  # one shot; also keeps the lookup below from reaching us
        spec = importlib.util.find_spec("timm")
        if spec is None or spec.loader is None:
            return spec
        execute = spec.loader.exec_module

        def exec_module(module: types.ModuleType) -> None:
            execute(module)
            _register_now()

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def register() -> None:
    """Make timm know our models: now if timm is loaded, else right after it loads (idempotent)."""
    if "timm" in sys.modules:
        _register_now()
    elif not any(isinstance(finder, _AfterTimm) for finder in sys.meta_path):
        sys.meta_path.insert(0, _AfterTimm())
