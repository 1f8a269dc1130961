"""Side-by-side timing: two workloads alternated A B A B ..., the ratio taken pair by pair.

On a shared machine the speed drifts from minute to minute; a ratio of two calls made seconds
apart is still meaningful when two medians taken minutes apart are not. Each figure is the median
over pairs, with the min and max beside it (a wide spread says the machine was noisy).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any


Clock = Callable[[], float]


def _seconds(fn: Callable[[], object], min_seconds: float = 0.0, clock: Clock = time.perf_counter) -> float:
    """Seconds per call of ``fn``: one call, or as many as fill ``min_seconds`` (their mean), so a
    13 ms training step is not timed alone against the scheduler's and the timer's jitter.
    ``clock=time.process_time`` counts this process's CPU time only (one torch thread: its compute),
    not the time another tenant of the machine held the core."""
    calls, start = 0, clock()
    while True:
        fn()
        calls += 1
        elapsed = clock() - start
        if elapsed >= min_seconds:
            return elapsed / calls


def paired(a: Callable[[], object], b: Callable[[], object], pairs: int, warmup: int = 1,
           clock: Clock = time.perf_counter) -> dict[str, Any]:
    """Median of a/b over ``pairs`` alternated calls (the order flips every pair), after ``warmup``."""
    for _ in range(warmup):
        a()
        b()
    ratios, times_a, times_b = [], [], []
    for i in range(pairs):
        if i % 2 == 0:
            ta, tb = _seconds(a, clock=clock), _seconds(b, clock=clock)
        else:
            tb, ta = _seconds(b, clock=clock), _seconds(a, clock=clock)
        times_a.append(ta)
        times_b.append(tb)
        ratios.append(ta / tb)
    return {
        "ratio": round(statistics.median(ratios), 4),
        "ratio_min": round(min(ratios), 4),
        "ratio_max": round(max(ratios), 4),
        "a_median_s": round(statistics.median(times_a), 5),
        "b_median_s": round(statistics.median(times_b), 5),
        "pairs": pairs,
        "warmup": warmup,
    }


def rotated(fns: dict[str, Callable[[], object]], rounds: int, warmup: int = 1,
            min_seconds: float = 0.0, clock: Clock = time.perf_counter) -> list[dict[str, float]]:
    """Per-round seconds per call of each workload, run in turn (the order rotates every round),
    after ``warmup`` untimed rounds; ratios are then taken within a round, where the machine's
    speed is the same for all. ``min_seconds``: each workload repeats until it fills that long."""
    names = list(fns)
    for _ in range(warmup):
        for name in names:
            fns[name]()
    out = []
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        out.append({name: _seconds(fns[name], min_seconds, clock) for name in order})
    return out


def ratio_summary(rounds: list[dict[str, float]], a: str, b: str) -> dict[str, Any]:
    """Median, min and max over rounds of a/b."""
    ratios = [r[a] / r[b] for r in rounds]
    return {"ratio": round(statistics.median(ratios), 4), "ratio_min": round(min(ratios), 4),
            "ratio_max": round(max(ratios), 4), "a_median_s": round(statistics.median(r[a] for r in rounds), 5),
            "b_median_s": round(statistics.median(r[b] for r in rounds), 5), "pairs": len(rounds)}
