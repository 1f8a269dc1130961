"""Import hooks that make ``import autoattack`` and ``import robustbench`` work in our environment.

Run at interpreter start by ``robustbench_logits_hooks.pth`` (installed into site-packages by our
wheel and editable install, see ``setup.py``), and again, idempotently, by ``import
robustbench_logits``. So robustbench works whether or not our package was imported first.

Standard library only and nothing imported eagerly: this runs in every Python process of the
environment, so it costs microseconds; torch, pyautoattack and robustbench load only when the
user imports ``autoattack`` or ``robustbench.data``.

Two finders:

* ``autoattack`` (and ``autoattack.state``) is answered by a finder *appended* to
  ``sys.meta_path``: it is asked only after every normal finder found nothing, so a real
  AutoAttack installed from GitHub (the package robustbench was written for) always wins; ours is
  a fallback that delegates to PyPI's ``pyautoattack`` (see :mod:`robustbench_logits.compat`).
* ``robustbench.data`` is patched right after it first executes (CIFAR loaders read a local
  ``cifar-10-batches-py`` dir offline), by :func:`robustbench_logits._after_import.run_after_import`.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
from collections.abc import Sequence

from robustbench_logits._after_import import run_after_import

__all__ = ["register"]

SHIM_NAMES = ("autoattack", "autoattack.state")


class _AutoAttackShimLoader(importlib.abc.Loader):
    """Builds ``autoattack`` from :mod:`robustbench_logits.compat` on first import."""

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
        if spec.name == "autoattack.state":
            # The very module, so EvaluationState is pyautoattack's own class.
            return importlib.import_module("pyautoattack.state")
        return None  # default module creation

    def exec_module(self, module: types.ModuleType) -> None:
        if module.__name__ != "autoattack":
            return
        from robustbench_logits import compat

        compat.fill_autoattack_module(module)


class _AutoAttackFallback(importlib.abc.MetaPathFinder):
    """Answers ``autoattack`` only when no finder before it (a real install) did."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in SHIM_NAMES or importlib.util.find_spec("pyautoattack") is None:
            return None
        return importlib.machinery.ModuleSpec(
            fullname, _AutoAttackShimLoader(), is_package=fullname == "autoattack", origin="robustbench_logits.compat"
        )


def _patch_robustbench_data(module: types.ModuleType) -> None:
    # imported here, not at the top: this module runs from the .pth file in every process (stdlib only)
    importlib.import_module("robustbench_logits.compat").patch_robustbench_data(module)


def register() -> None:
    """Add the AutoAttack fallback and the ``robustbench.data`` patch once per process (idempotent)."""
    if not any(isinstance(finder, _AutoAttackFallback) for finder in sys.meta_path):
        sys.meta_path.append(_AutoAttackFallback())
    run_after_import("robustbench.data", _patch_robustbench_data)
