"""evaluation.cascade on a two-pixel model with scripted attacks, probes and clock (no real attack runs).

What the chunk records: each attack sees only the examples still robust, the first attack that
breaks an example names its outcome, the adaptive cascade and the probes name the rest in their
order, and every section's wall time accumulates over chunks. Milliseconds, so mutation testing
of the cascade gets a verdict per mutant fast (the whole-benchmark tests cover it end to end).
"""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

from robustbench_logits.attacks import AttackSpec
from robustbench_logits.evaluation import cascade
from robustbench_logits.evaluation.suite import DiagnosticThresholds


class TwoPixels(nn.Module):
    """logits = (x0, x1): class 0 when the first pixel is brighter."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1)[:, :2]


def swapped(x: torch.Tensor, rows: list[int]) -> torch.Tensor:
    out = x.clone()
    out[rows] = x[rows].flip(-1)
    return out


# examples 0-3 correct (class 0: first pixel brighter), example 4 a clean error (labelled 1)
X = torch.tensor([[0.9, 0.1], [0.8, 0.2], [0.7, 0.3], [0.6, 0.4], [0.9, 0.1]]).view(5, 1, 1, 2)
Y = torch.tensor([0, 0, 0, 0, 1])
FIRST, SECOND = AttackSpec("first", "pgd"), AttackSpec("second", "pgd")
SEEDS: list[tuple[str, int, object]] = []  # (attack, seed, pass counter) of every scripted attack call
ADAPTIVE = AttackSpec("adaptive/one", "pgd", category="adaptive")


@pytest.fixture()
def scripted(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, list[int]]]:
    """Attacks break scripted examples (by their position in the chunk), the noise probe breaks
    example 2, the trace probe nothing; the clock ticks one second per reading. Returns the log
    of (attack, examples it was run on)."""
    breaks = {"first": [1], "second": [1, 3], "adaptive/one": [3], "adaptive/two": [0], "round": [0], "quiet round": []}
    seen: list[tuple[str, list[int]]] = []

    def run_attack(spec, model, x, y, eps, norm, seed, counter=None):  # noqa: ANN001
        rows = [int(i) for i in (x[:, 0, 0, 0] * 10).round().tolist()]  # identify examples by their first pixel
        index = {9: 0, 8: 1, 7: 2, 6: 3}
        positions = [index[r] for r in rows]
        seen.append((spec.name, positions))
        SEEDS.append((spec.name, seed, counter))
        return swapped(x, [k for k, p in enumerate(positions) if p in breaks[spec.name]])

    def run_probes(model, counter, x, y, correct, eps, norm, th, seed):  # noqa: ANN001
        n = x.shape[0]
        probes = {"trace_ever": [False] * n, "noise_broken": [i == 2 for i in range(n)]}
        return probes, (swapped(x, [2]), x.clone())

    SEEDS.clear()
    clock = itertools.count(start=1000.0, step=1.0)
    monkeypatch.setattr(cascade, "run_attack", run_attack)
    monkeypatch.setattr(cascade, "run_probes", run_probes)
    monkeypatch.setattr(cascade.time, "perf_counter", lambda: next(clock))
    return seen


def context(attacks: list[AttackSpec], adaptive: list[AttackSpec]) -> cascade.Context:
    return cascade.Context(TwoPixels(), 0.3, "Linf", 0, attacks, adaptive, DiagnosticThresholds())


def test_the_chunk_names_each_example_by_the_first_thing_that_broke_it(scripted):
    ctx = context([FIRST, SECOND], [ADAPTIVE])
    chunk, record = cascade.evaluate_chunk(ctx, 0, X, Y, lambda: None)
    # 0 robust; 1 by the first attack (the second also would); 3 by the second; 2 only by the noise probe
    assert chunk.outcome == ["robust", "first", "probe/noise", "second", "clean_error"]
    assert chunk.robust.tolist() == [True, False, False, False, False]
    assert record["broken_by"] == [-1, 0, -1, 1, -1]
    assert record["adaptive_broken_by"] == [-1, -1, -1, 0, -1]
    assert record["correct"] == [True, True, True, True, False]
    # each attack ran only on the examples still robust (the clean error never)
    assert scripted == [("first", [0, 1, 2, 3]), ("second", [0, 2, 3]), ("adaptive/one", [0, 1, 2, 3])]
    # the worst case holds what broke each example: the attack's point, the noise probe's point
    assert torch.equal(chunk.x_worst[1], X[1].flip(-1)) and torch.equal(chunk.x_worst[2], X[2].flip(-1))
    assert torch.equal(chunk.x_worst[0], X[0])


def test_every_section_times_accumulate_over_chunks(scripted):
    ctx = context([FIRST], [ADAPTIVE])
    cascade.evaluate_chunk(ctx, 0, X, Y, lambda: None)
    # the scripted clock ticks 1 s per reading and nothing inside a section reads it: 1 s each
    assert ctx.times == {"clean": 1.0, "first": 1.0, "adaptive/one": 1.0, "probes": 1.0}
    cascade.evaluate_chunk(ctx, 1, X, Y, lambda: None)
    assert ctx.times == {"clean": 2.0, "first": 2.0, "adaptive/one": 2.0, "probes": 2.0}


def test_an_escalation_round_runs_on_the_survivors_and_times_accumulate(scripted):
    ctx = context([FIRST], [])
    chunk, _ = cascade.evaluate_chunk(ctx, 0, X, Y, lambda: None)
    round_spec = AttackSpec("round", "pgd", category="escalation")
    scripted.clear()
    assert cascade.run_round_on_chunk(ctx, chunk, [round_spec], 1) == [0]
    assert scripted == [("round", [0, 3])]  # 1 broken by the cascade, 2 by the noise probe, 4 a clean error
    assert chunk.outcome == ["round", "first", "probe/noise", "robust", "clean_error"]
    assert chunk.robust.tolist() == [False, False, False, True, False]
    assert torch.equal(chunk.x_worst[0], X[0].flip(-1))
    assert cascade.run_round_on_chunk(ctx, chunk, [round_spec], 2) == []  # 3 survives this round too
    assert scripted[-1] == ("round", [3])
    assert ctx.times["round"] == 2.0


def test_rescore_flags_a_verdict_a_fresh_forward_disagrees_with(scripted):
    ctx = context([FIRST], [])
    chunk, _ = cascade.evaluate_chunk(ctx, 0, X, Y, lambda: None)
    assert cascade.rescore(ctx, chunk) == [False] * 5
    chunk.x_worst[0] = X[0].flip(-1)  # recorded robust, but its worst case is misclassified
    assert cascade.rescore(ctx, chunk) == [True, False, False, False, False]


def test_seeds_follow_the_documented_rule_and_passes_are_counted(scripted):
    # attack k of the cascade (the adaptive cascade continuing its numbering) on chunk c:
    # derive_seed(seed, k, c); escalation round r, attack j: derive_seed(seed, ROUND_POSITION + 100 r + j, c)
    ctx = context([FIRST, SECOND], [ADAPTIVE])
    chunk, _ = cascade.evaluate_chunk(ctx, 3, X, Y, lambda: None)
    rounds = [AttackSpec("quiet round", "pgd", category="escalation"), AttackSpec("round", "pgd", category="escalation")]
    cascade.run_round_on_chunk(ctx, chunk, rounds, 2)
    derive = cascade.derive_seed
    assert [(name, seed) for name, seed, _ in SEEDS] == [
        ("first", derive(0, 0, 3)), ("second", derive(0, 1, 3)), ("adaptive/one", derive(0, 2, 3)),
        ("quiet round", derive(0, cascade.ROUND_POSITION + 200, 3)), ("round", derive(0, cascade.ROUND_POSITION + 201, 3))]
    assert all(counter is ctx.counter for _, _, counter in SEEDS)  # every attack's passes are counted


def test_the_first_adaptive_attack_names_an_example_the_cascade_left_robust(scripted):
    ctx = context([FIRST], [AttackSpec("adaptive/two", "pgd", category="adaptive"), ADAPTIVE])
    chunk, record = cascade.evaluate_chunk(ctx, 0, X, Y, lambda: None)
    assert record["adaptive_broken_by"] == [0, -1, -1, 1, -1]
    assert chunk.outcome[0] == "adaptive/two"  # position 0 of the adaptive cascade
    assert chunk.outcome[3] == "adaptive/one"
    assert torch.equal(chunk.x_worst[0], X[0].flip(-1))  # the adaptive attack's point is the worst case


def test_the_trace_probe_names_an_example_only_its_iterates_broke(scripted, monkeypatch):
    def run_probes(model, counter, x, y, correct, eps, norm, th, seed):  # noqa: ANN001
        n = x.shape[0]
        return {"trace_ever": [i == 0 for i in range(n)], "noise_broken": [i in (0, 2) for i in range(n)]}, \
            (swapped(x, [0, 2]), swapped(x, [0]))

    monkeypatch.setattr(cascade, "run_probes", run_probes)
    chunk, _ = cascade.evaluate_chunk(context([FIRST], []), 0, X, Y, lambda: None)
    # 0: the trace probe's iterate broke it (named before the noise probe, which also did); 2: noise only
    assert chunk.outcome == ["probe/trace-pgd", "first", "probe/noise", "robust", "clean_error"]
    assert torch.equal(chunk.x_worst[0], X[0].flip(-1))
