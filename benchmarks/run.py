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
import time
import warnings
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
RESULTS_PATH = BENCH_DIR / "results.json"
README_PATH = BENCH_DIR / "README.md"
SECTIONS = ("training", "inner_attack", "pooling", "allocator", "evaluation", "scaleout", "memory")

MODES: dict[str, dict[str, Any]] = {
    # sizes chosen so that `make bench` takes under 20 minutes on two quiet cores (the evaluation's
    # pairs and the scale-out's work large enough that start-up and one unlucky example do not decide a ratio)
    "full": {"train_pairs": 5, "train_warmup": 1, "eval_n": 16, "eval_pairs": 3, "scale_eval_n": 32, "scale_train_n": 32768,
             "scale_eval_pairs": 1, "scale_train_pairs": 3, "memory_n": (1000, 10000)},
    "quick": {"train_pairs": 1, "train_warmup": 0, "eval_n": 4, "eval_pairs": 1, "scale_eval_n": 4, "scale_train_n": 256,
              "scale_eval_pairs": 1, "scale_train_pairs": 2, "memory_n": (100, 1000)},
}


def _load() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


def _busiest_processes(limit: int = 8) -> list[str]:
    """The processes using most CPU right now (other helpers' trainings, test runs ...)."""
    completed = subprocess.run(["ps", "-eo", "stat,pcpu,etimes,args", "--sort=-pcpu"], capture_output=True, text=True,
                               check=False)
    rows = []
    for line in completed.stdout.splitlines()[1:]:
        parts = line.split(None, 3)
        # ps's %CPU is the process's lifetime average; a stopped process (state T: paused for the
        # benchmark with SIGSTOP) takes no CPU now, whatever its average says
        if (len(parts) == 4 and not parts[0].startswith("T") and float(parts[1]) >= 5.0
                and str(os.getpid()) not in line and " ps " not in line):
            rows.append(f"{parts[1]}% {parts[3][:110]}")
    return rows[:limit]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine(start_load: list[float], end_load: list[float], busy: list[str], seconds: float, mode: str) -> dict[str, Any]:
    import torch

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


def run(mode: str, only: tuple[str, ...]) -> dict[str, Any]:
    sys.path.insert(0, str(BENCH_DIR))
    warnings.filterwarnings("ignore")
    sizes = MODES[mode]
    start_load, busy, started = _load(), _busiest_processes(), time.perf_counter()
    results: dict[str, Any] = json.loads(RESULTS_PATH.read_text()) if only != SECTIONS and RESULTS_PATH.exists() else {}
    def section(name: str, work: Any) -> None:
        """Run one section; a failure is recorded (and the other sections still run), and the
        results so far are written after each, so a long run loses nothing."""
        if name not in only:
            return
        load, begun = _load(), time.perf_counter()
        try:
            results[name] = work()
        except Exception as error:  # recorded in results.json and the README, not hidden
            results[name] = {"error": f"{type(error).__name__}: {str(error)[-2000:]}"}
        results.setdefault("section_runs", {})[name] = {
            "finished": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "seconds": round(time.perf_counter() - begun, 1), "load_average_before": load,
            "load_average_after": _load()}
        RESULTS_PATH.write_text(json.dumps(results, indent=2) + "\n")

    def bench(module: str, function: str) -> Any:
        """A section's function, imported when the section starts."""
        return getattr(importlib.import_module(module), function)

    section("training", lambda: bench("training", "bench_training")(sizes["train_pairs"], warmup=sizes["train_warmup"]))
    section("inner_attack", lambda: bench("training", "bench_inner_attack_gradients")(sizes["train_pairs"]))
    section("pooling", lambda: bench("pooling", "bench_pooling")(sizes["train_pairs"]))
    section("allocator", lambda: bench("allocator", "bench_allocator")(sizes["train_pairs"]))
    section("evaluation", lambda: bench("evaluation", "bench_evaluation")(sizes["eval_n"], sizes["eval_pairs"]))
    section("scaleout", lambda: bench("scaleout", "bench_scaleout")(sizes["scale_eval_n"], sizes["scale_train_n"],
                                                                    sizes["scale_eval_pairs"], sizes["scale_train_pairs"]))
    section("memory", lambda: bench("memory", "bench_memory")(tuple(sizes["memory_n"]), Path(__file__).resolve()))
    busy += [p for p in _busiest_processes() if p not in busy]
    if "machine" in results:  # a partial run (--only) keeps the machine facts of the run it adds to
        earlier = results.pop("machine")
        results["earlier_runs"] = [*results.get("earlier_runs", []), earlier]
    results["machine"] = machine(start_load, _load(), busy, time.perf_counter() - started, mode)
    results["machine"]["sections"] = list(only)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--readme-only", action="store_true")
    parser.add_argument("--only", default=",".join(SECTIONS))
    parser.add_argument("--probe", nargs=2, metavar=("KIND", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
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
        RESULTS_PATH.write_text(json.dumps(results, indent=2) + "\n")
    sys.path.insert(0, str(BENCH_DIR))
    from report import render

    README_PATH.write_text(render(json.loads(RESULTS_PATH.read_text())))
    print(f"wrote {RESULTS_PATH.relative_to(REPO_DIR)} and {README_PATH.relative_to(REPO_DIR)}")


if __name__ == "__main__":
    main()
