"""Speed and memory benchmarks of robustbench_logits: writes results.json and regenerates README.md.

The project's rule: speed and memory are shown here (committed JSON + markdown), never asserted in
timed tests. Every timing runs with ``torch.set_num_threads(1)``, a few warm-up calls first, and
reports the median of several repeats (``time.perf_counter``). Peak memory (``ru_maxrss``) only
grows within a process, so each memory figure comes from a fresh subprocess of this script
(``--probe``) that does one thing. Linux hands a child the parent's peak at fork + exec, so the
probes run first, while this process has not imported torch yet (its own peak is recorded beside
each probe's); ``VmHWM`` from /proc, which starts afresh at exec, is recorded as a cross-check.

    .venv/bin/python benchmarks/run.py            # full run
    .venv/bin/python benchmarks/run.py --quick    # fewer repeats and examples
    .venv/bin/python benchmarks/run.py --readme-only   # re-render README.md from results.json
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
RESULTS_PATH = BENCH_DIR / "results.json"
README_PATH = BENCH_DIR / "README.md"

BATCH_SIZE = 128
MNIST_SHAPE = (1, 28, 28)
CIFAR_SHAPE = (3, 32, 32)
# Architecture -> input shape (C, H, W); "heavy" ones get the mode's smaller repeat count.
TRAIN_STEP_MODELS = {"lenet5": MNIST_SHAPE, "cnn2c2f": MNIST_SHAPE, "cnn4c3f": MNIST_SHAPE,
                     "resnet_small": CIFAR_SHAPE, "resnet18_cifar": CIFAR_SHAPE}
HEAVY_MODELS = ("resnet18_cifar",)
PGD_ARCH = "cnn2c2f"
PGD_STEPS = 10
PGD_EPS = 0.3  # MNIST L-inf
EVAL_MODELS = ("Standard_2C2F", "Madry2018_PGDAT_2C2F")  # non-robust (APGD-CE breaks all) and robust
EVAL_EPS = 0.3
TRAIN_SLICE_RECIPE = "pgd-at"  # the trainer with its inner PGD: the heaviest common training path


@dataclass(frozen=True)
class Mode:
    """How much work one run does."""

    name: str
    warmup: int
    repeats: int
    heavy_warmup: int
    heavy_repeats: int
    eval_examples: int
    train_slice_examples: int
    startup_repeats: int


MODES = {
    "full": Mode("full", warmup=3, repeats=10, heavy_warmup=1, heavy_repeats=3,
                 eval_examples=100, train_slice_examples=2560, startup_repeats=5),
    "quick": Mode("quick", warmup=1, repeats=3, heavy_warmup=1, heavy_repeats=1,
                  eval_examples=25, train_slice_examples=640, startup_repeats=2),
}


# --- measuring -----------------------------------------------------------------------------------------------


def _summary(times: list[float], warmup: int) -> dict[str, Any]:
    return {"median_s": round(statistics.median(times), 5), "min_s": round(min(times), 5),
            "max_s": round(max(times), 5), "repeats": len(times), "warmup": warmup}


def _timed(fn: Callable[[], object], warmup: int, repeats: int) -> dict[str, Any]:
    """Median (and spread) of ``repeats`` calls of ``fn`` after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return _summary(times, warmup)


def _max_rss_mib() -> float:
    """This process's peak resident set size so far (ru_maxrss: KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024, 1)


def _vm_hwm_mib() -> float | None:
    """Peak RSS of this process's address space since exec (Linux /proc VmHWM), or None elsewhere."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def _quiet_upstream_warnings() -> None:
    # Deprecation noise from torch.jit via timm/torchattacks; it says nothing about the measurement.
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", message="pkg_resources is deprecated")


def _batch(shape: tuple[int, int, int], seed: int = 0) -> tuple[Any, Any]:
    import torch

    generator = torch.Generator().manual_seed(seed)
    x = torch.rand((BATCH_SIZE, *shape), generator=generator)
    y = torch.randint(0, 10, (BATCH_SIZE,), generator=generator)
    return x, y


