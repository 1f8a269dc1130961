"""The one evaluation path, :func:`benchmark`: clean accuracy, the cascade (AutoAttack's components
and the suite), adaptive attacks, probes, indicators, escalation, intervals, provenance.

Examples are cut into fixed chunks of ``batch_size``; under torchrun each rank takes the next
chunk nobody has taken yet (``_distributed.shared_out``: a rank whose chunks were quick takes more),
every chunk's attacks are seeded by its index, and the per-example outcomes are gathered as JSON
(nothing is pickled), so a sharded run gives the numbers of a single-process run. Escalation decisions are taken on the gathered
counts, identically on every rank.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
import warnings
from typing import Any, Sequence

import torch
import torch.nn as nn
from torchattacks.attack import Attack
from tqdm.auto import tqdm

from robustbench_logits._allocator import retain_freed_memory
from robustbench_logits._distributed import all_gather_json, rank_and_world, shared_out
from robustbench_logits._files import package_versions
from robustbench_logits.attacks import (
    AttackSpec,
    adaptive_attacks,
    attack_parameters,
    has_logit_head,
    run_attack,
)
from robustbench_logits.errors import UserError
from robustbench_logits.evaluation.cascade import (
    ROUND_POSITION,
    SEED_RULE,
    Chunk,
    Context,
    derive_seed,
    evaluate_chunk,
    rescore,
    run_round_on_chunk,
)
from robustbench_logits.evaluation.escalation import EscalationBudget, build_ladders, next_family, resolve_budget
from robustbench_logits.evaluation.indicators import CATALOGUE, SHARE_RULE, Indicator, compute_indicators, grade
from robustbench_logits.evaluation.inputs import check_inputs, eval_mode, resolve_dataset, state_dict_sha256
from robustbench_logits.evaluation.probes import large_eps
from robustbench_logits.evaluation.result import BenchmarkResult
from robustbench_logits.evaluation.statistics import ci95, noise_allowance, share_exceeds_p
from robustbench_logits.evaluation.suite import (
    AUTOATTACK_STANDARD,
    AUTOATTACK_TARGET_CLASSES,
    DEFAULT_EPS,
    EvaluationSuite,
)
from robustbench_logits.eps import check_eps
from robustbench_logits.models.pretrained import load_model
from robustbench_logits.validation import check_device, check_model_dtype

__all__ = ["benchmark"]


def _resolve_surrogate(surrogate: nn.Module | str | None, device: torch.device) -> tuple[nn.Module | None, str | None]:
    if surrogate is None:
        return None, None
    if isinstance(surrogate, nn.Module):
        return surrogate.to(device).eval(), type(surrogate).__name__
    return load_model(surrogate).to(device).eval(), surrogate


def _resolve_suite(suite: str | EvaluationSuite, threat_model: str) -> EvaluationSuite:
    if isinstance(suite, EvaluationSuite):
        return dataclasses.replace(suite, attacks=list(suite.attacks))  # extra_attacks must not edit the caller's
    if suite == "standard":
        return EvaluationSuite.standard()
    if suite == "full":
        return EvaluationSuite.full(threat_model)
    raise UserError(f"unknown suite {suite!r}: use 'standard', 'full' or an EvaluationSuite")


def _check_unique_names(specs: list[AttackSpec]) -> None:
    """Attack names key ``per_attack`` and the wall times: two attacks with one name would merge."""
    names = [spec.name for spec in specs]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise UserError(f"attack names must be unique, {', '.join(repeated)} repeats: rename one")


def _gather_sum(values: dict[str, float], world: int) -> dict[str, float]:
    total: dict[str, float] = {}
    for part in all_gather_json(values, world):
        for key, value in part.items():
            total[key] = total.get(key, 0) + value
    return total


def benchmark(
    model: nn.Module,
    *,
    n_examples: int = 1000,
    dataset: str | tuple[torch.Tensor, torch.Tensor] = "mnist",
    threat_model: str = "Linf",
    eps: float | str | None = None,
    batch_size: int = 250,
    device: str | torch.device | None = None,
    suite: str | EvaluationSuite = "standard",
    escalate: bool | float | EscalationBudget = True,
    surrogate: nn.Module | str | None = None,
    seed: int = 0,
    data_dir: str | os.PathLike | None = None,
    model_name: str | None = None,
    weights_sha256: str | None = None,
    extra_attacks: Sequence[Attack] = (),
    progress: bool = True,
) -> BenchmarkResult:
    """Evaluate ``model`` on the first ``n_examples`` test examples (RobustBench's argument names).

    ``suite="standard"`` is RobustBench's protocol (AutoAttack standard, run one component at a
    time through pyautoattack); ``"full"`` adds the torchattacks suite; ``surrogate`` adds transfer
    attacks; ``extra_attacks`` appends torchattacks instances. Adaptive attacks run when the model
    carries a logit head. ``escalate``: when an indicator fires, rounds of stronger attacks run
    until the accuracy converges or the budget (:class:`EscalationBudget`; a number sets its
    ``max_cost``) is spent; ``False`` turns it off, and then every fired indicator is ``unreliable``.
    """
    if threat_model not in ("Linf", "L2"):
        raise UserError(f"unknown threat model {threat_model!r}: use 'Linf' or 'L2'")
    if n_examples is not None and n_examples <= 0:
        raise UserError(f"n_examples must be positive, got {n_examples}")
    if batch_size <= 0:
        raise UserError(f"batch_size must be positive, got {batch_size}")
    budget = resolve_budget(escalate)
    retain_freed_memory()  # every attack step faulted its activations in again without it (_allocator)
    wall_start = time.perf_counter()
    device = check_device(device) or next(model.parameters(), torch.empty(0)).device
    name, x, y, num_classes = resolve_dataset(dataset, n_examples, data_dir)
    if eps is not None:  # a number, "a/b" or a one-element tensor -> float; warns beyond the input range
        eps = check_eps(eps, threat_model, n_features=x[0].numel())
    check_model_dtype(model, name=model_name or "the model")
    if eps is None:
        if (name, threat_model) not in DEFAULT_EPS:
            raise UserError(f"no default eps for {name} {threat_model}: pass eps=")
        eps = DEFAULT_EPS[(name, threat_model)]
    if not math.isfinite(eps) or eps <= 0:
        raise UserError(f"eps must be a positive number, got {eps}")
    if any(module.training for module in model.modules()):
        warnings.warn("the model was in train mode; evaluating it in eval mode (call model.eval() first)", stacklevel=2)
    model = model.to(device)
    with eval_mode(model, surrogate if isinstance(surrogate, nn.Module) else None):
        check_inputs(model, x, y, num_classes, device)
        with torch.no_grad():
            num_classes = num_classes or int(model(x[:1].to(device)).shape[1])
        suite = _resolve_suite(suite, threat_model)
        if suite.autoattack and num_classes < AUTOATTACK_TARGET_CLASSES + 1:
            # pyautoattack would fail with an IndexError deep inside APGD-T; fewer targets is not "standard"
            raise UserError(f"AutoAttack standard attacks {AUTOATTACK_TARGET_CLASSES} target classes, so it needs at "
                            f"least {AUTOATTACK_TARGET_CLASSES + 1} classes and this model has {num_classes}: "
                            "pass an EvaluationSuite with autoattack=False")
        for attack in extra_attacks:
            suite.add(attack)
        surrogate_module, surrogate_name = _resolve_surrogate(surrogate, device)
        cascade = suite.cascade()
        if surrogate_module is not None:
            cascade += [AttackSpec(f"transfer/{kind}-40", kind, {"steps": 40}, surrogate=surrogate_module,
                                   surrogate_name=surrogate_name) for kind in ("pgd", "mim")]
        adaptive = adaptive_attacks(model, steps=suite.adaptive_steps) if suite.adaptive else []
        _check_unique_names(cascade + adaptive)
        ctx = Context(model, eps, threat_model, seed, cascade, adaptive, suite.thresholds)
        return _run(ctx, suite, budget, x, y, name, num_classes, device, batch_size, surrogate_module, progress,
                    model_name, weights_sha256, wall_start)


def _run(ctx: Context, suite: EvaluationSuite, budget: EscalationBudget | None, x: torch.Tensor, y: torch.Tensor,
         dataset: str, num_classes: int, device: torch.device, batch_size: int, surrogate: nn.Module | None,
         progress: bool, model_name: str | None, weights_sha256: str | None, wall_start: float) -> BenchmarkResult:
    rank, world = rank_and_world()
    starts = list(range(0, x.shape[0], batch_size))
    stages = len(ctx.cascade) + len(ctx.adaptive) + 1
    # under torchrun rank 0 shows its own share, which the queue decides as it goes: an estimate
    bar = tqdm(total=-(-len(starts) // world) * stages, desc=f"eval {model_name or ''}".strip(),
               disable=not progress or rank != 0, leave=False)
    chunks: list[Chunk] = []
    records: list[dict[str, Any]] = []
    for index in shared_out(len(starts), rank, world):
        start = starts[index]
        chunk, record = evaluate_chunk(ctx, index, x[start:start + batch_size].to(device),
                                       y[start:start + batch_size].to(device), lambda: bar.update(1))
        chunks.append(chunk)
        records.append(record)
    bar.close()
    # what each rank took from the queue and when it was done with it: how balanced a sharded run was
    shares = all_gather_json({"chunks": [c.index for c in chunks], "done_s": round(time.perf_counter() - wall_start, 3)},
                             world)
    gathered = sorted((r for part in all_gather_json(records, world) for r in part), key=lambda r: r["chunk"])
    merged = {key: [v for r in gathered for v in r[key]] for key in gathered[0] if key != "chunk"}
    n = len(merged["correct"])
    th = suite.thresholds
    big_eps = large_eps(th, ctx.norm, x[0].numel())
    fired = compute_indicators(merged, ctx.cascade, ctx.adaptive, th, big_eps)

    def robust_count() -> int:
        return int(_gather_sum({"robust": sum(int((c.correct & c.robust).sum()) for c in chunks)}, world)["robust"])

    def passes() -> dict[str, int]:
        total = _gather_sum(ctx.counter.as_dict(), world)
        return {"forward": int(total.get("forward", 0)), "backward": int(total.get("backward", 0))}

    def seconds() -> float:
        return round(max(all_gather_json(time.perf_counter() - wall_start, world)), 3)

    before = robust_count()
    base_passes = passes()
    rounds = [{"name": "base", "aimed_at": [], "robust_accuracy": before / n, "ci95": ci95(before, n),
               "newly_broken": 0, "passes": base_passes, "seconds": seconds()}]
    allowance = noise_allowance(th.alpha)
    wanted = {family for indicator in fired for family in indicator.meaning.escalate}
    names = {indicator.name for indicator in fired}
    if not names & {"randomised_forward", "unstable_predictions", "noise_beats_white_box"}:
        wanted.discard("eot")  # EOT answers randomness; without any sign of it, it only costs
    if "probabilities_output" not in names:
        wanted.discard("log_probabilities")
    converged: bool | None = None
    ladder_ops: list[str] = []
    ran_families: list[str] = []
    spent_cost = 0.0
    if budget is not None:
        ladders = build_ladders(ctx.model, num_classes, surrogate, wanted)
        ladder_ops = ladders.straight_through_ops
        climbed: dict[str, int] = {}
        settled: dict[str, bool] = {}
        base_total = max(1, base_passes["forward"] + base_passes["backward"])
        exhausted_budget = False
        while True:
            family = next_family(ladders, climbed, settled)
            if robust_count() == 0:  # nothing left to break: every family is settled
                settled.update(dict.fromkeys(ladders.rounds, True))
                break
            if family is None:
                break
            spent_cost = (rounds[-1]["passes"]["forward"] + rounds[-1]["passes"]["backward"] - base_total) / base_total
            if (len(rounds) - 1 >= budget.max_rounds or spent_cost >= budget.max_cost
                    or (budget.max_seconds is not None and rounds[-1]["seconds"] - rounds[0]["seconds"] >= budget.max_seconds)):
                exhausted_budget = True
                break
            rung = climbed.get(family, 0)
            specs = ladders.rounds[family][rung]
            climbed[family] = rung + 1
            ran_families.append(family)
            for chunk in chunks:
                run_round_on_chunk(ctx, chunk, specs, len(rounds))
            after = robust_count()
            newly = int(round(rounds[-1]["robust_accuracy"] * n)) - after
            settled[family] = newly <= allowance
            aimed = [i.name for i in fired if family in i.meaning.escalate]
            rounds.append({"name": f"{family}-{rung + 1}", "aimed_at": aimed, "attacks": [s.name for s in specs],
                           "robust_accuracy": after / n, "ci95": ci95(after, n), "newly_broken": newly,
                           "passes": passes(), "seconds": seconds()})
        last = rounds[-1]
        spent_cost = (last["passes"]["forward"] + last["passes"]["backward"] - base_total) / base_total
        unsettled = [f for f in ladders.rounds if climbed.get(f) and not settled.get(f)]
        converged = not unsettled and not (exhausted_budget and any(not settled.get(f) for f in ladders.rounds))
        if not converged:
            fired.append(Indicator(
                "escalation_not_converged", last["newly_broken"], allowance, [],
                f"the last round ({last['name']}) broke {last['newly_broken']} examples (sampling noise allows "
                f"{allowance}) when {'the budget ran out' if exhausted_budget else 'its ladder ended'}"))
    replaced = any(f in ran_families for f in ("straight_through", "log_probabilities"))
    large_fixed = _recheck_large_eps(ctx, chunks, fired, ladders if budget is not None else None, big_eps, merged,
                                     batch_size, world)
    randomised = any(i.name == "randomised_forward" for i in fired)
    if not randomised:  # a randomised model re-scores differently by design: its own indicator covers it
        mismatched = [c.index * batch_size + i for c in chunks for i, m in enumerate(rescore(ctx, c)) if m]
        mismatched = sorted(i for part in all_gather_json(mismatched, world) for i in part)
        if mismatched:
            fired.append(Indicator("rescore_mismatch", len(mismatched), 0, mismatched,
                                   f"a fresh forward pass over the worst case disagrees with the verdict on "
                                   f"{len(mismatched)} examples"))
    grade(fired, budget is not None, converged if budget is not None else False, replaced, large_fixed,
          nothing_left=robust_count() == 0)
    ctx.times.update(_gather_sum(ctx.times, world))  # every rank's attack seconds, summed (docs/evaluation.md)
    pairs = [pair for part in all_gather_json([[c.index, c.outcome] for c in chunks], world) for pair in part]
    per_example = [o for _, chunk_outcomes in sorted(pairs, key=lambda t: t[0]) for o in chunk_outcomes]
    return _assemble(ctx, suite, dataset, n, merged, fired, rounds, per_example, budget, converged, spent_cost,
                     ladder_ops, big_eps, shares, batch_size, model_name, weights_sha256, wall_start)


def _recheck_large_eps(ctx: Context, chunks: list[Chunk], fired: list[Indicator], ladders: Any, big_eps: float,
                       merged: dict[str, list[Any]], batch_size: int, world: int) -> bool:
    """After escalation, the unconstrained probe again on the escalation's views; True if it now passes."""
    if not any(i.name == "large_eps_not_broken" for i in fired) or ladders is None:
        return False
    views = [rounds[0][0] for family, rounds in ladders.rounds.items()
             if family in ("straight_through", "log_probabilities", "eot")]
    still = 0
    for chunk in chunks:
        flags = merged["large_eps_correct"][chunk.index * batch_size: chunk.index * batch_size + chunk.x.shape[0]]
        alive = torch.tensor(flags, dtype=torch.bool, device=chunk.x.device)
        for j, spec in enumerate(views):
            index = alive.nonzero().flatten()
            if not index.numel():
                break
            probe = dataclasses.replace(spec, name=f"large-eps/{spec.name}")
            seed = derive_seed(ctx.seed, ROUND_POSITION + 99, chunk.index * 10 + j)
            x_adv = run_attack(probe, ctx.model, chunk.x[index], chunk.y[index], big_eps, ctx.norm, seed, ctx.counter)
            with torch.no_grad():
                alive[index] = ctx.model(x_adv).argmax(1) == chunk.y[index]
        still += int(alive.sum())
    total = sum(all_gather_json(still, world))
    n = len(merged["correct"])
    for indicator in fired:
        if indicator.name == "large_eps_not_broken":
            indicator.extra["after_escalation"] = total / n
            indicator.message += f"; after escalation's views: {total / n:.1%}"
    return share_exceeds_p(total, n, ctx.thresholds.large_eps_max_acc) >= ctx.thresholds.alpha  # as the indicator's rule


