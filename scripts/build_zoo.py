"""Train, evaluate and package the shipped zoo (heavy: run under nohup; safe to interrupt).

    .venv/bin/python scripts/build_zoo.py [TAG ...] [--n 1000] [--suite standard] [--threads 1]

For each planned model: train with the trainer (which resumes an interrupted run in
runs/zoo/<tag>), copy the selected weights to robustbench_logits/weights/<tag>.safetensors,
evaluate with ``benchmark`` (cached in runs/zoo/<tag>/evaluation-<suite>-<n>.json, so a finished
evaluation is not redone), and write the zoo record robustbench_logits/weights/<tag>.json that
model cards and leaderboard entries are derived from. Every number in a record is computed here.

Budget: the CPU of this project has 2 cores and no GPU, so each model trains for a stated
fraction of its paper's schedule (``epochs``), and adversarial recipes cap the inner PGD at 10
steps of 2.5 * eps / 10 (Madry et al.'s step rule). Both are written into the record.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from robustbench_logits import benchmark  # noqa: E402
from robustbench_logits._files import load_weights, sha256_file, write_json  # noqa: E402
from robustbench_logits.recipes import get_recipe  # noqa: E402
from robustbench_logits.train import train  # noqa: E402
from robustbench_logits.zoo import WEIGHTS_DIR, ZooEntry  # noqa: E402

RUNS = ROOT / "runs" / "zoo"
EPS = 0.3  # MNIST Linf, as in Kanai et al. sec. 5 and RobustBench-style MNIST evaluations


@dataclass(frozen=True)
class ZooPlan:
    """One model to ship: which recipe on which architecture, and the training budget."""

    name: str
    tag: str
    recipe: str
    arch: str
    epochs: int
    setup_changes: dict[str, Any] = field(default_factory=dict)
    budget: str = ""


_PGD10 = ("inner PGD capped at 10 steps of 2.5 * eps / 10 (paper: 40 steps of 0.01), eps warmed up linearly"
          " from 0 over the first 2 epochs (without it 2C2F stayed at chance accuracy in 3 epochs of PGD-AT)")

PLANS = [
    ZooPlan("Standard_2C2F", "cnn2c2f.standard_mnist", "standard", "cnn2c2f", 10,
            budget="10 of Kanai's 100 epochs"),
    ZooPlan("Kanai2021Constraining_BLF_2C2F", "cnn2c2f.blf_mnist", "blf", "cnn2c2f", 10,
            budget="10 of Kanai's 100 epochs"),
    ZooPlan("Kanai2021Constraining_LSM_2C2F", "cnn2c2f.label_smoothing_mnist", "label-smoothing", "cnn2c2f", 10,
            budget="10 of Kanai's 100 epochs"),
    ZooPlan("Kanai2021Constraining_LSQ_2C2F", "cnn2c2f.logit_squeezing_mnist", "logit-squeezing", "cnn2c2f", 10,
            budget="10 of Kanai's 100 epochs"),
    # LCAT at its paper lambda = 15 trains to a constant classifier (measured on 2C2F and on
    # ResNet-18, LCAT's own MNIST net: the amplitude term's gradient is ~1000x the focal term's, the
    # logits blow up and tanh saturates). lambda = 0.01 with lr 0.05 is the largest setting found
    # that learns; it is a departure from the paper, recorded in the record's setup and budget.
    ZooPlan("LCAT_2C2F", "cnn2c2f.lcat_mnist", "lcat", "cnn2c2f", 10,
            setup_changes={"lr": 0.05, "hyperparameters": {"weight": 0.01}},
            budget="10 epochs; LAA weight lambda 0.01 and lr 0.05 instead of the paper's lambda 15 (which trains"
                   " to chance here, on 2C2F and ResNet-18); 2C2F instead of LCAT's ResNet-18 (CPU budget)"),
    ZooPlan("Li2021PCLC_LeNet5", "lenet5.pc_lc_mnist", "pc-lc", "lenet5", 10,
            budget="10 epochs (5 CE warm-up + 5 PC-LC)"),
    ZooPlan("Madry2018_PGDAT_2C2F", "cnn2c2f.pgd_at_mnist", "pgd-at", "cnn2c2f", 6,
            budget="6 of Kanai's 100 epochs"),
    ZooPlan("Kanai2021Constraining_BLF_AT_2C2F", "cnn2c2f.blf_at_mnist", "blf-at", "cnn2c2f", 6,
            budget="6 of Kanai's 100 epochs"),
    ZooPlan("Zhang2019TRADES_2C2F", "cnn2c2f.trades_mnist", "trades", "cnn2c2f", 6,
            budget="6 of Kanai's 100 epochs"),
    ZooPlan("LMA_AT_2C2F", "cnn2c2f.lma_at_mnist", "lma-at", "cnn2c2f", 6,
            budget="6 epochs of the adapted MNIST setting (the paper has no MNIST setting)"),
]


def _recipe_for(plan: ZooPlan):
    """The recipe with its MNIST setting shrunk to the plan's budget (recorded in the setup)."""
    recipe = get_recipe(plan.recipe)
    setup = recipe.setup("mnist", plan.arch)
    changes: dict[str, Any] = {"epochs": plan.epochs, **plan.setup_changes}
    if "hyperparameters" in plan.setup_changes:  # merged into the recipe's, not replacing them
        changes["hyperparameters"] = {**setup.hyperparameters, **plan.setup_changes["hyperparameters"]}
    if setup.attack is not None and setup.attack.steps > 10:
        changes["attack"] = dataclasses.replace(setup.attack, steps=10, step_size=2.5 * setup.attack.eps / 10,
                                                eps_warmup_epochs=2)
    if "ce_warmup_epochs" in setup.hyperparameters:
        changes["hyperparameters"] = {**changes.get("hyperparameters", setup.hyperparameters),
                                      "ce_warmup_epochs": plan.epochs // 2}
    budget = plan.budget + (f"; {_PGD10}" if "attack" in changes else "")
    setup = dataclasses.replace(setup, budget=budget, **changes)
    return dataclasses.replace(recipe, setups=(setup,))


def build(plan: ZooPlan, n_examples: int, suite: str, threads: int) -> Path:
    run_dir = RUNS / plan.tag
    result = train(_recipe_for(plan), "mnist", plan.arch, run_dir, threads=threads, progress=False)
    if not result.finished:
        raise SystemExit(f"{plan.tag}: training did not finish; run again to resume")
    WEIGHTS_DIR.mkdir(parents=True, exist_ok=True)
    weights = WEIGHTS_DIR / f"{plan.tag}.safetensors"
    shutil.copyfile(result.weights, weights)
    metadata = json.loads((run_dir / "metadata.json").read_text())
    entry = ZooEntry(
        name=plan.name, tag=plan.tag, arch=plan.arch, dataset="mnist", threat_model="Linf", eps=EPS,
        num_classes=metadata["num_classes"], in_chans=metadata["input_shape"][0], recipe=plan.recipe,
        paper=metadata["paper"], sha256=sha256_file(weights), head=metadata.get("head"),
        head_kwargs=metadata.get("head_kwargs") or {}, training=metadata,
    )
    record = WEIGHTS_DIR / f"{plan.tag}.json"
    evaluation_file = run_dir / f"evaluation-{suite}-{n_examples}.json"
    if evaluation_file.is_file() and json.loads(evaluation_file.read_text())["provenance"]["model"]["weights_sha256"] == entry.sha256:
        evaluation = json.loads(evaluation_file.read_text())
    else:
        import torch

        torch.set_num_threads(threads)
        # Built from the entry, not via zoo.load_model: the record is written only once complete.
        model = load_weights(entry.build(), entry.weights_path, expected_sha256=entry.sha256).eval()
        evaluation = benchmark(model, dataset="mnist", threat_model="Linf", eps=EPS, n_examples=n_examples,
                               suite=suite, model_name=plan.name, weights_sha256=entry.sha256,
                               progress=False).to_dict()
        write_json(evaluation_file, evaluation)
    write_json(record, {**entry.to_dict(), "evaluation": evaluation})
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tags", nargs="*", help="plan tags to build (default: all)")
    parser.add_argument("--n", type=int, default=1000, help="test examples for the evaluation")
    parser.add_argument("--suite", default="standard", choices=["standard", "full"])
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    plans = [p for p in PLANS if not args.tags or p.tag in args.tags]
    for plan in plans:
        record = build(plan, args.n, args.suite, args.threads)
        evaluation = json.loads(record.read_text())["evaluation"]
        print(f"{plan.tag}: clean {evaluation.get('clean_acc')}, AutoAttack {evaluation.get('autoattack_acc')}, "
              f"unreliable {evaluation.get('unreliable')} -> {record}", flush=True)


if __name__ == "__main__":
    main()