def _train_step_fn(arch: str, shape: tuple[int, int, int]) -> Callable[[], None]:
    """One forward + backward + SGD step of ``arch`` on a fixed random batch."""
    import torch
    import torch.nn.functional as F

    from robustbench_logits.models import create_model

    torch.manual_seed(0)
    model = create_model(arch, num_classes=10, in_chans=shape[0]).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x, y = _batch(shape)

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        optimizer.step()

    step.model = model  # type: ignore[attr-defined]  # the PGD benchmark attacks the same model
    return step


# --- the benchmarks ------------------------------------------------------------------------------------------


def bench_train_steps(mode: Mode) -> dict[str, Any]:
    """Section 1: seconds per training step at batch 128, per architecture."""
    results = {}
    for arch, shape in TRAIN_STEP_MODELS.items():
        heavy = arch in HEAVY_MODELS
        step = _train_step_fn(arch, shape)
        n_params = sum(p.numel() for p in step.model.parameters())  # type: ignore[attr-defined]
        timing = _timed(step, mode.heavy_warmup if heavy else mode.warmup, mode.heavy_repeats if heavy else mode.repeats)
        results[arch] = {"input_shape": [BATCH_SIZE, *shape], "parameters": n_params, **timing,
                         "examples_per_s": round(BATCH_SIZE / timing["median_s"], 1)}
        print(f"  train step {arch:15s} {timing['median_s'] * 1000:9.1f} ms", flush=True)
    return results


def bench_inner_pgd(mode: Mode) -> dict[str, Any]:
    """Section 2: one PGD-10 inner maximisation vs one train step of the same model and batch.

    The two are timed alternately within each repeat, so machine-load drift hits both alike.
    """
    import torch

    from robustbench_logits._inner_max import inner_maximisation
    from robustbench_logits.recipes import InnerMax

    step = _train_step_fn(PGD_ARCH, MNIST_SHAPE)
    model = step.model  # type: ignore[attr-defined]
    x, y = _batch(MNIST_SHAPE)
    attack = InnerMax(eps=PGD_EPS, step_size=2.5 * PGD_EPS / PGD_STEPS, steps=PGD_STEPS)  # Madry's step rule
    generator = torch.Generator().manual_seed(0)

    def pgd() -> None:
        inner_maximisation(model, x, y, attack, generator)

    for _ in range(mode.warmup):
        step()
        pgd()
    step_times, pgd_times = [], []
    for _ in range(mode.repeats):
        for fn, times in ((step, step_times), (pgd, pgd_times)):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
    result = {"arch": PGD_ARCH, "batch_size": BATCH_SIZE, "attack": asdict(attack),
              "pgd_call": _summary(pgd_times, mode.warmup), "train_step": _summary(step_times, mode.warmup)}
    result["pgd_over_train_step"] = round(result["pgd_call"]["median_s"] / result["train_step"]["median_s"], 2)
    print(f"  PGD-{PGD_STEPS} {result['pgd_call']['median_s'] * 1000:.1f} ms = "
          f"{result['pgd_over_train_step']}x a train step", flush=True)
    return result


def _run_probe(args: list[str]) -> dict[str, Any]:
    """Run this script as ``--probe ...`` in a fresh process; its last stdout line is the JSON result."""
    completed = subprocess.run([sys.executable, str(Path(__file__).resolve()), *args],
                               check=False, capture_output=True, text=True, cwd=REPO_DIR)
    if completed.returncode != 0:
        raise RuntimeError(f"probe {args} failed:\n{completed.stderr[-3000:]}")
    return {**json.loads(completed.stdout.strip().splitlines()[-1]), "parent_max_rss_mib": _max_rss_mib()}


def bench_evaluation(mode: Mode) -> dict[str, Any]:
    """Sections 3 and 4 (evaluation): the standard suite on shipped zoo models, one fresh process each."""
    results: dict[str, Any] = {}
    for name in EVAL_MODELS:
        result = _run_probe(["--probe", "eval", "--model", name, "--n-examples", str(mode.eval_examples)])
        results[name] = result
        if "skipped" in result:
            print(f"  eval {name}: skipped ({result['skipped']})", flush=True)
            continue
        print(f"  eval {name:22s} {result['wall_time_s']:8.1f} s total, "
              f"{result['examples_per_s']:.2f} examples/s, peak RSS {result['max_rss_mib']} MiB", flush=True)
    return results


