"""``make bench``: side-by-side ratios for training, evaluation, scale-out and memory.

Writes ``benchmarks/results.json`` and regenerates ``benchmarks/README.md`` from it (never edit
the README by hand). Every figure is a ratio of two workloads measured alternately in the same
run (:mod:`paired`), so it keeps its meaning on a shared, noisy machine; the machine and its load
(1-minute load average before and after, and the busiest other processes) are recorded beside it.

    .venv/bin/python benchmarks/run.py              # full run (make bench)
    .venv/bin/python benchmarks/run.py --quick      # smaller sizes, one pair each (a smoke run)
    .venv/bin/python benchmarks/run.py --readme-only
    .venv/bin/python benchmarks/run.py --only training,memory
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import torch

from robustbench_logits._files import write_text as write_atomic

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
RESULTS_PATH = BENCH_DIR / "results.json"
README_PATH = BENCH_DIR / "README.md"
SECTIONS = ("training", "inner_attack", "pooling", "allocator", "evaluation", "scaleout", "memory")

MODES: dict[str, dict[str, Any]] = {
    # Sizes chosen so that `make bench` takes under 20 minutes on two quiet cores (issue 13). The first run with
    # every section at once (2026-12-03, training 5 rounds, allocator and evaluation 3 pairs, cnn4c3f DDP 2 pairs)
    # took 1,309 s: lanes of 566 s and 614 s, then the scale-out 690 s. Four training rounds (~86 s each), two
    # allocator pairs (~84 s each), two evaluation pairs (~45 s each) and one cnn4c3f DDP pair (~115 s) bring that
    # to about 1,080 s: lanes of about 480 s and 495 s, the scale-out about 575 s (measured: 1,085 s). Session 16
    # added the independent-processes control to each DDP figure (~25 s a cnn2c2f pair) and lengthened the cnn4c3f
    # epoch to 10,240 examples (start-up was 16 s of its 45 s two-process run), paid for by 16 sharded-evaluation
    # examples instead of 32 (~100 s) and 12,288 cnn2c2f examples instead of 16,384: scale-out about 650 s.
    # Session 18: the sharded evaluation runs 64 examples in 8 chunks of 8 (scaleout.CHUNKS has why and its cost):
    # the scale-out section measured 690 s alone. Session 21: the cnn4c3f DDP row, the one issue 13's 1.6 judges, trains
    # 20,480 examples (its 10,240 spent 6 s of one process's 87 s and 10.6 s of two processes' 56 s outside the epoch,
    # which capped the whole-process figure near 1.6 whatever the steps did: docs/training.md) without the
    # independent-processes control (the cnn2c2f row keeps one); paid for by 48 sharded-evaluation examples instead of
    # 64 (one process: about 80 s against 104 s) and 8,192 cnn2c2f examples instead of 12,288 (about 20 s a pair).
    "full": {"train_pairs": 4, "train_warmup": 1, "alloc_pairs": 2, "eval_n": 16, "eval_pairs": 2, "scale_eval_n": 48,
             "scale_eval_pairs": 1, "scale_train_n": 8192, "scale_train_pairs": 3, "scale_large_n": 20480, "scale_large_pairs": 1,
             "memory_n": (1000, 10000)},
    "quick": {"train_pairs": 1, "train_warmup": 0, "alloc_pairs": 1, "eval_n": 4, "eval_pairs": 1, "scale_eval_n": 4,
              "scale_eval_pairs": 1, "scale_train_n": 256, "scale_train_pairs": 2, "scale_large_n": 64, "scale_large_pairs": 1,
              "memory_n": (100, 1000)},
}
# The in-process sections in two lanes, each a process of one torch thread on its own core, run at the same
# time; each section's figures are ratios of two workloads alternated within its own process, so the other
# lane's steady load weighs on both sides alike. The scale-out section then runs alone: it times one process
# against two on both cores.
LANES = (("training", "inner_attack", "pooling"), ("allocator", "evaluation", "memory"))
ALONE = ("scaleout",)
WORK: dict[str, tuple[str, str, Any]] = {  # section -> (module, function, its arguments from the mode's sizes)
    "training": ("training", "bench_training", lambda s: ((s["train_pairs"],), {"warmup": s["train_warmup"]})),
    "inner_attack": ("training", "bench_inner_attack_gradients", lambda s: ((s["train_pairs"],), {})),
    "pooling": ("pooling", "bench_pooling", lambda s: ((s["train_pairs"],), {})),
    "allocator": ("allocator", "bench_allocator", lambda s: ((s["alloc_pairs"],), {})),
    "evaluation": ("evaluation", "bench_evaluation", lambda s: ((s["eval_n"], s["eval_pairs"]), {})),
    "scaleout": ("scaleout", "bench_scaleout", lambda s: ((s["scale_eval_n"], s["scale_eval_pairs"], s["scale_train_n"],
                                                          s["scale_train_pairs"], s["scale_large_n"], s["scale_large_pairs"]), {})),
    "memory": ("memory", "bench_memory", lambda s: ((tuple(s["memory_n"]), Path(__file__).resolve()), {})),
}


def _load() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


def _busiest_processes(limit: int = 8) -> list[str]:
    """The processes using most CPU right now (other helpers' trainings, test runs ...), this benchmark's
    own process tree (its lanes, workers, torchrun ranks) left out."""
    completed = subprocess.run(["ps", "-eo", "pid,ppid,stat,pcpu,args", "--sort=-pcpu"], capture_output=True,
                               text=True, check=False)
    rows = [line.split(None, 4) for line in completed.stdout.splitlines()[1:]]
    rows = [r for r in rows if len(r) == 5]
    ours, parent = {os.getpid()}, {int(r[0]): int(r[1]) for r in rows}
    for pid in parent:  # descendants: follow each process's parents up to this one
        chain, p = [], pid
        while p in parent and p not in ours and p > 1:
            chain.append(p)
            p = parent[p]
        if p in ours:
            ours.update(chain)
    # ps's %CPU is the process's lifetime average; a stopped process (state T: paused for the
    # benchmark with SIGSTOP) takes no CPU now, whatever its average says
    return [f"{r[3]}% {r[4][:110]}" for r in rows
            if int(r[0]) not in ours and not r[2].startswith("T") and float(r[3]) >= 5.0
            and not r[4].startswith("ps ")][:limit]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine(start_load: list[float], end_load: list[float], busy: list[str], seconds: float, mode: str) -> dict[str, Any]:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO_DIR,
                            check=False).stdout.strip()
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "commit": commit,
        "mode": mode,
        "seconds": round(seconds, 1),
        "cpu": _cpu_model(),
        "cpus": os.cpu_count(),
        "cpus_available": len(os.sched_getaffinity(0)),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": 1,
        "load_average_before": start_load,
        "load_average_after": end_load,
        "busiest_other_processes": busy,
    }


def _run_sections(mode: str, names: tuple[str, ...], sink: Path) -> dict[str, Any]:
    """Run the named sections in this process, in order; a failure is recorded (and the other sections
    still run), and what is done is written to ``sink`` after each section, so a long run loses nothing."""
    sys.path.insert(0, str(BENCH_DIR))
    warnings.filterwarnings("ignore")
    sizes, done = MODES[mode], {"section_runs": {}}
    for name in names:
        module, function, arguments = WORK[name]
        load, begun = _load(), time.perf_counter()
        try:
            args, kwargs = arguments(sizes)
            done[name] = getattr(importlib.import_module(module), function)(*args, **kwargs)
        except Exception as error:  # recorded in results.json and the README, not hidden
            done[name] = {"error": f"{type(error).__name__}: {str(error)[-2000:]}"}
        done["section_runs"][name] = {
            "finished": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "seconds": round(time.perf_counter() - begun, 1), "load_average_before": load,
            "load_average_after": _load()}
        write_atomic(sink, json.dumps(done, indent=2) + "\n")
    return done


def _run_lanes(mode: str, lanes: list[tuple[str, ...]], work: Path) -> list[dict[str, Any]]:
    """Each lane in its own process at the same time; what each wrote (a crashed lane: what it finished)."""
    command = [sys.executable, str(Path(__file__).resolve()), *(["--quick"] if mode == "quick" else [])]
    sinks = [work / f"lane-{i}.json" for i in range(len(lanes))]
    workers = [subprocess.Popen([*command, "--lane", ",".join(lane), "--lane-out", str(sink)])
               for lane, sink in zip(lanes, sinks)]
    for worker, lane in zip(workers, lanes):
        if worker.wait() != 0:
            print(f"lane {','.join(lane)} exited with {worker.returncode}", file=sys.stderr)
    return [json.loads(sink.read_text()) if sink.exists() else {} for sink in sinks]


def run(mode: str, only: tuple[str, ...]) -> dict[str, Any]:
    start_load, busy, started = _load(), _busiest_processes(), time.perf_counter()
    results: dict[str, Any] = json.loads(RESULTS_PATH.read_text()) if only != SECTIONS and RESULTS_PATH.exists() else {}
    lanes = [tuple(s for s in lane if s in only) for lane in LANES]
    with tempfile.TemporaryDirectory(prefix="rbl-bench-lanes-") as tmp:
        parts = _run_lanes(mode, [lane for lane in lanes if lane], Path(tmp))
        parts.append(_run_sections(mode, tuple(s for s in ALONE if s in only), Path(tmp) / "alone.json"))
    for part in parts:
        results.setdefault("section_runs", {}).update(part.pop("section_runs", {}))
        results.update(part)
    for name in only:
        results.setdefault(name, {"error": "its lane's process died before the section finished"})
    busy += [p for p in _busiest_processes() if p not in busy]
    if "machine" in results:  # a partial run (--only) keeps the machine facts of the run it adds to
        earlier = results.pop("machine")
        results["earlier_runs"] = [*results.get("earlier_runs", []), earlier]
    results["machine"] = machine(start_load, _load(), busy, time.perf_counter() - started, mode)
    results["machine"]["sections"] = list(only)
    results["machine"]["lanes"] = [list(lane) for lane in lanes if lane]
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--readme-only", action="store_true")
    parser.add_argument("--only", default=",".join(SECTIONS))
    parser.add_argument("--probe", nargs=2, metavar=("KIND", "N"), help=argparse.SUPPRESS)
    parser.add_argument("--lane", help=argparse.SUPPRESS)  # a lane's worker: these sections, then exit
    parser.add_argument("--lane-out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.lane:
        _run_sections("quick" if args.quick else "full", tuple(args.lane.split(",")), args.lane_out)
        return
    if args.probe:
        sys.path.insert(0, str(BENCH_DIR))
        from memory import probe

        probe(int(args.probe[1]))
        return
    if not args.readme_only:
        only = tuple(s for s in args.only.split(",") if s)
        unknown = set(only) - set(SECTIONS)
        if unknown:
            parser.error(f"unknown section(s) {', '.join(sorted(unknown))}: choose from {', '.join(SECTIONS)}")
        results = run("quick" if args.quick else "full", only)
        write_atomic(RESULTS_PATH, json.dumps(results, indent=2) + "\n")
    sys.path.insert(0, str(BENCH_DIR))
    from report import render

    write_atomic(README_PATH, render(json.loads(RESULTS_PATH.read_text())))
    print(f"wrote {RESULTS_PATH.relative_to(REPO_DIR)} and {README_PATH.relative_to(REPO_DIR)}")


if __name__ == "__main__":
    main()
