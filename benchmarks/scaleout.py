"""scaleout.speedup_2proc: ``torchrun --nproc_per_node=2`` over one process, same work, same results.

Whole processes, started alternately (one process, then two, then one ...), so start-up and
process-group set-up are inside the figure, as a user pays them. The speedup is the median of the
per-pair ratios t(1 process) / t(2 processes). Identical results are checked, not assumed: the
evaluation's per-attack accuracies must be equal. Trained weights cannot be bit-identical: DDP sums
the two ranks' gradients in another order than one process sums the batch, and adversarial training
amplifies that last-bit difference (PGD steps along sign(gradient), so a component near zero flips a
whole step; 3e-8 after 1,024 examples, 1e-2 after 8,192, 0.5 after 32,768). So the training figure
reports the weight difference and tests what a user needs instead: that two processes train a model
from the same distribution as one. On the same 1,000 test examples, clean and under PGD-10, the 1- and
2-process models must be indistinguishable (exact two-sided McNemar test, p >= 0.05) or differ by no
more than two 1-process runs that differ only in their seed (the run-to-run spread of one epoch of
adversarial training, measured in the same benchmark).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import timm
import torch
import torchattacks
from safetensors.torch import load_file
from scipy.stats import binomtest

import robustbench_logits  # noqa: F401  (registers cnn2c2f with timm)
from robustbench_logits.evaluation.inputs import resolve_dataset

BIN = Path(sys.executable).parent
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
EVAL_MODEL = "cnn2c2f.pgd_at_mnist"  # robust: every attack has work to do (a timm tag: names repeat across datasets)
# Chunks of the sharded evaluation: ranks take every other chunk, so more, smaller chunks balance
# the robust examples (where the attacks spend their time) between the two ranks.
CHUNKS = 8


def _cli(nproc: int) -> list[str]:
    if nproc == 1:
        return [sys.executable, "-m", "robustbench_logits.cli"]
    return [str(BIN / "torchrun"), "--standalone", f"--nproc_per_node={nproc}", "-m", "robustbench_logits.cli"]


def _run(command: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    completed = subprocess.run(command, cwd=cwd, env=ENV, capture_output=True, text=True)
    if completed.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{completed.stderr[-3000:]}")
    return time.perf_counter() - started


def _speedup(make: Any, pairs: int, work: Path) -> dict[str, Any]:
    ratios, one, two = [], [], []
    for i in range(pairs):
        order = (1, 2) if i % 2 == 0 else (2, 1)
        times = {nproc: _run(make(nproc, work / f"{nproc}"), work) for nproc in order}
        one.append(times[1])
        two.append(times[2])
        ratios.append(times[1] / times[2])
    return {"speedup_2proc": round(statistics.median(ratios), 3), "min": round(min(ratios), 3),
            "max": round(max(ratios), 3), "one_process_median_s": round(statistics.median(one), 2),
            "two_processes_median_s": round(statistics.median(two), 2), "pairs": pairs, "target": 1.6}


def _correct(weights: Path, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-example correctness of the trained cnn2c2f, clean and under PGD-10 at eps 0.3 (seeded start)."""
    model = timm.create_model("cnn2c2f", num_classes=10)
    model.load_state_dict(load_file(str(weights)))
    model.eval()
    torch.manual_seed(0)
    x_adv = torchattacks.PGD(model, eps=0.3, alpha=0.075, steps=10, random_start=True)(x, y)
    with torch.no_grad():
        return model(x).argmax(1) == y, model(x_adv).argmax(1) == y


def _same_distribution(one: Path, two: Path, other_seed: Path, n: int = 1000) -> dict[str, Any]:
    """Clean and PGD-10 accuracy of the 1-process, 2-process and other-seed 1-process models on the same
    examples: the exact McNemar test of 1 vs 2 processes, and the seed-to-seed gap to compare it with."""
    _, x, y, _ = resolve_dataset("mnist", n, None)
    (clean_a, robust_a), (clean_b, robust_b), (clean_s, robust_s) = (_correct(w, x, y) for w in (one, two, other_seed))
    figures: dict[str, Any] = {"n_test": n}
    for name, a, b, s in (("clean", clean_a, clean_b, clean_s), ("pgd10", robust_a, robust_b, robust_s)):
        only_a, only_b = int((a & ~b).sum()), int((b & ~a).sum())
        p = 1.0 if only_a + only_b == 0 else float(binomtest(only_a, only_a + only_b, 0.5).pvalue)
        acc_a, acc_b, acc_s = (float(t.float().mean()) for t in (a, b, s))
        figures[name] = {"one_process_acc": acc_a, "two_processes_acc": acc_b, "other_seed_acc": acc_s,
                         "only_one_process_right": only_a, "only_two_processes_right": only_b, "mcnemar_p": round(p, 4),
                         "same": p >= 0.05 or abs(acc_a - acc_b) <= abs(acc_a - acc_s)}
    figures["same_distribution"] = figures["clean"]["same"] and figures["pgd10"]["same"]
    return figures


def bench_scaleout(n_eval: int, n_train: int, pairs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="rbl-bench-") as tmp:
        work = Path(tmp)

        def evaluation(nproc: int, out: Path) -> list[str]:
            return [*_cli(nproc), "eval", EVAL_MODEL, "--dataset", "mnist", "-n", str(n_eval), "--batch-size",
                    str(max(1, n_eval // CHUNKS)), "--no-progress", "--out", str(out.with_suffix(".json"))]

        def training(nproc: int, out: Path) -> list[str]:
            return [*_cli(nproc), "train", "--recipe", "pgd-at", "--dataset", "mnist", "--arch", "cnn2c2f",
                    "--preset", "cpu", "--epochs", "1", "--n-train", str(n_train + 256), "--val-size", "256",
                    "--n-eval", "256", "--n-val-robust", "0", "--threads", "1", "--no-progress",
                    "--out", str(out)]

        eval_figures = _speedup(evaluation, pairs, work)
        one = json.loads((work / "1.json").read_text())
        two = json.loads((work / "2.json").read_text())
        eval_figures["identical_results"] = one.get("per_attack") == two.get("per_attack") and \
            one.get("worst_case_acc") == two.get("worst_case_acc")
        eval_figures.update({"model": EVAL_MODEL, "n_examples": n_eval, "chunks": CHUNKS})

        train_figures = _speedup(training, pairs, work)
        weights = [work / str(nproc) / "model.safetensors" for nproc in (1, 2)]
        if all(path.is_file() for path in weights):
            a, b = load_file(str(weights[0])), load_file(str(weights[1]))
            diff = max(float((a[k].float() - b[k].float()).abs().max()) for k in a)
            train_figures["max_abs_weight_difference"] = diff
            train_figures["identical_weights"] = diff <= 1e-5
            _run(training(1, work / "seed1") + ["--seed", "1"], work)
            train_figures["same_predictions"] = _same_distribution(*weights, work / "seed1" / "model.safetensors")
            train_figures["identical_results"] = train_figures["same_predictions"]["same_distribution"]
        train_figures.update({"recipe": "pgd-at", "arch": "cnn2c2f", "n_train": n_train, "n_val": 256, "epochs": 1})
    return {"evaluation": eval_figures, "training": train_figures}
