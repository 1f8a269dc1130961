"""Cost of the whole evaluation (cascade, probes, adaptive attacks, escalation) against AutoAttack
standard alone (pyautoattack's ``run_standard_evaluation``) on the same examples of a zoo model.

Measured, never asserted in a test (issue 8: "on the shipped PGD-AT model the whole evaluation with
escalation costs at most 1.5x AutoAttack standard alone"). Run with one thread:

    nice -n 10 env OMP_NUM_THREADS=1 .venv/bin/python benchmarks/escalation_cost.py \\
        --model cnn2c2f.pgd_at_mnist -n 500 --out runs/escalation_cost.json

Wall time depends on the machine's load (both runs share it in turn); the example passes
(forward/backward per example, counted at the model's output) do not.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import torch

from robustbench_logits.models.pretrained import load_model
from robustbench_logits._files import write_json
from robustbench_logits.attacks import PassCounter
from robustbench_logits.data import load_dataset
from robustbench_logits.evaluation import benchmark


def autoattack_alone(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float,
                     batch_size: int) -> dict:
    """pyautoattack's own AutoAttack standard, its passes counted like ours."""
    from pyautoattack import AutoAttack

    counter = PassCounter()
    counted = counter.wrap(model)
    logging.getLogger("auto-attack").setLevel(logging.ERROR)
    started = time.perf_counter()
    adversary = AutoAttack(counted, norm="Linf", eps=eps, version="standard", seed=0, device="cpu")
    adversary.logger.setLevel(logging.ERROR)
    x_adv, _ = adversary.run_standard_evaluation(x, y, batch_size=batch_size)  # pyautoattack also returns labels
    seconds = time.perf_counter() - started
    with torch.no_grad():
        robust = float((model(x_adv).argmax(1) == y).float().mean())
    return {"seconds": round(seconds, 1), "passes": counter.as_dict(), "robust_accuracy": robust}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="cnn2c2f.pgd_at_mnist")  # a timm tag: the name repeats across datasets
    parser.add_argument("-n", type=int, default=500)
    parser.add_argument("--eps", type=float, default=0.3)
    parser.add_argument("--batch-size", type=int, default=250)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    torch.set_num_threads(1)
    model = load_model(args.model).eval()
    x, y = load_dataset("mnist", split="test", n_examples=args.n)
    started = time.perf_counter()
    result = benchmark(model, dataset="mnist", eps=args.eps, n_examples=args.n, batch_size=args.batch_size,
                       model_name=args.model, progress=False)
    ours_seconds = time.perf_counter() - started
    rounds = result.escalation["rounds"]
    ours = {"seconds": round(ours_seconds, 1), "passes": rounds[-1]["passes"], "base_passes": rounds[0]["passes"],
            "worst_case_acc": result.worst_case_acc, "worst_case_ci95": result.worst_case["ci95"],
            "autoattack_acc": result.autoattack_acc, "converged": result.escalation["converged"],
            "rounds": [{k: r[k] for k in ("name", "robust_accuracy", "newly_broken", "passes", "seconds")} for r in rounds],
            "indicators": [(i["name"], i["severity"]) for i in result.indicators], "unreliable": result.unreliable}
    write_json(args.out, {"model": args.model, "n_examples": args.n, "eps": args.eps, "ours": ours})  # kept if AA fails
    alone = autoattack_alone(model, x, y, args.eps, args.batch_size)

    def total(p: dict) -> int:
        return p["forward"] + p["backward"]

    record = {"model": args.model, "n_examples": args.n, "eps": args.eps, "ours": ours, "autoattack_alone": alone,
              "ratio_seconds": round(ours["seconds"] / alone["seconds"], 3),
              "ratio_passes": round(total(ours["passes"]) / total(alone["passes"]), 3)}
    write_json(args.out, record)
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
