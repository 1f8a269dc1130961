"""robustbench_logits: logit-regularization defenses, packaged and evaluated honestly."""

from __future__ import annotations

__version__ = "0.1.0"

from robustbench_logits import compat as _compat

_compat.install()
