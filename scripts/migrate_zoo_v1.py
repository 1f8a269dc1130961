"""Rewrite the first zoo's records (schema 1: one 45-61 KB JSON) as schema-2 records plus side files.

    .venv/bin/python scripts/migrate_zoo_v1.py

Run once; kept so the conversion can be audited. Numbers are copied, never recomputed: the
record keeps the evaluation summary, the side file the per-epoch history and per-example
outcomes. These models selected their epoch on the test split and trained a fixed 6-10 % of
their paper's epochs; both are written into ``departures`` until scripts/build_zoo.py replaces
them with models trained on the validation split to convergence. The LCAT model, trained with
lambda = 0.01 instead of the paper's 15, gets the tag ``cnn2c2f.lcat_lambda0p01_mnist`` and the
name suffix ``_lambda0.01``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from robustbench_logits._files import write_json  # noqa: E402
from robustbench_logits.papers import robustbench_name  # noqa: E402
from robustbench_logits.recipes import ARCH_NAMES, CREDIT, get_recipe  # noqa: E402
from robustbench_logits.zoo import SCHEMA, WEIGHTS_DIR, summarise_evaluation  # noqa: E402

RENAMED = {"cnn2c2f.lcat_mnist": ("cnn2c2f.lcat_lambda0p01_mnist", "_lambda0.01")}
FIRST_ZOO = ("first zoo: the epoch was selected on the test split (Kanai et al.'s rule), not a validation split, and "
             "training stopped at a fixed fraction of the paper's epochs, not at convergence; to be replaced by the "
             "retrained model of scripts/build_zoo.py")


def migrate(path: Path) -> None:
    old = json.loads(path.read_text())
    if old.get("schema") == SCHEMA:
        return
    tag, suffix = RENAMED.get(old["tag"], (old["tag"], ""))
    key, keyword, baseline = CREDIT[old["recipe"]]
    arch = ARCH_NAMES[old["arch"]]
    name = (f"Standard_{arch}" if old["recipe"] == "standard" else robustbench_name(key, arch, keyword)) + suffix
    meta = old["training"]
    summary, side = summarise_evaluation(old["evaluation"])
    budget_note = meta["setup"].get("budget", "")
    seconds = float(meta["wall_time_seconds"])
    record = {
        "name": name, "tag": tag, "paper": key, "recipe": old["recipe"], "dataset": old["dataset"],
        "threat_model": old["threat_model"], "eps": old["eps"], "arch": old["arch"],
        "num_classes": old["num_classes"], "in_chans": old["in_chans"], "img_size": meta["input_shape"][-1],
        "sha256": old["sha256"], "head": old["head"], "head_kwargs": old["head_kwargs"], "baseline": baseline,
        "departures": [FIRST_ZOO] + ([budget_note] if budget_note else []),
        "training": {
            "recipe_title": meta["recipe_title"], "checkpoint_rule": meta["checkpoint_rule"], "setup": meta["setup"],
            "paper_epochs": get_recipe(old["recipe"]).setup(old["dataset"], old["arch"]).epochs, "seed": meta["seed"], "n_train": meta["n_train"],
            "validation": {"source": "test split (first zoo)", "size": meta["n_eval"]},
            "selection": meta["selection"], "selected_epoch": meta["selected_epoch"],
            "selected_val_clean_accuracy": meta["selected_eval_clean_accuracy"], "selected_val_robust_accuracy": None,
            "epochs": meta["epochs"], "epochs_max": meta["epochs"], "converged": None, "stopped": None,
            "versions": meta["versions"],
        },
        "budget": {"wall_time_seconds": round(seconds, 1), "processes": meta.get("world_size", 1),
                   "threads_per_process": 1, "core_hours": round(seconds * meta.get("world_size", 1) / 3600, 3),
                   "note": budget_note},
        "evaluation": summary, "schema": SCHEMA,
    }
    if tag != old["tag"]:
        subprocess.run(["git", "mv", str(WEIGHTS_DIR / f"{old['tag']}.safetensors"), str(WEIGHTS_DIR / f"{tag}.safetensors")],
                       check=True, cwd=ROOT)
        subprocess.run(["git", "mv", str(path), str(WEIGHTS_DIR / f"{tag}.json")], check=True, cwd=ROOT)
    history = [{**h, "val_clean_accuracy": h.pop("eval_clean_accuracy", None), "val_split": "test (first zoo)"}
               for h in meta["history"]]
    write_json(WEIGHTS_DIR / f"{tag}.details.json", {"history": history, "evaluation": side})
    write_json(WEIGHTS_DIR / f"{tag}.json", record)


if __name__ == "__main__":
    for record_path in sorted(WEIGHTS_DIR.glob("*.json")):
        if not record_path.name.endswith(".details.json"):
            migrate(record_path)
            print("migrated", record_path.name)