def _assemble(ctx: Context, suite: EvaluationSuite, dataset: str, n: int, merged: dict[str, list[Any]],
              fired: list[Indicator], rounds: list[dict[str, Any]], per_example: list[str],
              budget: EscalationBudget | None, converged: bool | None, spent_cost: float, ladder_ops: list[str],
              big_eps: float, shares: list[dict[str, Any]], chunk_size: int, model_name: str | None,
              weights_sha256: str | None, wall_start: float) -> BenchmarkResult:
    """Accuracies with intervals, per-attack records, indicators and provenance from the gathered outcomes."""
    correct, broken_by, adaptive_by = merged["correct"], merged["broken_by"], merged["adaptive_broken_by"]
    k_clean = sum(correct)

    def count_after(by: list[int], k: int) -> int:
        return sum(1 for c, b in zip(correct, by) if c and (b == -1 or b > k))

    per_count = {s.name: count_after(broken_by, k) for k, s in enumerate(ctx.cascade)}
    per_count.update({s.name: count_after(adaptive_by, k) for k, s in enumerate(ctx.adaptive)})
    n_aa = len(AUTOATTACK_STANDARD) if suite.autoattack else 0
    k_aa = count_after(broken_by, n_aa - 1) if n_aa else None
    k_adaptive = count_after(adaptive_by, len(ctx.adaptive) - 1) if ctx.adaptive else None
    k_worst = sum(1 for o in per_example if o == "robust")
    intervals = {"clean_acc": ci95(k_clean, n), "autoattack_acc": ci95(k_aa, n) if k_aa is not None else None,
                 "adaptive_acc": ci95(k_adaptive, n) if k_adaptive is not None else None,
                 "worst_case_acc": ci95(k_worst, n), "per_attack": {k: ci95(v, n) for k, v in per_count.items()}}
    attacks = []
    for k, spec in enumerate(ctx.cascade + ctx.adaptive):
        by, index = (broken_by, k) if k < len(ctx.cascade) else (adaptive_by, k - len(ctx.cascade))
        params = attack_parameters(spec.build(ctx.model, ctx.eps, ctx.norm))
        if spec.instance is None and "seed" not in spec.params and spec.seed_rule == "derived":
            params.pop("seed", None)
        attacks.append({**spec.describe(), "resolved_params": params,
                        **({"params": params} if spec.kind.startswith("aa_") else {}),
                        "eps": ctx.eps, "accuracy_after": per_count[spec.name] / n,
                        "accuracy_after_ci95": intervals["per_attack"][spec.name],
                        "newly_broken": sum(1 for b in by if b == index),
                        "wall_time_s": round(ctx.times.get(spec.name, 0.0), 4)})
    provenance = {
        "model": {"name": model_name or type(ctx.model).__name__,
                  "weights_sha256": weights_sha256 or state_dict_sha256(ctx.model),
                  "weights_sha256_of": "file" if weights_sha256 else "state_dict",
                  "has_logit_head": has_logit_head(ctx.model)},
        "dataset": {"name": dataset, "split": "test", "example_indices": list(range(n))},
        "attacks": attacks,
        "probes": {"large_eps": big_eps, "large_eps_accuracy": sum(merged["large_eps_correct"]) / n,
                   "zero_gradient_share": sum(merged["zero_grad"]) / n,
                   "noise_broken": sum(merged["noise_broken"]), "unstable": sum(merged["unstable"]),
                   "trace_steps": ctx.thresholds.trace_steps},
        "thresholds": {**dataclasses.asdict(ctx.thresholds), "share_rule": SHARE_RULE},
        "indicator_catalogue": {name: dataclasses.asdict(m) for name, m in CATALOGUE.items()},
        "straight_through_ops": ladder_ops,
        "per_example": per_example,
        "seeds": {"base": ctx.seed, "rule": SEED_RULE},
        "chunk_size": chunk_size,
        "world_size": len(shares),
        "ranks": shares,
        "versions": package_versions(),
        "wall_time_s": {"total": round(time.perf_counter() - wall_start, 4),
                        "clean": round(ctx.times.get("clean", 0.0), 4), "probes": round(ctx.times.get("probes", 0.0), 4)},
    }
    escalation = {"enabled": budget is not None, "converged": converged,
                  "budget": budget.to_dict() if budget is not None else None,
                  "spent": {"rounds": len(rounds) - 1, "cost": round(spent_cost, 4)} if budget is not None else None,
                  "noise_allowance": noise_allowance(ctx.thresholds.alpha), "rounds": rounds}
    worst = {"accuracy": k_worst / n, "ci95": intervals["worst_case_acc"], "correct": k_worst, "n": n,
             "before_escalation": rounds[0]["robust_accuracy"], "converged": converged}
    return BenchmarkResult(provenance["model"]["name"], dataset, ctx.norm, ctx.eps, n, suite.name, k_clean / n,
                           k_aa / n if k_aa is not None else None, k_worst / n,
                           k_adaptive / n if k_adaptive is not None else None,
                           {k: v / n for k, v in per_count.items()}, [i.to_dict() for i in fired], intervals, worst,
                           escalation, provenance)
