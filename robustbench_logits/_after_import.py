"""Run a callback right after a module first executes: a one-shot import hook.

Used where our code must act on another package's module without importing it eagerly (the
``.pth`` file runs in every Python process of the environment; ``import robustbench_logits``
must not load torch or timm): patching ``robustbench.data`` for offline CIFAR, registering our
models with timm. Standard library only.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
from collections.abc import Callable, Sequence

__all__ = ["run_after_import"]


class _AfterImport(importlib.abc.MetaPathFinder):
    """Finds nothing itself: wraps the real loader of ``name`` so ``callback`` runs once it has executed."""

    def __init__(self, name: str, callback: Callable[[types.ModuleType], None]) -> None:
        self.name, self.callback = name, callback

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != self.name:
            return None
        sys.meta_path.remove(self)  # one shot; also keeps the lookup below from reaching us
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            return spec
        execute, callback = spec.loader.exec_module, self.callback

        def exec_module(module: types.ModuleType) -> None:
            execute(module)
            callback(module)

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def run_after_import(name: str, callback: Callable[[types.ModuleType], None]) -> None:
    """``callback(module)`` now if ``name`` is loaded, else right after it first executes (idempotent per name)."""
    if name in sys.modules:
        callback(sys.modules[name])
    elif not any(isinstance(f, _AfterImport) and f.name == name for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterImport(name, callback))