def bench_import_memory() -> dict[str, Any]:
    """Section 4 (floor): peak memory of a process that only imports robustbench_logits and torch."""
    result = _run_probe(["--probe", "import"])
    print(f"  imports only: peak RSS {result['max_rss_mib']} MiB", flush=True)
    return result


def bench_train_slice(mode: Mode) -> dict[str, Any]:
    """Section 4 (training): peak memory and time of a slice of a CPU-preset PGD-AT epoch, fresh process."""
    result = _run_probe(["--probe", "train", "--n-train", str(mode.train_slice_examples)])
    print(f"  train slice {result['steps']} steps {result['wall_time_s']:.1f} s, peak RSS {result['max_rss_mib']} MiB", flush=True)
    return result


def bench_startup(mode: Mode) -> dict[str, Any]:
    """Section 5: wall time of fresh processes; plain Python and ``import torch`` for reference."""
    rbl = Path(sys.executable).parent / "rbl"
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "import torch": [sys.executable, "-c", "import torch"],
        "import robustbench_logits": [sys.executable, "-c", "import robustbench_logits"],
        "rbl --help": [str(rbl), "--help"],
    }
    results = {}
    for label, command in commands.items():
        timing = _timed(lambda c=command: subprocess.run(c, check=True, capture_output=True, cwd=REPO_DIR),
                        warmup=1, repeats=mode.startup_repeats)
        results[label] = {"command": shlex.join([Path(command[0]).name, *command[1:]]), **timing}
        print(f"  start-up {label:26s} {timing['median_s']:.2f} s", flush=True)
    return results


# --- probes (run in a fresh subprocess) ----------------------------------------------------------------------


def probe_eval(model_name: str, n_examples: int) -> dict[str, Any]:
    import torch

    import robustbench_logits

    if model_name not in robustbench_logits.list_models():
        return {"skipped": "not in robustbench_logits.zoo.list_models()"}
    from robustbench_logits.zoo import get_entry

    torch.set_num_threads(1)
    model = robustbench_logits.load_model(model_name)  # checks the file against the record's sha256
    weights_sha256 = get_entry(model_name).sha256
    rss_before = _max_rss_mib()
    start = time.perf_counter()
    result = robustbench_logits.benchmark(model, dataset="mnist", eps=EVAL_EPS, n_examples=n_examples, suite="standard",
                                          model_name=model_name, weights_sha256=weights_sha256, progress=False)
    wall = time.perf_counter() - start
    record = result.to_dict()
    provenance = record["provenance"]
    return {
        "weights_sha256": weights_sha256, "n_examples": n_examples, "eps": EVAL_EPS, "suite": "standard",
        "clean_acc": record["clean_acc"], "autoattack_acc": record["autoattack_acc"],
        "wall_time_s": round(wall, 3), "examples_per_s": round(n_examples / wall, 3),
        "benchmark_wall_time_s": provenance["wall_time_s"],
        "attacks": [{"name": a["name"], "wall_time_s": a["wall_time_s"], "accuracy_after": a["accuracy_after"],
                     "newly_broken": a["newly_broken"]} for a in provenance["attacks"]],
        "max_rss_after_load_mib": rss_before, "max_rss_mib": _max_rss_mib(), "vm_hwm_mib": _vm_hwm_mib(),
    }


def probe_import() -> dict[str, Any]:
    import torch  # noqa: F401  (imported by the package's compat layer anyway: the floor of every job below)

    import robustbench_logits  # noqa: F401

    return {"max_rss_mib": _max_rss_mib(), "vm_hwm_mib": _vm_hwm_mib()}


