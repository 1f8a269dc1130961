"""The one evaluation path: clean accuracy, AutoAttack, the attack suite, adaptive attacks,
the per-example cascade, gradient-masking diagnostics, sharding, and eps sweeps.

:func:`benchmark` splits the first ``n_examples`` test examples into fixed chunks of
``batch_size``; each chunk runs the whole cascade (every attack only on the examples of the chunk
still robust) with seeds derived from (seed, attack position, chunk index). Results therefore do
not depend on how chunks are spread over processes, and ``torchrun --nproc_per_node=N`` gives
the same numbers as one process: each rank takes chunks ``rank, rank + N, ...`` and the per-example
outcomes are gathered (as JSON bytes in tensors; nothing is pickled).

Cascade order (a category only sees the examples the earlier ones left robust)::

    clean -> AutoAttack standard (APGD-CE, APGD-T, FAB-T, Square) -> white-box suite
          -> long PGD (more steps/restarts) -> single-step -> black-box -> transfer -> user

Adaptive attacks (models with a bounded logit head) run as a second cascade on every
clean-correct example, so ``adaptive_acc`` stands alone; ``worst_case_acc`` is the per-example
worst case over both cascades. Each diagnostic is "a later, weaker-in-principle category still
broke more than ``margin`` of the examples", which is per-example evidence, not a comparison of
two noisy averages.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import math
import os
import re
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

import torch
import torch.nn as nn
from torchattacks.attack import Attack

from robustbench_logits._files import load_weights, package_versions, sha256_file, write_json
from robustbench_logits.attacks import (
    CATEGORIES,
    AttackSpec,
    adaptive_attacks,
    attack_parameters,
    has_logit_head,
    project_to_threat_model,
)
from robustbench_logits.errors import ModelError, UserError

__all__ = [
    "AUTOATTACK_STANDARD",
    "BenchmarkResult",
    "DiagnosticThresholds",
    "EpsSweep",
    "EvaluationSuite",
    "benchmark",
    "eps_sweep",
    "load_model_for_eval",
    "state_dict_sha256",
]

#: AutoAttack version="standard" for Linf/L2, in pyautoattack's order (Croce & Hein 2020).
AUTOATTACK_STANDARD = ("apgd-ce", "apgd-t", "fab-t", "square")
#: Target classes of APGD-T and FAB-T in version="standard" (L-inf and L2).
_AUTOATTACK_TARGET_CLASSES = 9

#: eps RobustBench and the papers use when none is given.
DEFAULT_EPS = {
    ("mnist", "Linf"): 0.3, ("fashion_mnist", "Linf"): 0.1, ("cifar10", "Linf"): 8 / 255,
    ("cifar100", "Linf"): 8 / 255, ("cifar10", "L2"): 0.5, ("cifar100", "L2"): 0.5,
    ("mnist", "L2"): 2.0, ("fashion_mnist", "L2"): 1.5,
}



# --- suites ------------------------------------------------------------------------------------------


@dataclass
class DiagnosticThresholds:
    """When a diagnostic fires. Shares are fractions of the ``n_examples`` evaluated.

    ``margin``: a later category (single-step, black-box, transfer, more PGD steps/restarts,
    adaptive) may break at most this share of examples the earlier ones left robust.
    ``zero_grad_share``: examples whose input gradient of the CE loss is exactly zero
    (AutoAttack's own check warns at any). ``large_eps`` / ``large_eps_max_acc``: PGD at this eps
    (1.0 L-inf: any image reachable) must bring accuracy to at most this share.
    """

    margin: float = 0.02
    zero_grad_share: float = 0.01
    large_eps: float | None = None  # None: 1.0 for L-inf, the [0,1]-cube diameter for L2
    large_eps_max_acc: float = 0.05
    large_eps_steps: int = 40


@dataclass
class EvaluationSuite:
    """What :func:`benchmark` runs: AutoAttack or not, the attack specs, adaptive attacks, thresholds."""

    name: str
    attacks: list[AttackSpec] = field(default_factory=list)
    autoattack: bool = True
    adaptive: bool = True
    adaptive_steps: int = 40
    thresholds: DiagnosticThresholds = field(default_factory=DiagnosticThresholds)

    @classmethod
    def standard(cls) -> "EvaluationSuite":
        """RobustBench's protocol: AutoAttack standard; adaptive attacks and probes when they apply."""
        return cls("standard")

    @classmethod
    def full(cls, threat_model: str = "Linf", num_classes: int = 10) -> "EvaluationSuite":
        """AutoAttack plus the torchattacks suite at CPU-friendly settings (papers' ones: attacks.PRESETS)."""
        if threat_model == "Linf":
            attacks = [
                AttackSpec("pgd-40", "pgd", {"steps": 40}),
                AttackSpec("mim-40", "mim", {"steps": 40}),
                AttackSpec("cw50-pgd-40", "cw_margin_pgd", {"steps": 40, "kappa": 50.0}),
                AttackSpec("pgd-200x2", "pgd", {"steps": 200, "restarts": 2}, category="long"),
                AttackSpec("fgsm", "fgsm"),
                AttackSpec("spsa", "spsa", {"nb_iter": 20, "nb_sample": 128}),
            ]
        else:
            attacks = [
                AttackSpec("pgd-40", "pgd", {"steps": 40}),
                AttackSpec("cw-l2", "cw_l2", {"steps": 100}),
                AttackSpec("pgd-200x2", "pgd", {"steps": 200, "restarts": 2}, category="long"),
                AttackSpec("fgm", "pgd", {"steps": 1, "random_start": False}, category="single_step"),
            ]
        attacks.append(AttackSpec("apgd-t", "apgd_t", {"steps": 100, "n_classes": num_classes}))
        return cls("full", attacks)

    def add(self, attack: Attack | AttackSpec, name: str | None = None) -> "EvaluationSuite":
        """Append an attack (any ``torchattacks.Attack`` instance, or a spec); returns self."""
        spec = attack if isinstance(attack, AttackSpec) else AttackSpec.from_instance(attack, name)
        if any(s.name == spec.name for s in self.attacks):
            raise UserError(f"the suite already has an attack named {spec.name!r}; pass another name")
        self.attacks.append(spec)
        return self

    def ordered(self) -> list[AttackSpec]:
        """The suite's attacks in cascade order (by category, then as given)."""
        return sorted(self.attacks, key=lambda s: CATEGORIES.index(s.category))


# --- the result ----------------------------------------------------------------------------------------


@dataclass
class BenchmarkResult:
    """Accuracies (fractions in [0, 1]), flags with evidence, and the provenance of every number."""

    model_name: str
    dataset: str
    threat_model: str
    eps: float
    n_examples: int
    suite: str
    clean_acc: float
    autoattack_acc: float | None
    worst_case_acc: float
    adaptive_acc: float | None
    per_attack: dict[str, float]
    flags: dict[str, str]
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def unreliable(self) -> bool:
        """True when any gradient-masking flag fired: the robust accuracies are upper bounds at best."""
        return bool(self.flags)

    @property
    def footnote(self) -> str:
        """One line listing the flags, for tables and model cards ('' when none fired)."""
        if not self.flags:
            return ""
        return "Unreliable evaluation (gradient masking suspected): " + "; ".join(
            f"{name}: {evidence}" for name, evidence in self.flags.items())

    def to_dict(self) -> dict[str, Any]:
        """Every number and its provenance, JSON-ready."""
        return {
            "model_name": self.model_name, "dataset": self.dataset, "threat_model": self.threat_model,
            "eps": self.eps, "n_examples": self.n_examples, "suite": self.suite, "clean_acc": self.clean_acc,
            "autoattack_acc": self.autoattack_acc, "worst_case_acc": self.worst_case_acc,
            "adaptive_acc": self.adaptive_acc, "per_attack": self.per_attack, "flags": self.flags,
            "unreliable": self.unreliable, "footnote": self.footnote, "provenance": self.provenance,
        }

    def to_json(self, path: str | os.PathLike | None = None) -> str:
        """The result as JSON text; also written to ``path`` when given."""
        text = json.dumps(self.to_dict(), indent=2)
        if path is not None:
            write_json(path, self.to_dict())
        return text

    def table(self) -> list[tuple[str, str]]:
        """(row, value) pairs of the short summary table the CLI prints."""
        rows = [("clean", f"{self.clean_acc:.2%}")]
        rows += [(name, f"{acc:.2%}") for name, acc in self.per_attack.items()]
        if self.autoattack_acc is not None:
            rows.append(("AutoAttack (standard)", f"{self.autoattack_acc:.2%}"))
        if self.adaptive_acc is not None:
            rows.append(("adaptive", f"{self.adaptive_acc:.2%}"))
        rows.append(("worst case", f"{self.worst_case_acc:.2%}" + (" *" if self.unreliable else "")))
        return rows


# --- input checks ------------------------------------------------------------------------------------


def _check_inputs(model: nn.Module, x: torch.Tensor, y: torch.Tensor, num_classes: int | None, device: torch.device) -> None:
    """Reject inputs and models that would make the numbers meaningless (issue item 10)."""
    if not torch.is_floating_point(x) or x.dim() != 4:
        raise UserError(f"inputs must be float NCHW images, got {x.dtype} of shape {tuple(x.shape)}")
    if not torch.isfinite(x).all():  # NaN fails every comparison, so the range check alone lets it through
        raise UserError("inputs contain NaN or infinite values: clean the dataset before evaluating")
    if x.numel() and (x.min() < 0 or x.max() > 1):
        raise UserError(f"inputs span [{x.min():.3g}, {x.max():.3g}], not [0, 1]: put normalisation inside the model")
    if y.dtype != torch.int64 or y.shape != (x.shape[0],):
        raise UserError(f"labels must be int64 of shape ({x.shape[0]},), got {y.dtype} {tuple(y.shape)}")
    if y.numel() and (y.min() < 0 or (num_classes is not None and y.max() >= num_classes)):
        raise UserError(f"labels span [{int(y.min())}, {int(y.max())}], outside the dataset's classes: "
                        "use class indices 0..C-1")
    probe = x[:32].to(device)
    try:
        with torch.no_grad():
            first, second = model(probe), model(probe)
    except RuntimeError as error:
        raise ModelError(f"the model fails on inputs of shape {tuple(probe.shape[1:])} ({str(error).splitlines()[0]}): "
                         "build it for this dataset") from None
    if first.dim() != 2 or first.shape[0] != probe.shape[0]:
        raise ModelError(f"the model must return logits of shape (N, C), got {tuple(first.shape)}")
    expected = num_classes if num_classes is not None else int(y.max()) + 1
    if (num_classes is not None and first.shape[1] != num_classes) or first.shape[1] < expected:
        raise ModelError(f"the model outputs {first.shape[1]} classes but the dataset has {expected}: "
                         "build it with num_classes matching the dataset")
    if not torch.isfinite(first).all():
        raise ModelError("the model returns NaN or infinite logits: fix the model or its weights before evaluating")
    if first.min() >= 0 and first.max() <= 1 and torch.allclose(first.sum(1), torch.ones_like(first[:, 0]), atol=1e-4):
        raise ModelError("the model's outputs look like probabilities (rows in [0,1] summing to 1): "
                         "return logits (drop the softmax), attacks on probabilities are weaker")
    scale = first.abs().max().clamp_min(1e-12)
    if ((first - second).abs().max() / scale) > 1e-5:
        raise ModelError("the model's forward pass is randomised (two passes on the same batch differ): "
                         "make it deterministic in eval mode; randomised defenses need EOT, which this benchmark does not run")


def state_dict_sha256(model: nn.Module) -> str:
    """sha256 over the state dict (sorted names, dtype, shape, bytes): the weights' identity in memory."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        tensor = tensor.detach().cpu().contiguous()
        digest.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        # reshape(-1): a 0-dim tensor (BatchNorm's num_batches_tracked) cannot be viewed as bytes
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
    return digest.hexdigest()


# --- one chunk: the cascade ----------------------------------------------------------------------------


#: The seed position of the large-eps probe (after any realistic number of attacks).
_LARGE_EPS_POSITION = 10_000


_SEED_RULE = ("attack k on chunk c: torch.manual_seed((seed*1000003 + k*7919 + c) mod 2^31), also given as `seed` "
              "to torchattacks attacks that reseed themselves (APGD, APGD-T, Square); large-eps probe: k = 10000; "
              "AutoAttack: seed")


def _derive_seed(seed: int, position: int, chunk: int) -> int:
    """Seed of attack ``position`` on chunk ``chunk``: independent of how chunks map to ranks."""
    return (seed * 1_000_003 + position * 7_919 + chunk) % (2 ** 31)


@torch.no_grad()
def _predict(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return model(x).argmax(dim=1)


class _WarningCollector(logging.Handler):
    """Collects the warnings pyautoattack logs (randomised/dynamic defense, zero gradients, Square)."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message not in self.messages:
            self.messages.append(message)


@dataclass
class _Entry:
    """One step of the cascade: a name, its category, and how to run it on (x, y)."""

    name: str
    category: str  # for the diagnostics: AutoAttack's Square counts as black-box
    spec: AttackSpec | None  # None: an AutoAttack component


@dataclass
class _Context:
    model: nn.Module
    eps: float
    norm: str
    seed: int
    device: torch.device
    suite: EvaluationSuite
    cascade: list[_Entry]
    adaptive: list[_Entry]


def _run_entry(ctx: _Context, entry: _Entry, position: int, chunk: int, x: torch.Tensor, y: torch.Tensor,
               autoattack: Any) -> torch.Tensor:
    """Adversarial examples for (x, y), projected onto the threat model."""
    torch.manual_seed(_derive_seed(ctx.seed, position, chunk))
    if entry.spec is None:
        autoattack.attacks_to_run = [entry.name.split("/", 1)[1]]  # one at a time: per-attack outcomes
        x_adv, _ = autoattack.run_standard_evaluation(x, y, batch_size=max(1, x.shape[0]))
    else:
        attack = entry.spec.build(ctx.model, ctx.eps, ctx.norm, seed=_derive_seed(ctx.seed, position, chunk))
        x_adv = attack(x, y)
        ctx.model.eval()  # torchattacks restores the caller's mode; keep ours fixed
    return project_to_threat_model(x_adv.to(x.device).detach(), x, ctx.eps, ctx.norm)


def _cascade(ctx: _Context, entries: list[_Entry], offset: int, chunk: int, x: torch.Tensor, y: torch.Tensor,
             start_robust: torch.Tensor, autoattack: Any, times: dict[str, float],
             x_worst: torch.Tensor, tick: Any) -> list[int]:
    """Run ``entries`` in order, each on the examples still robust; per example the index of the
    entry that broke it, or -1. ``x_worst`` receives the breaking examples."""
    broken_by = [-1] * x.shape[0]
    robust = start_robust.clone()
    for position, entry in enumerate(entries):
        started = time.perf_counter()
        index = robust.nonzero().flatten()
        if index.numel():
            x_adv = _run_entry(ctx, entry, offset + position, chunk, x[index], y[index], autoattack)
            fooled = _predict(ctx.model, x_adv) != y[index]
            for i in index[fooled].tolist():
                broken_by[i] = position
            robust[index[fooled]] = False
            x_worst[index[fooled]] = x_adv[fooled]
        times[entry.name] = times.get(entry.name, 0.0) + time.perf_counter() - started
        tick()
    return broken_by


def _zero_gradient(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> list[bool]:
    """Per example: is the input gradient of the CE loss exactly zero (as AutoAttack checks)?"""
    x = x.clone().requires_grad_(True)
    loss = nn.functional.cross_entropy(model(x), y, reduction="sum")
    grad = torch.autograd.grad(loss, x)[0]
    return (grad.flatten(1).abs().sum(1) == 0).tolist()


def _large_eps(thresholds: DiagnosticThresholds, norm: str, input_size: int) -> float:
    """The probe's eps: given, else 1.0 L-inf / sqrt(d) L2 (the [0,1]^d cube's radius from any corner)."""
    if thresholds.large_eps is not None:
        return thresholds.large_eps
    return 1.0 if norm == "Linf" else math.sqrt(input_size)


def _large_eps_correct(ctx: _Context, chunk: int, x: torch.Tensor, y: torch.Tensor, correct: torch.Tensor) -> list[bool]:
    """Per example: still correct under PGD at the probe's large eps (only clean-correct ones attacked)."""
    th = ctx.suite.thresholds
    eps = _large_eps(th, ctx.norm, x[0].numel())
    result = correct.clone()
    index = correct.nonzero().flatten()
    if index.numel():
        torch.manual_seed(_derive_seed(ctx.seed, _LARGE_EPS_POSITION, chunk))
        spec = AttackSpec("large-eps-pgd", "pgd", {"steps": th.large_eps_steps})
        x_adv = spec.build(ctx.model, eps, ctx.norm)(x[index], y[index])
        ctx.model.eval()
        result[index] = _predict(ctx.model, project_to_threat_model(x_adv, x[index], eps, ctx.norm)) == y[index]
    return result.tolist()


def _evaluate_chunk(ctx: _Context, chunk: int, x: torch.Tensor, y: torch.Tensor, tick: Any) -> dict[str, Any]:
    """Everything one chunk contributes, as JSON-ready lists indexed like the chunk."""
    x, y = x.to(ctx.device), y.to(ctx.device)
    times: dict[str, float] = {}
    collector = _WarningCollector()
    aa_logger = logging.getLogger("auto-attack")
    aa_level = aa_logger.level
    aa_logger.setLevel(logging.WARNING)  # a quieter root logger must not drop AutoAttack's warnings
    aa_logger.addHandler(collector)
    try:
        autoattack = None
        if ctx.suite.autoattack:
            from pyautoattack import AutoAttack, checks

            # pyautoattack's dynamic-defense check counts traced calls in a module-level dict that it
            # never resets: one dynamic model would make it warn about every later model in the process.
            checks.funcs.update(dict.fromkeys(checks.funcs, 0))
            autoattack = AutoAttack(ctx.model, eps=ctx.eps, norm=ctx.norm, version="standard",
                                    device=str(ctx.device), seed=ctx.seed)
        started = time.perf_counter()
        correct = _predict(ctx.model, x) == y
        times["clean"] = time.perf_counter() - started
        x_worst = x.clone()
        broken_by = _cascade(ctx, ctx.cascade, 0, chunk, x, y, correct, autoattack, times, x_worst, tick)
        x_worst_adaptive = x.clone()
        adaptive_broken_by = _cascade(ctx, ctx.adaptive, len(ctx.cascade), chunk, x, y, correct, autoattack,
                                      times, x_worst_adaptive, tick)
        started = time.perf_counter()
        zero_grad = _zero_gradient(ctx.model, x, y)
        large_eps = _large_eps_correct(ctx, chunk, x, y, correct)
        # Re-score every example's worst case with a fresh forward pass: a successful attack must
        # stay successful, a robust example must stay correct (catches stateful/nondeterministic models).
        rescored = _predict(ctx.model, x_worst) == y
        rescored_adaptive = _predict(ctx.model, x_worst_adaptive) == y
        expected = correct & torch.tensor([b == -1 for b in broken_by], device=x.device)
        expected_adaptive = correct & torch.tensor([b == -1 for b in adaptive_broken_by], device=x.device)
        mismatch = int((rescored != expected).sum() + ((rescored_adaptive != expected_adaptive) & correct).sum())
        times["probes"] = time.perf_counter() - started
        tick()
    finally:
        aa_logger.removeHandler(collector)
        aa_logger.setLevel(aa_level)
    return {
        "chunk": chunk, "correct": correct.tolist(), "broken_by": broken_by, "adaptive_broken_by": adaptive_broken_by,
        "zero_grad": zero_grad, "large_eps_correct": large_eps, "rescore_mismatch": mismatch,
        "times": times, "autoattack_warnings": collector.messages,
        "autoattack_parameters": _autoattack_parameters(autoattack) if autoattack is not None else {},
    }


def _autoattack_parameters(autoattack: Any) -> dict[str, dict[str, Any]]:
    """attack -> the settings pyautoattack ran it with, read back from its objects (not assumed)."""
    apgd, apgd_t, fab, square = autoattack.apgd, autoattack.apgd_targeted, autoattack.fab, autoattack.square
    common = {"version": autoattack.version, "norm": autoattack.norm, "seed": autoattack.seed}
    return {
        "apgd-ce": {**common, "loss": "ce", "n_iter": apgd.n_iter, "n_restarts": apgd.n_restarts,
                    "rho": apgd.thr_decr, "eot_iter": apgd.eot_iter},
        "apgd-t": {**common, "loss": "dlr-targeted", "n_iter": apgd_t.n_iter, "n_restarts": apgd_t.n_restarts,
                   "n_target_classes": apgd_t.n_target_classes, "rho": apgd_t.thr_decr, "eot_iter": apgd_t.eot_iter},
        "fab-t": {**common, "targeted": True, "n_iter": fab.n_iter, "n_restarts": fab.n_restarts,
                  "n_target_classes": fab.n_target_classes, "alpha_max": fab.alpha_max, "eta": fab.eta, "beta": fab.beta},
        "square": {**common, "n_queries": square.n_queries, "n_restarts": square.n_restarts, "p_init": square.p_init,
                   "loss": square.loss, "resc_schedule": square.rescale_schedule},
    }


# --- sharding -------------------------------------------------------------------------------------------


def _distributed() -> tuple[int, int]:
    """(rank, world size); joins the torchrun process group (gloo) when launched by torchrun."""
    import torch.distributed as dist

    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("gloo")
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _all_gather_json(payload: Any, world: int) -> list[Any]:
    """Gather one JSON value per rank, as UTF-8 bytes in uint8 tensors (no pickle)."""
    if world == 1:
        return [payload]
    import torch.distributed as dist

    data = torch.tensor(list(json.dumps(payload).encode()), dtype=torch.uint8)
    sizes = [torch.zeros(1, dtype=torch.int64) for _ in range(world)]
    dist.all_gather(sizes, torch.tensor([data.numel()], dtype=torch.int64))
    longest = int(max(s.item() for s in sizes))
    padded = torch.zeros(longest, dtype=torch.uint8)
    padded[: data.numel()] = data
    gathered = [torch.zeros(longest, dtype=torch.uint8) for _ in range(world)]
    dist.all_gather(gathered, padded)
    return [json.loads(bytes(g[: int(s.item())].tolist()).decode()) for g, s in zip(gathered, sizes)]


# --- diagnostics ------------------------------------------------------------------------------------------


def _share(count: int, n: int) -> str:
    return f"{count}/{n} examples ({count / n:.1%})"


def _diagnose(suite: EvaluationSuite, cascade: list[_Entry], adaptive: list[_Entry], merged: dict[str, Any],
              n: int, per_attack: dict[str, float], clean_acc: float, large_eps: float) -> dict[str, str]:
    """name -> evidence for every masking diagnostic that fired (issue item 6)."""
    th = suite.thresholds
    flags: dict[str, str] = {}
    newly = [sum(1 for b in merged["broken_by"] if b == k) for k in range(len(cascade))]

    def later_category_check(flag: str, categories: set[str], earlier: set[str], what: str) -> None:
        # In the cascade an attack only sees what the attacks before it left robust, so the evidence
        # names, for each later attack that broke something, exactly the earlier ones it ran after.
        before: list[str] = []
        broke, evidence = 0, []
        for entry, count in zip(cascade, newly):
            if entry.category in earlier:
                before.append(entry.name)
            elif entry.category in categories and before and count:
                broke += count
                evidence.append(f"{entry.name} broke {count} left robust by {', '.join(before)}")
        if broke / n > th.margin:
            flags[flag] = f"{_share(broke, n)}: {'; '.join(evidence)} ({what})"

    iterative = {"white_box"}
    later_category_check("single_step_beats_iterative", {"single_step"}, iterative,
                         "a single step should never beat iterative attacks")
    later_category_check("black_box_beats_white_box", {"black_box", "transfer"}, iterative | {"long", "single_step"},
                         "gradient-free or transferred examples should not beat the model's own gradients")
    later_category_check("more_iterations_still_lowering", {"long"}, iterative,
                         "accuracy has not converged in the number of steps/restarts")
    zero = sum(merged["zero_grad"])
    if zero / n > th.zero_grad_share:
        flags["zero_gradients"] = f"the CE loss has an exactly zero input gradient on {_share(zero, n)}"
    large_acc = sum(merged["large_eps_correct"]) / n
    if large_acc > th.large_eps_max_acc:
        flags["large_eps_not_broken"] = (f"accuracy {large_acc:.1%} under PGD-{th.large_eps_steps} at eps={large_eps:g} "
                                         f"(should be near 0: every image is reachable)")
    if adaptive:
        gained = sum(1 for c, b, a in zip(merged["correct"], merged["broken_by"], merged["adaptive_broken_by"])
                     if c and b == -1 and a >= 0)
        if gained / n > th.margin:
            names = ", ".join(e.name for e in adaptive)
            flags["adaptive_attack_stronger"] = (f"adaptive attacks ({names}) broke {_share(gained, n)} that every "
                                                 f"non-adaptive attack left robust")
    above = {name: acc for name, acc in per_attack.items() if acc > clean_acc + 1e-12}
    if merged["rescore_mismatch"] or above:
        flags["robust_above_clean"] = (f"re-scoring disagreed with the attacks on {merged['rescore_mismatch']} examples"
                                       + (f"; above clean: {above}" if above else ""))
    if merged["autoattack_warnings"]:
        flags["autoattack_warnings"] = _summarise_warnings(merged["autoattack_warnings"])
    return flags


def _summarise_warnings(messages: Sequence[str]) -> str:
    """AutoAttack repeats a warning per attack and restart with other counts ("there are 247
    points with zero gradient!"): keep the first of each kind, say how many more. The full list
    stays in the provenance (``autoattack_warnings``)."""
    kinds: dict[str, list[str]] = {}
    for message in messages:
        kinds.setdefault(re.sub(r"\d+(\.\d+)?", "#", message), []).append(message)
    return " | ".join(
        group[0] + (f" (and {len(group) - 1} more like it)" if len(group) > 1 else "") for group in kinds.values()
    )


# --- the public entry point --------------------------------------------------------------------------------


def _resolve_dataset(dataset: str | tuple[torch.Tensor, torch.Tensor], n_examples: int | None,
                     data_dir: str | os.PathLike | None) -> tuple[str, torch.Tensor, torch.Tensor, int | None]:
    if isinstance(dataset, str):
        from robustbench_logits.data import DATASETS, load_dataset

        x, y = load_dataset(dataset, split="test", n_examples=n_examples, data_dir=data_dir)
        return dataset, x, y, DATASETS[dataset].num_classes
    if isinstance(dataset, (tuple, list)) and len(dataset) == 2 and all(isinstance(t, torch.Tensor) for t in dataset):
        x, y = dataset
        if x.shape[0] == 0:
            raise UserError("the dataset has no examples: pass a non-empty (x, y)")
        return "custom", x[:n_examples], y[:n_examples], None
    raise UserError("dataset must be a dataset name (e.g. 'mnist') or a tuple (x, y) of tensors")


def _resolve_surrogate(surrogate: nn.Module | str | None, device: torch.device) -> tuple[nn.Module | None, str | None]:
    if surrogate is None or isinstance(surrogate, nn.Module):
        return (surrogate.to(device).eval() if surrogate is not None else None), (
            type(surrogate).__name__ if surrogate is not None else None)
    try:
        from robustbench_logits.zoo import load_model
    except ImportError:
        raise UserError(f"surrogate {surrogate!r}: zoo names need robustbench_logits.zoo; pass an nn.Module") from None
    return load_model(surrogate).to(device).eval(), surrogate


def _resolve_suite(suite: str | EvaluationSuite, threat_model: str, num_classes: int) -> EvaluationSuite:
    if isinstance(suite, EvaluationSuite):
        return dataclasses.replace(suite, attacks=list(suite.attacks))  # extra_attacks must not edit the caller's
    if suite == "standard":
        return EvaluationSuite.standard()
    if suite == "full":
        return EvaluationSuite.full(threat_model, num_classes)
    raise UserError(f"unknown suite {suite!r}: use 'standard', 'full' or an EvaluationSuite")


def _build_cascade(suite: EvaluationSuite, surrogate: nn.Module | None, surrogate_name: str | None) -> list[_Entry]:
    entries = [_Entry(f"autoattack/{name}", "black_box" if name == "square" else "white_box", None)
               for name in (AUTOATTACK_STANDARD if suite.autoattack else ())]
    specs = suite.ordered()
    if surrogate is not None:
        specs += [AttackSpec(f"transfer/{kind}-40", kind, {"steps": 40}, surrogate=surrogate, surrogate_name=surrogate_name)
                  for kind in ("pgd", "mim")]
    return entries + [_Entry(spec.name, spec.category, spec) for spec in specs]


def benchmark(
    model: nn.Module,
    dataset: str | tuple[torch.Tensor, torch.Tensor] = "mnist",
    threat_model: str = "Linf",
    eps: float | None = None,
    n_examples: int = 1000,
    suite: str | EvaluationSuite = "standard",
    surrogate: nn.Module | str | None = None,
    device: str | torch.device | None = None,
    *,
    batch_size: int = 250,
    seed: int = 0,
    data_dir: str | os.PathLike | None = None,
    model_name: str | None = None,
    weights_sha256: str | None = None,
    extra_attacks: Sequence[Attack] = (),
    progress: bool = True,
) -> BenchmarkResult:
    """Evaluate ``model`` on the first ``n_examples`` test examples; see the module docstring.

    ``suite="standard"`` is RobustBench's protocol (clean + AutoAttack standard through
    pyautoattack, Croce & Hein 2020); ``"full"`` adds the torchattacks suite; ``surrogate``
    adds transfer attacks; ``extra_attacks`` appends any torchattacks instances. Adaptive
    attacks run whenever the model carries a bounded head. Under torchrun the examples are
    sharded and every rank returns the same gathered result.
    """
    if threat_model not in ("Linf", "L2"):
        raise UserError(f"unknown threat model {threat_model!r}: use 'Linf' or 'L2'")
    if n_examples is not None and n_examples <= 0:
        raise UserError(f"n_examples must be positive, got {n_examples}")
    if batch_size <= 0:
        raise UserError(f"batch_size must be positive, got {batch_size}")
    wall_start = time.perf_counter()
    device = torch.device(device) if device is not None else next(model.parameters(), torch.empty(0)).device
    name, x, y, num_classes = _resolve_dataset(dataset, n_examples, data_dir)
    if eps is None:
        if (name, threat_model) not in DEFAULT_EPS:
            raise UserError(f"no default eps for {name} {threat_model}: pass eps=")
        eps = DEFAULT_EPS[(name, threat_model)]
    if not math.isfinite(eps) or eps <= 0:
        raise UserError(f"eps must be a positive number, got {eps}")
    if any(module.training for module in model.modules()):
        warnings.warn("the model was in train mode; evaluating it in eval mode (call model.eval() first)", stacklevel=2)
    model = model.to(device)
    with _eval_mode(model, surrogate if isinstance(surrogate, nn.Module) else None):
        _check_inputs(model, x, y, num_classes, device)
        num_classes = num_classes or int(model(x[:1].to(device)).shape[1])
        suite = _resolve_suite(suite, threat_model, num_classes)
        if suite.autoattack and num_classes < _AUTOATTACK_TARGET_CLASSES + 1:
            # pyautoattack would fail with an IndexError deep inside APGD-T; fewer targets is not "standard"
            raise UserError(f"AutoAttack standard attacks {_AUTOATTACK_TARGET_CLASSES} target classes, so it needs at least "
                            f"{_AUTOATTACK_TARGET_CLASSES + 1} classes and this model has {num_classes}: "
                            "pass an EvaluationSuite with autoattack=False")
        for attack in extra_attacks:
            suite.add(attack)
        surrogate_module, surrogate_name = _resolve_surrogate(surrogate, device)
        cascade = _build_cascade(suite, surrogate_module, surrogate_name)
        adaptive = ([_Entry(s.name, "adaptive", s) for s in adaptive_attacks(model, steps=suite.adaptive_steps)]
                    if suite.adaptive else [])
        _check_unique_names(cascade + adaptive)
        ctx = _Context(model, eps, threat_model, seed, device, suite, cascade, adaptive)
        rank, world = _distributed()
        chunks = list(range(0, x.shape[0], batch_size))
        mine = [c for i, c in enumerate(chunks) if i % world == rank]
        from tqdm.auto import tqdm

        bar = tqdm(total=len(mine) * (len(cascade) + len(adaptive) + 1), desc=f"eval {name}",
                   disable=not progress or rank != 0, leave=False)
        outputs = [_evaluate_chunk(ctx, start // batch_size, x[start:start + batch_size], y[start:start + batch_size],
                                   lambda: bar.update(1))
                   for start in mine]
        bar.close()
        gathered = sorted((o for rank_outputs in _all_gather_json(outputs, world) for o in rank_outputs),
                          key=lambda o: o["chunk"])
        merged: dict[str, Any] = {key: [v for o in gathered for v in o[key]]
                                  for key in ("correct", "broken_by", "adaptive_broken_by", "zero_grad", "large_eps_correct")}
        merged["rescore_mismatch"] = sum(o["rescore_mismatch"] for o in gathered)
        merged["autoattack_warnings"] = list(dict.fromkeys(w for o in gathered for w in o["autoattack_warnings"]))
        merged["autoattack_parameters"] = gathered[0]["autoattack_parameters"]
        times: dict[str, float] = {}
        for o in gathered:
            for key, value in o["times"].items():
                times[key] = times.get(key, 0.0) + value
        # inside eval mode: reading the attacks' resolved parameters builds them on model views
        return _assemble(model, name, threat_model, eps, suite, cascade, adaptive, merged, times, seed, world,
                         batch_size, x[0].numel(), model_name, weights_sha256, time.perf_counter() - wall_start)


@contextlib.contextmanager
def _eval_mode(*modules: nn.Module | None) -> Iterator[None]:
    """Modules in eval mode inside the block; afterwards every submodule gets back its own mode.

    Not ``model.train()``: that would also switch parts the caller had frozen in eval mode
    (e.g. BatchNorm during fine-tuning), and miss a train-mode submodule under an eval-mode parent.
    """
    saved = [(sub, sub.training) for module in modules if module is not None for sub in module.modules()]
    try:
        for module in modules:
            if module is not None:
                module.eval()
        yield
    finally:
        for sub, training in saved:
            sub.training = training


def _check_unique_names(entries: list[_Entry]) -> None:
    """Attack names key ``per_attack`` and the wall times: two attacks with one name would merge."""
    names = [entry.name for entry in entries]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise UserError(f"attack names must be unique, {', '.join(repeated)} repeats: rename one")


def _assemble(model: nn.Module, dataset: str, threat_model: str, eps: float, suite: EvaluationSuite,
              cascade: list[_Entry], adaptive: list[_Entry], merged: dict[str, Any], times: dict[str, float],
              seed: int, world: int, chunk_size: int, input_size: int, model_name: str | None,
              weights_sha256: str | None, wall_time: float) -> BenchmarkResult:
    """Accuracies, per-attack records and flags from the merged per-example outcomes."""
    correct, broken_by, adaptive_by = merged["correct"], merged["broken_by"], merged["adaptive_broken_by"]
    n = len(correct)
    clean_acc = sum(correct) / n

    def accuracy_after(by: list[int], k: int) -> float:
        return sum(1 for c, b in zip(correct, by) if c and (b == -1 or b > k)) / n

    per_attack = {e.name: accuracy_after(broken_by, k) for k, e in enumerate(cascade)}
    per_attack.update({e.name: accuracy_after(adaptive_by, k) for k, e in enumerate(adaptive)})
    n_aa = len(AUTOATTACK_STANDARD) if suite.autoattack else 0
    autoattack_acc = accuracy_after(broken_by, n_aa - 1) if n_aa else None
    adaptive_acc = accuracy_after(adaptive_by, len(adaptive) - 1) if adaptive else None
    worst = sum(1 for c, b, a in zip(correct, broken_by, adaptive_by) if c and b == -1 and a == -1) / n
    if n_aa:  # AutoAttack's own Square check, on the accuracies it would have printed
        from pyautoattack import checks

        collector = _WarningCollector()
        checks.check_square_sr({"clean": clean_acc, **{e.name.split("/")[1]: per_attack[e.name] for e in cascade[:n_aa]}},
                               logger=_logger_with(collector))
        merged["autoattack_warnings"] += [m for m in collector.messages if m not in merged["autoattack_warnings"]]
    th = suite.thresholds
    large_eps = _large_eps(th, threat_model, input_size)
    flags = _diagnose(suite, cascade, adaptive, merged, n, per_attack, clean_acc, large_eps)

    def outcome(c: bool, b: int, a: int) -> str:
        if not c:
            return "clean_error"
        return cascade[b].name if b >= 0 else (adaptive[a].name if a >= 0 else "robust")

    attacks = []
    for k, entry in enumerate(cascade + adaptive):
        if entry.spec is not None:
            description = {**entry.spec.describe(), "resolved_params": _resolved_parameters(entry.spec, model, eps, threat_model)}
        else:
            description = {"name": entry.name, "kind": "pyautoattack", "category": "autoattack", "view": "model",
                           "surrogate": None, "params": merged["autoattack_parameters"][entry.name.split("/")[1]]}
        by, index = (broken_by, k) if k < len(cascade) else (adaptive_by, k - len(cascade))
        attacks.append({**description, "eps": eps, "accuracy_after": per_attack[entry.name],
                        "newly_broken": sum(1 for b in by if b == index), "wall_time_s": round(times.get(entry.name, 0.0), 4)})
    provenance = {
        "model": {"name": model_name or type(model).__name__,
                  "weights_sha256": weights_sha256 or state_dict_sha256(model),
                  "weights_sha256_of": "file" if weights_sha256 else "state_dict",
                  "has_logit_head": has_logit_head(model)},
        "dataset": {"name": dataset, "split": "test", "example_indices": list(range(n))},
        "attacks": attacks,
        "probes": {"large_eps": large_eps, "large_eps_accuracy": sum(merged["large_eps_correct"]) / n,
                   "zero_gradient_share": sum(merged["zero_grad"]) / n, "rescore_mismatch": merged["rescore_mismatch"]},
        "thresholds": vars(th).copy(),
        "autoattack_warnings": merged["autoattack_warnings"],
        "per_example": [outcome(c, b, a) for c, b, a in zip(correct, broken_by, adaptive_by)],
        "seeds": {"base": seed, "rule": _SEED_RULE},
        "chunk_size": chunk_size,
        "world_size": world,
        "versions": package_versions(),
        "wall_time_s": {"total": round(wall_time, 4), "clean": round(times.get("clean", 0.0), 4),
                        "probes": round(times.get("probes", 0.0), 4)},
    }
    return BenchmarkResult(provenance["model"]["name"], dataset, threat_model, eps, n, suite.name, clean_acc,
                           autoattack_acc, worst, adaptive_acc, per_attack, flags, provenance)


def _resolved_parameters(spec: AttackSpec, model: nn.Module, eps: float, norm: str) -> dict[str, Any]:
    """The built attack's scalar settings (defaults resolved); a seed set per chunk is left to the seed rule."""
    resolved = attack_parameters(spec.build(model, eps, norm))
    if spec.instance is None and "seed" not in spec.params:
        resolved.pop("seed", None)
    return resolved


def _logger_with(handler: logging.Handler) -> logging.Logger:
    logger = logging.getLogger("robustbench_logits.autoattack_checks")
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.WARNING)  # not the root's level: the check's warning must reach the handler
    return logger


# --- what `rbl eval MODEL` names ----------------------------------------------------------------------------


def _model_from_file(path: Path) -> nn.Module:
    """A Python file defining ``model`` (an nn.Module) or ``create_model()`` returning one."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"rbl_eval_model_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    found = getattr(module, "model", None)
    if found is None and callable(getattr(module, "create_model", None)):
        found = module.create_model()
    if not isinstance(found, nn.Module):
        raise UserError(f"{path} must define `model` (an nn.Module) or `create_model()` returning one")
    return found


def load_model_for_eval(spec: str, dataset: str = "mnist", weights: str | os.PathLike | None = None
                        ) -> tuple[nn.Module, str, str | None]:
    """``(model, name, weights_sha256)`` for ``rbl eval MODEL``: a Python file, a zoo name
    (robustbench_logits.zoo, when present), or a timm name (ours are registered) with ``weights``."""
    weights_path = Path(weights) if weights is not None else None
    if spec.endswith(".py"):
        if not Path(spec).is_file():
            raise UserError(f"model file {spec} does not exist")
        model = _model_from_file(Path(spec))
        name = Path(spec).stem
    else:
        try:
            from robustbench_logits import zoo
        except ImportError:
            zoo = None
        if zoo is not None and weights_path is None and spec in getattr(zoo, "list_models", lambda: [])():
            return zoo.load_model(spec), spec, getattr(zoo, "weights_sha256", lambda _: None)(spec)
        import timm

        import robustbench_logits.models  # noqa: F401  (registers our architectures with timm)
        from robustbench_logits.data import DATASETS

        if not timm.is_model(spec):
            raise UserError(f"unknown model {spec!r}: give a zoo name, a timm name with --weights, or a .py file")
        if weights_path is None:
            raise UserError(f"{spec} is an architecture, not trained weights: pass --weights FILE.safetensors")
        data = DATASETS.get(dataset)
        model = timm.create_model(spec, num_classes=data.num_classes if data else 10,
                                  in_chans=data.input_shape[0] if data else None)
        name = spec
    if weights_path is not None:
        load_weights(model, weights_path)
    return model.eval(), name, sha256_file(weights_path) if weights_path is not None else None


# --- eps sweeps ----------------------------------------------------------------------------------------------


@dataclass
class EpsSweep:
    """Accuracy vs eps for one or more attacks (Kanai et al. Fig. 3: PGD-40 on MNIST, eps 0..0.3)."""

    model_name: str
    dataset: str
    threat_model: str
    eps: list[float]
    accuracy: dict[str, list[float]]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"model_name": self.model_name, "dataset": self.dataset, "threat_model": self.threat_model,
                "eps": self.eps, "accuracy": self.accuracy}

    def plot(self, path: str | os.PathLike) -> Path:
        """Write the accuracy-vs-eps plot as PNG (matplotlib, no display needed)."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        figure, axes = plt.subplots(figsize=(4.5, 3.5))
        for attack, accuracies in self.accuracy.items():
            axes.plot(self.eps, [100 * a for a in accuracies], marker="o", label=attack)
        axes.set_xlabel(f"eps ({self.threat_model})")
        axes.set_ylabel("accuracy (%)")
        axes.set_ylim(0, 100)
        axes.set_title(f"{self.model_name} on {self.dataset}")
        axes.grid(alpha=0.3)
        axes.legend()
        figure.tight_layout()
        path = Path(path)
        figure.savefig(path, format="png", dpi=120)
        plt.close(figure)
        return path


def eps_sweep(
    model: nn.Module,
    dataset: str | tuple[torch.Tensor, torch.Tensor] = "mnist",
    eps_values: Sequence[float] = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3),
    n_examples: int = 1000,
    attacks: Sequence[AttackSpec] | None = None,
    threat_model: str = "Linf",
    device: str | torch.device | None = None,
    *,
    batch_size: int = 250,
    seed: int = 0,
    data_dir: str | os.PathLike | None = None,
    model_name: str | None = None,
) -> EpsSweep:
    """Accuracy of each attack (default PGD-40, Kanai et al. sec. 5.1) at each eps; eps = 0 is clean."""
    device = torch.device(device) if device is not None else next(model.parameters(), torch.empty(0)).device
    name, x, y, num_classes = _resolve_dataset(dataset, n_examples, data_dir)
    attacks = list(attacks) if attacks is not None else [AttackSpec("pgd-40", "pgd", {"steps": 40})]
    if any(spec.instance is not None for spec in attacks):
        raise UserError("eps_sweep needs attack specs (kind + params): a built attack instance has its own fixed eps")
    if len({spec.name for spec in attacks}) != len(attacks):
        raise UserError("attack names must be unique in an eps sweep: rename the repeated one")
    accuracy: dict[str, list[float]] = {spec.name: [] for spec in attacks}
    model = model.to(device)
    with _eval_mode(model):
        _check_inputs(model, x, y, num_classes, device)
        for position, spec in enumerate(attacks):
            for eps in eps_values:
                correct = 0
                for chunk, start in enumerate(range(0, x.shape[0], batch_size)):
                    xb, yb = x[start:start + batch_size].to(device), y[start:start + batch_size].to(device)
                    if eps > 0:
                        chunk_seed = _derive_seed(seed, position, chunk)
                        torch.manual_seed(chunk_seed)
                        attack = spec.build(model, eps, threat_model, seed=chunk_seed)
                        xb = project_to_threat_model(attack(xb, yb), xb, eps, threat_model)
                        model.eval()
                    correct += int((_predict(model, xb) == yb).sum())
                accuracy[spec.name].append(correct / x.shape[0])
    return EpsSweep(model_name or type(model).__name__, name, threat_model, [float(e) for e in eps_values], accuracy)
