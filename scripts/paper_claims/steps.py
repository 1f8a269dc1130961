"""Where a reproduction's numbers live: budgets, the step cache (one JSON result per step), errors.

The ground floor of the package: every claim computes through ``Context.step``, which returns a
committed result when there is one and computes (and writes) it otherwise."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import matplotlib.pyplot as plt
import torch

from robustbench_logits._files import write_json
from robustbench_logits.errors import UserError
from robustbench_logits.evaluation.inputs import resolve_dataset
from robustbench_logits.zoo import get_entry

ROOT = Path(__file__).resolve().parents[2]


DEFAULT_CACHE = ROOT / "runs" / "reproduce"


RESULTS = ROOT / "reproduction" / "results"  # full mode's committed step results


ALPHA = 0.05  # level of every paired exact test


class ReproduceError(UserError):
    """Bad command-line input to the reproduction script."""


class Missing(Exception):
    """A cached step is absent and this run may not compute it (``--render-only``)."""


@dataclass(frozen=True)
class Budget:
    """What one mode spends: examples per evaluation, attack lengths, training size."""

    name: str
    n_sweep: int  # eps sweeps and cheap attacks (PGD-k, FGSM, BIM, MIM)
    n_attack: int  # expensive single attacks (APGD x5 restarts, APGD-T, PGD-1000)
    n_spsa: int
    n_strong: int  # benchmark(): AutoAttack + head-aware attacks + escalation
    long_steps: int  # Summers' PGD-1000
    spsa_iter: int
    spsa_samples: int
    apgd_restarts: int
    max_steps: int | None  # cap on every attack's steps (quick mode only)
    escalate: bool
    aa_overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    n_train: int | None = None
    val_size: int = 5000
    n_val_robust: int = 500
    n_eval: int | None = None
    epochs: int | None = None  # override of the cpu preset's epochs (None: the preset's)


# Sized for ~1/4 of one core (2 cores shared by 6 processes): n = 250 for cheap attacks, 150 for long
# ones, 100 for the protocol; trainings on the first 20000 training images (2000 held out for validation).
FULL = Budget("full", n_sweep=250, n_attack=150, n_spsa=50, n_strong=100, long_steps=1000, spsa_iter=50,
              spsa_samples=128, apgd_restarts=5, max_steps=None, escalate=True, n_train=20000, val_size=2000,
              n_val_robust=200)


QUICK = Budget("quick", n_sweep=8, n_attack=8, n_spsa=4, n_strong=8, long_steps=12, spsa_iter=3, spsa_samples=8,
               apgd_restarts=1, max_steps=3, escalate=False,
               aa_overrides={"apgd-ce": {"n_iter": 3}, "apgd-t": {"n_iter": 3, "n_target_classes": 2},
                             "fab-t": {"n_iter": 3, "n_target_classes": 2}, "square": {"n_queries": 10}},
               n_train=600, val_size=100, n_val_robust=16, n_eval=100, epochs=1)


class Context:
    """Cache, budget and bookkeeping shared by the claims of one run."""

    def __init__(self, cache: Path, results: Path, budget: Budget, compute: bool, threads: int,
                 log: Callable[[str], None], img_dir: Path | None = None) -> None:
        self.cache, self.results, self.budget, self.compute, self.threads, self.log = cache, results, budget, compute, threads, log
        self.img_dir = img_dir if img_dir is not None else cache / "img"
        self._data: dict[tuple[str, int], tuple[torch.Tensor, torch.Tensor]] = {}
        self._models: dict[str, torch.nn.Module] = {}

    def step(self, key: str, fn: Callable[[], dict[str, Any]], zoo: str | None = None) -> dict[str, Any]:
        """The cached result of ``fn`` under ``key`` (computed once, with its wall time).

        A step on the ``zoo`` model of that tag records the weights' sha256 and counts as missing
        once the zoo ships other weights under the tag (a retrained model): its numbers would
        describe a model the page no longer names.
        """
        path = self.results / f"{key}.json"
        sha = get_entry(zoo).sha256 if zoo is not None else None
        if path.is_file():
            value = json.loads(path.read_text())
            if sha is None or value.get("zoo_sha256") == sha:
                return value
            if not self.compute:
                raise Missing(f"step {key} was computed on other weights of zoo model {zoo}")
        if not self.compute:
            raise Missing(f"step {key} has not run")
        self.log(f"  step {key} ...")
        start = time.perf_counter()
        value = fn()
        value["wall_time_s"] = round(time.perf_counter() - start, 1)
        if sha is not None:
            value["zoo_sha256"] = sha
        write_json(path, value)
        self.log(f"  step {key}: {value['wall_time_s']} s")
        return value

    def data(self, dataset: str, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The first ``n`` test examples (the evaluation's own loader)."""
        if (dataset, n) not in self._data:
            _, x, y, _ = resolve_dataset(dataset, n, None)
            self._data[(dataset, n)] = (x, y)
        return self._data[(dataset, n)]

    def steps(self, steps: int) -> int:
        cap = self.budget.max_steps
        return steps if cap is None else min(steps, cap)

    def save_figure(self, figure: Any, name: str) -> None:
        path = self.img_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.tight_layout()
        figure.savefig(path, dpi=110)
        plt.close(figure)


def shown_path(path: Path) -> str:
    """A path as the page shows it: relative to the repository when inside it (the page must not name a machine)."""
    try:
        return path.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return str(path)