def probe_train(n_train: int) -> dict[str, Any]:
    import torch

    from robustbench_logits.train import train

    torch.set_num_threads(1)
    rss_before = _max_rss_mib()
    with tempfile.TemporaryDirectory() as out_dir:
        start = time.perf_counter()
        train(TRAIN_SLICE_RECIPE, "mnist", PGD_ARCH, out_dir, preset="cpu", epochs=1, batch_size=BATCH_SIZE,
              n_train=n_train, n_eval=256, progress=False, threads=1)
        wall = time.perf_counter() - start
    steps = -(-n_train // BATCH_SIZE)
    return {"recipe": TRAIN_SLICE_RECIPE, "preset": "cpu", "arch": PGD_ARCH, "dataset": "mnist",
            "n_train": n_train, "n_eval": 256, "batch_size": BATCH_SIZE, "steps": steps,
            "wall_time_s": round(wall, 3), "seconds_per_step": round(wall / steps, 4),
            "max_rss_before_training_mib": rss_before, "max_rss_mib": _max_rss_mib(), "vm_hwm_mib": _vm_hwm_mib()}


# --- machine facts and the report ----------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _git_commit() -> str:
    completed = subprocess.run(["git", "rev-parse", "--short", "HEAD"], check=False, capture_output=True, text=True, cwd=REPO_DIR)
    return completed.stdout.strip() or "unknown"


def machine_facts(default_threads: int) -> dict[str, Any]:
    import torch

    from robustbench_logits._files import package_versions

    return {
        "date_utc": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "git_commit": _git_commit(),
        "platform": platform.platform(),
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpus_available": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "torch_threads_default": default_threads,
        "torch_threads_used": torch.get_num_threads(),
        "versions": package_versions(),
    }


def _fmt_ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def _fmt_mib(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f} MiB"


def render_readme(results: dict[str, Any]) -> str:
    """The markdown report of ``results`` (the content of results.json)."""
    machine, load = results["machine"], results["load"]
    cores = machine["cpu_count"]
    lines = [
        "# Benchmarks",
        "",
        ("Speed and memory of robustbench_logits, measured by `benchmarks/run.py` (generated file: "
        "edit `run.py`, then rerun it or `run.py --readme-only`). Numbers live here, never in timed tests."),
        "",
        "    .venv/bin/python benchmarks/run.py           # full run (about 2 min on 2 busy cores)",
        "    .venv/bin/python benchmarks/run.py --quick   # fewer repeats and examples (under 1 min)",
        "",
        ("Method: `torch.set_num_threads(1)`, warm-up calls, then the median of several repeats "
        "(`time.perf_counter`); min-max in brackets. Evaluations are one call per model (too slow to repeat). "
        "Peak memory is `ru_maxrss` of a fresh subprocess that does only that one job. Inputs for step "
        "timings are random tensors of the dataset's shape."),
        "",
        "## Machine and load",
        "",
        (f"- Measured {machine['date_utc']} at commit `{machine['git_commit']}`, mode `{results['mode']['name']}`, "
        f"{results['total_wall_time_s']:.0f} s in total."),
        (f"- {machine['cpu_model']}, {cores} CPUs ({machine['cpus_available']} available), {machine['platform']}; "
        f"torch {machine['versions'].get('torch', '?')}, {machine['torch_threads_used']} thread "
        f"(default {machine['torch_threads_default']})."),
        (f"- Load average (1, 5, 15 min) before: {', '.join(f'{v:.2f}' for v in load['before'])}; "
        f"after: {', '.join(f'{v:.2f}' for v in load['after'])}."),
    ]
    if load.get("note"):
        lines.append(f"- **{load['note']}**")
    if max(load["before"][0], load["after"][0]) >= 0.5 * cores:
        lines.append(f"- **These are not quiet-machine numbers**: the 1-minute load was up to "
                     f"{max(load['before'][0], load['after'][0]):.1f} on {cores} cores while measuring, so "
                     "times are inflated (roughly up to 2x on a fully shared core) and noisier than on an idle machine.")

    lines += ["", f"## 1. Training step (forward + backward + SGD, batch {BATCH_SIZE})", "",
              "| architecture | input | parameters | median | [min, max] | repeats | examples/s |",
              "|---|---|---:|---:|---:|---:|---:|"]
    for arch, r in results["train_step"].items():
        lines.append(f"| `{arch}` | {'x'.join(map(str, r['input_shape'][1:]))} | {r['parameters']:,} | "
                     f"{_fmt_ms(r['median_s'])} | [{_fmt_ms(r['min_s'])}, {_fmt_ms(r['max_s'])}] | "
                     f"{r['repeats']} | {r['examples_per_s']:,.0f} |")

    pgd = results["inner_pgd"]
    attack = pgd["attack"]
    lines += ["", f"## 2. Inner PGD cost (`_inner_max.inner_maximisation`, `{pgd['arch']}`, batch {pgd['batch_size']})", "",
              (f"PGD-{attack['steps']} (eps {attack['eps']}, step {attack['step_size']:.3g}, {attack['loss']}, "
              f"{attack['start']} start), timed alternately with a train step of the same model and batch:"), "",
              "| call | median | [min, max] |", "|---|---:|---:|",
              (f"| one PGD-{attack['steps']} call | {_fmt_ms(pgd['pgd_call']['median_s'])} | "
              f"[{_fmt_ms(pgd['pgd_call']['min_s'])}, {_fmt_ms(pgd['pgd_call']['max_s'])}] |"),
              (f"| one train step | {_fmt_ms(pgd['train_step']['median_s'])} | "
              f"[{_fmt_ms(pgd['train_step']['min_s'])}, {_fmt_ms(pgd['train_step']['max_s'])}] |"),
              "", (f"One PGD-{attack['steps']} call costs **{pgd['pgd_over_train_step']}x** a train step, so a PGD-AT "
              f"step costs about {pgd['pgd_over_train_step'] + 1:.1f}x a standard one.")]

    lines += ["", "## 3. Evaluation throughput (`benchmark(..., suite=\"standard\")`, MNIST, eps 0.3)", "",
              ("One call per model in a fresh process. Wall time per attack from the result's provenance "
              "(`provenance.attacks[i].wall_time_s`), plus the masking-diagnostic probes; AutoAttack's cascade "
              "only attacks the examples still robust, so an attack after the one that broke everything costs ~0 s. "
              "`total` is the whole call (data loading and clean pass included)."), "",
              "| zoo model | n | clean | AutoAttack | total | examples/s | per attack (s) |",
              "|---|---:|---:|---:|---:|---:|---|"]
    for name, r in results["evaluation"].items():
        if "skipped" in r:
            lines.append(f"| `{name}` | skipped: {r['skipped']} | | | | | |")
            continue
        per_attack = ", ".join([f"{a['name'].split('/')[-1]} {a['wall_time_s']:.1f}" for a in r["attacks"]]
                               + [f"probes {r['benchmark_wall_time_s']['probes']:.1f}"])
        lines.append(f"| `{name}` | {r['n_examples']} | {r['clean_acc']:.2f} | {r['autoattack_acc']:.2f} | "
                     f"{r['wall_time_s']:.1f} s | {r['examples_per_s']:.2f} | {per_attack} |")
    evaluated = [(name, r["weights_sha256"]) for name, r in results["evaluation"].items() if "weights_sha256" in r]
    if evaluated:
        lines += ["", "Weights (sha256): " + "; ".join(f"`{name}` `{sha[:16]}...`" for name, sha in evaluated) + "."]

    train_slice = results["train_slice"]
    lines += ["", "## 4. Peak memory (`ru_maxrss`, fresh process each)", "",
              ("`ru_maxrss` of the probe process; VmHWM (its address space's peak since exec) agrees when the "
              "launcher's own peak, inherited at fork + exec, was smaller."), "",
              "| job | peak RSS (ru_maxrss) | VmHWM | peak before the job | wall time |", "|---|---:|---:|---:|---:|"]
    floor = results["import_memory"]
    lines.append(f"| `import robustbench_logits, torch` only (the floor: torch's own libraries) | {floor['max_rss_mib']:.0f} MiB | "
                 f"{_fmt_mib(floor.get('vm_hwm_mib'))} | | |")
    for name, r in results["evaluation"].items():
        if "skipped" not in r:
            lines.append(f"| standard-suite evaluation, `{name}`, n={r['n_examples']} | {r['max_rss_mib']:.0f} MiB | "
                         f"{_fmt_mib(r.get('vm_hwm_mib'))} | "
                         f"{r['max_rss_after_load_mib']:.0f} MiB (after imports + load) | {r['wall_time_s']:.1f} s |")
    lines.append(f"| training epoch slice: `train(\"{train_slice['recipe']}\", preset=\"{train_slice['preset']}\")`, "
                 f"`{train_slice['arch']}`, {train_slice['n_train']} examples = {train_slice['steps']} steps of "
                 f"{train_slice['batch_size']} | {train_slice['max_rss_mib']:.0f} MiB | {_fmt_mib(train_slice.get('vm_hwm_mib'))} | "
                 f"{train_slice['max_rss_before_training_mib']:.0f} MiB (after imports) | {train_slice['wall_time_s']:.1f} s "
                 f"({train_slice['seconds_per_step']:.2f} s/step) |")

    lines += ["", "## 5. Start-up time (fresh process)", "",
              ("`import robustbench_logits` loads torch (its compat layer) but not timm, torchattacks or the attack "
              "code; plain Python and `import torch` are the reference points."), "",
              "| command | median | [min, max] | repeats |", "|---|---:|---:|---:|"]
    for r in results["startup"].values():
        lines.append(f"| `{r['command']}` | {r['median_s']:.2f} s | [{r['min_s']:.2f}, {r['max_s']:.2f}] | {r['repeats']} |")
    lines += ["", "Package versions: " + ", ".join(f"{k} {v}" for k, v in machine["versions"].items()) + ".", ""]
    return "\n".join(lines)


def run(mode: Mode, load_note: str) -> dict[str, Any]:
    load_before = os.getloadavg()
    started = time.perf_counter()
    print(f"mode {mode.name}; load average {load_before}", flush=True)
    results: dict[str, Any] = {"mode": asdict(mode)}
    # Fresh-process jobs first, while this process is small (see the module docstring).
    print("4. imports only (fresh process)", flush=True)
    results["import_memory"] = bench_import_memory()
    print("3. evaluation (fresh process per model)", flush=True)
    results["evaluation"] = bench_evaluation(mode)
    print("4. training epoch slice (fresh process)", flush=True)
    results["train_slice"] = bench_train_slice(mode)
    print("5. start-up", flush=True)
    results["startup"] = bench_startup(mode)

    import torch

    default_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    results["machine"] = machine_facts(default_threads)
    print("1. train steps", flush=True)
    results["train_step"] = bench_train_steps(mode)
    print("2. inner PGD", flush=True)
    results["inner_pgd"] = bench_inner_pgd(mode)
    results["total_wall_time_s"] = round(time.perf_counter() - started, 1)
    results["load"] = {"before": [round(v, 2) for v in load_before],
                       "after": [round(v, 2) for v in os.getloadavg()], "note": load_note}
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, fewer evaluation examples")
    parser.add_argument("--readme-only", action="store_true", help="re-render README.md from results.json; measure nothing")
    parser.add_argument("--load-note", default="", help="what else was running, stated in README.md")
    parser.add_argument("--out", type=Path, default=RESULTS_PATH, help="results JSON path")
    parser.add_argument("--readme", type=Path, default=README_PATH, help="README path")
    # Internal: one job in a fresh process, for a clean ru_maxrss.
    parser.add_argument("--probe", choices=("import", "eval", "train"), help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--n-examples", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--n-train", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    _quiet_upstream_warnings()

    if args.probe == "import":
        print(json.dumps(probe_import()))
        return
    if args.probe == "eval":
        print(json.dumps(probe_eval(args.model, args.n_examples)))
        return
    if args.probe == "train":
        print(json.dumps(probe_train(args.n_train)))
        return
    if args.readme_only:
        results = json.loads(args.out.read_text())
    else:
        results = run(MODES["quick" if args.quick else "full"], args.load_note)
        args.out.write_text(json.dumps(results, indent=2) + "\n")
        print(f"wrote {args.out}")
    args.readme.write_text(render_readme(results))
    print(f"wrote {args.readme}")


if __name__ == "__main__":
    main()
