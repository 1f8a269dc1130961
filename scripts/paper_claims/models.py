"""The models a claim compares: zoo models by tag, or recipes trained here on the CPU budget."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from robustbench_logits._files import load_weights
from robustbench_logits.models import create_model
from robustbench_logits.models.pretrained import load_model
from robustbench_logits.recipes import get_recipe
from robustbench_logits.train import train
from robustbench_logits.zoo import get_entry, pretrained_tags

from .steps import Context, Missing, ReproduceError, shown_path
from .text import pct, table


@dataclass(frozen=True)
class ModelRef:
    """A model of a claim: a zoo tag, or a recipe trained here (``cpu`` preset, optional changes)."""

    key: str
    label: str
    zoo: str | None = None
    recipe: str | None = None
    dataset: str = "mnist"
    arch: str = "cnn2c2f"
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    head: str | None = "recipe"  # "recipe": the recipe's head; None: no head
    epochs: int | None = None


def _variant(ref: ModelRef) -> Any:
    recipe = get_recipe(ref.recipe)
    changes: dict[str, Any] = {}
    if ref.hyperparameters:
        changes["hyperparameters"] = {**recipe.hyperparameters, **ref.hyperparameters}
    if ref.head is None:
        changes.update(head=None, head_kwargs={})
    return dataclasses.replace(recipe, **changes) if changes else recipe


def model_info(ctx: Context, ref: ModelRef) -> dict[str, Any]:
    """Provenance of a model: zoo record summary, or the training step's metadata."""
    if ref.zoo is not None:
        record = get_entry(ref.zoo)
        return {"source": "zoo", "tag": ref.zoo, "name": record.name, "n_train": record.training.get("n_train"),
                "epochs": record.training.get("epochs"), "departures": list(record.departures),
                "train_wall_time_s": record.budget.get("wall_time_seconds"), "seed": record.training.get("seed")}
    return ctx.step(f"train/{ref.key}", lambda: _train(ctx, ref))


def _train(ctx: Context, ref: ModelRef) -> dict[str, Any]:
    b = ctx.budget
    out = ctx.cache / "models" / ref.key
    epochs = ref.epochs if b.epochs is None else b.epochs
    result = train(_variant(ref), ref.dataset, ref.arch, out, preset="cpu", epochs=epochs, seed=0, n_train=b.n_train,
                   n_eval=b.n_eval, val_size=b.val_size, n_val_robust=b.n_val_robust, progress=False,
                   threads=ctx.threads)
    if not result.finished:
        raise RuntimeError(f"training {ref.key} did not finish")
    meta = result.metadata
    return {"source": "trained", "recipe": ref.recipe, "hyperparameters": ref.hyperparameters,
            "head": None if ref.head is None else get_recipe(ref.recipe).head,
            "dataset": ref.dataset, "arch": ref.arch, "weights": str(result.weights), "sha256": result.sha256,
            "n_train": f"{b.n_train} ({b.val_size} held out)" if b.n_train else f"all ({b.val_size} held out)",
            "epochs": meta.get("epochs"), "seed": 0,
            "budget": "cpu preset of the package (robustbench_logits.recipes CPU_BUDGET)"
                      + (f", {epochs} epochs" if epochs else ""),
            "selected_val_clean_accuracy": meta.get("selected_val_clean_accuracy"),
            "selected_val_robust_accuracy": meta.get("selected_val_robust_accuracy"),
            "train_wall_time_s": round(float(meta.get("wall_time_seconds", 0.0)), 1),
            "history": meta.get("history")}


def get_model(ctx: Context, ref: ModelRef) -> torch.nn.Module:
    """The model in eval mode (zoo weights checked by sha256; trained weights by the run's sha256)."""
    if ref.key in ctx._models:
        return ctx._models[ref.key]
    if ref.zoo is not None:
        model = load_model(ref.zoo)
    else:
        info = model_info(ctx, ref)
        recipe = _variant(ref)
        in_chans = 1
        model = create_model(ref.arch, 10, in_chans, head=recipe.head, head_kwargs=dict(recipe.head_kwargs) or None,
                             img_size=28)
        load_weights(model, _trained_weights(ctx, ref, info), info["sha256"])
    ctx._models[ref.key] = model.eval()
    return ctx._models[ref.key]


def _trained_weights(ctx: Context, ref: ModelRef, info: dict[str, Any]) -> Path:
    """The weights a committed training step describes, retrained into this cache when it lacks them.

    Step results are committed, trained models are not (a fresh machine has an empty cache): training is
    seeded, so retraining gives the same weights; the sha256 check proves it, or says which steps to drop.
    """
    weights = ctx.cache / "models" / ref.key / Path(info["weights"]).name
    if weights.is_file():
        return weights
    if not ctx.compute:
        raise Missing(f"model {ref.key} is not in {ctx.cache}: it is retrained when a claim that uses it computes")
    ctx.log(f"  retraining {ref.key} (its step result is committed, its weights are not in {ctx.cache})")
    again = _train(ctx, ref)
    if again["sha256"] != info["sha256"]:
        raise ReproduceError(f"retrained {ref.key} differs from the weights its results describe (sha256 "
                             f"{again['sha256'][:12]} vs {info['sha256'][:12]}): delete "
                             f"{shown_path(ctx.results)}/train/{ref.key}.json and the steps using it, then rerun")
    return weights


