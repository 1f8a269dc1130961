"""robustbench_logits: logit-regularization defenses, packaged and evaluated honestly.

Public API (everything else is reachable through its module, see README "Public API"):
``benchmark``, ``BenchmarkResult``, ``load_dataset``, ``train``, ``create_model``,
``with_logit_head``, ``load_model``, ``list_models``.
"""

from __future__ import annotations

from robustbench_logits import compat as _compat

_compat.install()

from robustbench_logits.data import load_dataset  # noqa: E402
from robustbench_logits.evaluate import BenchmarkResult, benchmark  # noqa: E402
from robustbench_logits.models import create_model, with_logit_head  # noqa: E402
from robustbench_logits.train import train  # noqa: E402
from robustbench_logits.zoo import list_models, load_model  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "BenchmarkResult",
    "benchmark",
    "create_model",
    "list_models",
    "load_dataset",
    "load_model",
    "train",
    "with_logit_head",
]