def shipped(refs: dict[str, ModelRef]) -> dict[str, ModelRef]:
    """The refs whose model exists: trained here, or a zoo tag the zoo ships (a planned one may not be yet)."""
    return {name: ref for name, ref in refs.items() if ref.zoo is None or ref.zoo in pretrained_tags()}


def models_table(ctx: Context, refs: list[ModelRef]) -> str:
    rows = []
    for ref in refs:
        info = model_info(ctx, ref)
        if info["source"] == "zoo":
            rows.append([ref.label, f"zoo `{info['tag']}` ({info['name']})", info["n_train"], info["epochs"],
                         info["seed"], "; ".join(info["departures"]) or "none"])
        else:
            rows.append([ref.label, f"trained here: recipe `{info['recipe']}` {json.dumps(info['hyperparameters'])}"
                         f", {info['arch']}, {info['dataset']}", info["n_train"], info["epochs"], info["seed"],
                         f"{info['budget']}; {info['train_wall_time_s']} s; val clean "
                         f"{pct(info['selected_val_clean_accuracy'])} %"])
    return table(["model", "source", "n_train", "epochs", "seed", "budget / departures"], rows)


ST = {  # Kanai et al. standard-training rows on 2C2F (zoo: the first zoo's models)
    "Baseline": ModelRef("st_baseline", "Baseline (CE)", zoo="cnn2c2f.standard_mnist"),
    "LSQ": ModelRef("st_lsq", "Logit squeezing", zoo="cnn2c2f.logit_squeezing_mnist"),
    "LSM": ModelRef("st_lsm", "Label smoothing", zoo="cnn2c2f.label_smoothing_mnist"),
    "BLF": ModelRef("st_blf", "BLF", zoo="cnn2c2f.blf_mnist"),
}


# Kanai et al. standard-training rows on 4C3F: trained here (the zoo has no 4C3F standard-training model). 6 epochs:
# at the CPU preset 4C3F sits on its initial plateau for the first epoch (measured, CE on 18,000 images: val clean
# 10.1 %, 93.3 %, 97.0 % after epochs 1, 2, 3)
ST_4C3F = {
    "Baseline": ModelRef("st4_baseline", "Baseline (CE), 4C3F", recipe="standard", arch="cnn4c3f", epochs=6),
    "LSQ": ModelRef("st4_lsq", "Logit squeezing, 4C3F", recipe="logit-squeezing", arch="cnn4c3f", epochs=6),
    "LSM": ModelRef("st4_lsm", "Label smoothing, 4C3F", recipe="label-smoothing", arch="cnn4c3f", epochs=6),
    "BLF": ModelRef("st4_blf", "BLF, 4C3F", recipe="blf", arch="cnn4c3f", epochs=6),
}


AT = {
    "Baseline": ModelRef("at_baseline", "PGD-AT", zoo="cnn2c2f.pgd_at_mnist"),
    "BLF": ModelRef("at_blf", "BLF + AT", zoo="cnn2c2f.blf_at_mnist"),
    "TRADES": ModelRef("at_trades", "TRADES", zoo="cnn2c2f.trades_mnist"),
    "LSQ": ModelRef("at_lsq", "LSQ + AT", zoo="cnn2c2f.logit_squeezing_at_mnist"),
    "LSM": ModelRef("at_lsm", "LSM + AT", zoo="cnn2c2f.label_smoothing_at_mnist"),
}


# Kanai et al. adversarial-training rows on 4C3F: issue 11's flagships (one equal budget, docs/training.md)
AT_4C3F = {
    "Baseline": ModelRef("at4_baseline", "PGD-AT, 4C3F", zoo="cnn4c3f.pgd_at_mnist"),
    "BLF": ModelRef("at4_blf", "BLF + AT, 4C3F", zoo="cnn4c3f.blf_at_mnist"),
    "TRADES": ModelRef("at4_trades", "TRADES, 4C3F", zoo="cnn4c3f.trades_mnist"),
}


SUBSTITUTES = {  # independently trained CE sources of transfer attacks (Li et al. Table 3; Summers Table 2)
    "mnist": ModelRef("sub_2c2f_mnist", "2C2F CE substitute (MNIST)", recipe="standard", dataset="mnist", epochs=2),
    "fashion_mnist": ModelRef("sub_2c2f_fmnist", "2C2F CE substitute (Fashion-MNIST)", recipe="standard",
                              dataset="fashion_mnist", epochs=2)}
