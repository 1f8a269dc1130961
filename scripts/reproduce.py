"""Reproduce the seed papers' headline claims under one protocol and write docs/reproduction.md.

    .venv/bin/python scripts/reproduce.py                  # full mode (hours on 2 shared cores; resumable)
    .venv/bin/python scripts/reproduce.py --quick          # tiny budgets, seconds per claim (the tests)
    .venv/bin/python scripts/reproduce.py --render-only    # rewrite the document from the committed results only
    .venv/bin/python scripts/reproduce.py --only kanai-fig3,summers-ls

Every number comes from a run of this package: zoo models (``models.pretrained.load_model``) where
the setting matches, otherwise models trained here with ``train()`` on a stated CPU budget. Each
step (a training or an evaluation) writes its result as JSON under ``--results`` keyed by claim and
setting, so an interrupted run resumes where it stopped and ``--render-only`` never computes. In full
mode the results live in the repository (``reproduction/results/``, committed: they are the evidence
the document is rendered from, a test re-renders it, and they survive the loss of a machine, which
a 2.5-hour run on two cores cannot afford to repeat); the trained models' weights stay under
``--cache`` (``runs/``), needed again only by a step that has no result yet. Claims are
run in priority order (cheap, high-value first) and the document is re-rendered after each, so a
partial run gives a partial document that says what is missing. Verdicts follow fixed rules
written next to each claim (``VERDICT_RULES``), from paired exact tests on the same examples.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
import torchattacks  # noqa: E402

from robustbench_logits import benchmark  # noqa: E402
from robustbench_logits._files import load_weights, write_json, write_text  # noqa: E402
from robustbench_logits.attacks import AttackSpec, run_attack  # noqa: E402
from robustbench_logits.errors import ModelError, UserError  # noqa: E402
from robustbench_logits.evaluation.inputs import resolve_dataset  # noqa: E402
from robustbench_logits.evaluation.statistics import ci95, discordance_p  # noqa: E402
from robustbench_logits.evaluation.suite import EvaluationSuite  # noqa: E402
from robustbench_logits.models import create_model  # noqa: E402
from robustbench_logits.models.pretrained import load_model  # noqa: E402
from robustbench_logits.recipes import get_recipe  # noqa: E402
from robustbench_logits.train import train  # noqa: E402
from robustbench_logits.zoo import get_entry, pretrained_tags, robust_by_example  # noqa: E402

DEFAULT_CACHE = ROOT / "runs" / "reproduce"
RESULTS = ROOT / "reproduction" / "results"  # full mode's committed step results
ALPHA = 0.05  # level of every paired exact test


class ReproduceError(UserError):
    """Bad command-line input to the reproduction script."""


class Missing(Exception):
    """A cached step is absent and this run may not compute it (``--render-only``)."""


# --- budgets -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Budget:
    """What one mode spends: examples per evaluation, attack lengths, training size."""

    name: str
    n_sweep: int  # eps sweeps and cheap attacks (PGD-k, FGSM, BIM, MIM)
    n_attack: int  # expensive single attacks (APGD x5 restarts, APGD-T, PGD-1000)
    n_spsa: int
    n_strong: int  # benchmark(): AutoAttack + head-aware attacks + escalation
    long_steps: int  # Summers' PGD-1000
    spsa_iter: int
    spsa_samples: int
    apgd_restarts: int
    max_steps: int | None  # cap on every attack's steps (quick mode only)
    escalate: bool
    aa_overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    n_train: int | None = None
    val_size: int = 5000
    n_val_robust: int = 500
    n_eval: int | None = None
    epochs: int | None = None  # override of the cpu preset's epochs (None: the preset's)


# Sized for ~1/4 of one core (2 cores shared by 6 processes): n = 250 for cheap attacks, 150 for long
# ones, 100 for the protocol; trainings on the first 20000 training images (2000 held out for validation).
FULL = Budget("full", n_sweep=250, n_attack=150, n_spsa=50, n_strong=100, long_steps=1000, spsa_iter=50,
              spsa_samples=128, apgd_restarts=5, max_steps=None, escalate=True, n_train=20000, val_size=2000,
              n_val_robust=200)
QUICK = Budget("quick", n_sweep=8, n_attack=8, n_spsa=4, n_strong=8, long_steps=12, spsa_iter=3, spsa_samples=8,
               apgd_restarts=1, max_steps=3, escalate=False,
               aa_overrides={"apgd-ce": {"n_iter": 3}, "apgd-t": {"n_iter": 3, "n_target_classes": 2},
                             "fab-t": {"n_iter": 3, "n_target_classes": 2}, "square": {"n_queries": 10}},
               n_train=600, val_size=100, n_val_robust=16, n_eval=100, epochs=1)


# --- the cache ----------------------------------------------------------------------------------------


class Context:
    """Cache, budget and bookkeeping shared by the claims of one run."""

    def __init__(self, cache: Path, results: Path, budget: Budget, compute: bool, threads: int,
                 log: Callable[[str], None]) -> None:
        self.cache, self.results, self.budget, self.compute, self.threads, self.log = cache, results, budget, compute, threads, log
        self._data: dict[tuple[str, int], tuple[torch.Tensor, torch.Tensor]] = {}
        self._models: dict[str, torch.nn.Module] = {}

    def step(self, key: str, fn: Callable[[], dict[str, Any]], model: "ModelRef | None" = None) -> dict[str, Any]:
        """The cached result of ``fn`` under ``key`` (computed once, with its wall time).

        A step on a zoo ``model`` records the weights' sha256 and counts as missing once the zoo
        ships other weights under that tag (a retrained model): its numbers would describe a
        model the page no longer names.
        """
        path = self.results / f"{key}.json"
        sha = get_entry(model.zoo).sha256 if model is not None and model.zoo is not None else None
        if path.is_file():
            value = json.loads(path.read_text())
            if sha is None or value.get("zoo_sha256") == sha:
                return value
            if not self.compute:
                raise Missing(f"step {key} was computed on other weights of zoo model {model.zoo}")
        if not self.compute:
            raise Missing(f"step {key} has not run")
        self.log(f"  step {key} ...")
        start = time.perf_counter()
        value = fn()
        value["wall_time_s"] = round(time.perf_counter() - start, 1)
        if sha is not None:
            value["zoo_sha256"] = sha
        write_json(path, value)
        self.log(f"  step {key}: {value['wall_time_s']} s")
        return value

    def data(self, dataset: str, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The first ``n`` test examples (the evaluation's own loader)."""
        if (dataset, n) not in self._data:
            _, x, y, _ = resolve_dataset(dataset, n, None)
            self._data[(dataset, n)] = (x, y)
        return self._data[(dataset, n)]

    def steps(self, steps: int) -> int:
        cap = self.budget.max_steps
        return steps if cap is None else min(steps, cap)


# --- models -------------------------------------------------------------------------------------------


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
        load_weights(model, info["weights"], info["sha256"])
    ctx._models[ref.key] = model.eval()
    return ctx._models[ref.key]


# --- evaluation helpers -------------------------------------------------------------------------------


def robust_outcomes(ctx: Context, model: torch.nn.Module, spec: AttackSpec | None, eps: float, dataset: str, n: int,
                    seed: int = 0, unbounded: Callable[[torch.nn.Module], Any] | None = None) -> list[bool]:
    """Per example: still classified correctly after the attack (``spec`` None or eps 0: clean).

    ``run_attack`` (the evaluation's one helper) builds, seeds and projects the attack; an
    ``unbounded`` attack (Li et al.'s C&W, confidence 0, no eps) runs as built, not projected.
    """
    x, y = ctx.data(dataset, n)
    out: list[bool] = []
    for chunk, start in enumerate(range(0, n, 250)):
        xb, yb = x[start:start + 250], y[start:start + 250]
        if unbounded is not None:
            torch.manual_seed(seed + chunk)
            xb = unbounded(model)(xb, yb).detach()
        elif spec is not None and eps > 0:
            xb = run_attack(spec, model, xb, yb, eps, "Linf", seed * 1000003 + chunk)
        with torch.no_grad():
            out.extend((model(xb).argmax(1) == yb).tolist())
    return out


def acc(outcomes: list[bool]) -> dict[str, Any]:
    k, n = sum(outcomes), len(outcomes)
    return {"k": k, "n": n, "acc": k / n if n else None, "ci95": ci95(k, n)}


def paired(a: list[bool], b: list[bool]) -> dict[str, Any]:
    """Exact one-sided McNemar tests on the same examples: is A more often robust than B, and vice versa."""
    if len(a) != len(b):
        raise ValueError(f"paired outcomes on different example sets ({len(a)} vs {len(b)})")
    only_a = sum(1 for p, q in zip(a, b) if p and not q)
    only_b = sum(1 for p, q in zip(a, b) if q and not p)
    return {"only_a": only_a, "only_b": only_b, "p_a_gt_b": discordance_p(only_a, only_b),
            "p_b_gt_a": discordance_p(only_b, only_a)}


def comparisons_verdict(under_paper: list[bool], under_protocol: list[bool], lost: dict[str, Any], complete: bool) -> str:
    """The verdict of a claim made of pairwise comparisons ("A more robust than B"), each tested under the paper's
    attack and under the protocol's worst case; ``lost`` is ``paired(claimed model under the paper's attack, its
    worst case)``: the examples the protocol broke that the paper's attack left robust.

    reproduced: every comparison holds under both, on every model the claim names (``complete``); masked: some
    hold under the paper's attack, none under the protocol, and the protocol breaks significantly more of the
    claimed model's examples; partly: any holds; otherwise not reproduced."""
    if under_paper and all(under_paper) and all(under_protocol) and complete:
        return "reproduced"
    if any(under_paper) and not any(under_protocol) and lost["p_a_gt_b"] < ALPHA:
        return "masked"
    return "partly" if any(under_paper) or any(under_protocol) else "not reproduced"


def strong(ctx: Context, model: torch.nn.Module, dataset: str, eps: float, name: str) -> dict[str, Any]:
    """The project's protocol: benchmark() with AutoAttack standard, head-aware attacks and escalation."""
    b = ctx.budget
    suite: str | EvaluationSuite = "standard"
    if b.aa_overrides:
        suite = EvaluationSuite.standard()
        suite.autoattack_overrides = b.aa_overrides
        suite.adaptive_steps = ctx.steps(40)
    try:
        result = benchmark(model, n_examples=b.n_strong, dataset=dataset, eps=eps, suite=suite, escalate=b.escalate,
                           progress=False, model_name=name).to_dict()
    except ModelError as refused:  # e.g. a diverged training whose logits are NaN: the evaluator refuses it
        return {"eps": eps, "error": str(refused)}
    per_example = result["provenance"].get("per_example", [])
    return {
        "eps": eps, "n": result["n_examples"], "clean": result["clean_acc"], "clean_ci95": result["clean_acc_ci95"],
        "autoattack": result["autoattack_acc"], "autoattack_ci95": result["autoattack_acc_ci95"],
        "adaptive": result["adaptive_acc"], "adaptive_ci95": result["adaptive_acc_ci95"],
        "worst": result["worst_case_acc"], "worst_ci95": result["worst_case_acc_ci95"],
        "per_attack": result["per_attack"],
        "converged": (result.get("escalation") or {}).get("converged"),
        "unreliable": result["unreliable"],
        "indicators": [f"{i['name']} ({i['severity']})" for i in result["indicators"]],
        "rounds": [(r["name"], r["robust_accuracy"]) for r in (result.get("escalation") or {}).get("rounds", [])],
        "robust": [o == "robust" for o in per_example],
        "outcome": per_example,
        "seconds": result["provenance"].get("wall_time_s"),
    }


def autoattack_kept(s: dict[str, Any]) -> list[bool]:
    """Per example of a ``strong`` result: AutoAttack standard left it robust (its outcome names the attack that
    broke it first; a clean error was never robust)."""
    return [o != "clean_error" and not o.startswith("autoattack/") for o in s["outcome"]]


def pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}"


def with_ci(entry: dict[str, Any] | None, key: str = "acc", ci_key: str = "ci95") -> str:
    if entry is None or entry.get(key) is None:
        return "–"
    lo, hi = entry[ci_key]
    return f"{pct(entry[key])} [{pct(lo)}, {pct(hi)}]"


def strong_cell(s: dict[str, Any]) -> str:
    return with_ci(s, "worst", "worst_ci95")


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def pgd(steps: int, alpha: float | None = None, name: str | None = None, **kw: Any) -> AttackSpec:
    params: dict[str, Any] = {"steps": steps, **kw}
    if alpha is not None:
        params["alpha"] = alpha
    return AttackSpec(name or f"pgd-{steps}", "pgd", params)


# --- claims ---------------------------------------------------------------------------------------


@dataclass
class Claim:
    """One headline claim: its summary row and its section of the document."""

    key: str
    method: str
    paper_claim: str
    measurement: str = ""
    verdict: str = "not run in this version"
    evidence: str = ""
    section: str = ""
    wall_time_s: float = 0.0


ST = {  # Kanai et al. standard-training rows on 2C2F (zoo: the first zoo's models)
    "Baseline": ModelRef("st_baseline", "Baseline (CE)", zoo="cnn2c2f.standard_mnist"),
    "LSQ": ModelRef("st_lsq", "Logit squeezing", zoo="cnn2c2f.logit_squeezing_mnist"),
    "LSM": ModelRef("st_lsm", "Label smoothing", zoo="cnn2c2f.label_smoothing_mnist"),
    "BLF": ModelRef("st_blf", "BLF", zoo="cnn2c2f.blf_mnist"),
}
AT = {
    "Baseline": ModelRef("at_baseline", "PGD-AT", zoo="cnn2c2f.pgd_at_mnist"),
    "BLF": ModelRef("at_blf", "BLF + AT", zoo="cnn2c2f.blf_at_mnist"),
    "TRADES": ModelRef("at_trades", "TRADES", zoo="cnn2c2f.trades_mnist"),
    "LSQ": ModelRef("at_lsq", "LSQ + AT", zoo="cnn2c2f.logit_squeezing_at_mnist"),
    "LSM": ModelRef("at_lsm", "LSM + AT", zoo="cnn2c2f.label_smoothing_at_mnist"),
}


def shipped(refs: dict[str, ModelRef]) -> dict[str, ModelRef]:
    """The refs whose model exists: trained here, or a zoo tag the zoo ships (a planned one may not be yet)."""
    return {name: ref for name, ref in refs.items() if ref.zoo is None or ref.zoo in pretrained_tags()}
KANAI = "Kanai et al. (BLF), shared/papers/002_e6f86b0a01d55346.txt"


def _models_table(ctx: Context, refs: list[ModelRef]) -> str:
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


def claim_kanai_fig3(ctx: Context) -> Claim:
    c = Claim("kanai-fig3", "Kanai et al.: BLF vs logit regularization, standard training (Fig. 3(a))",
              "2C2F, standard training, PGD-40: label smoothing most robust for eps < 0.2, BLF most robust for "
              "eps > 0.15 (Fig. 3(a), sec. 5.2; a plot, no numbers)")
    b = ctx.budget
    eps_grid = [0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3]
    spec = pgd(ctx.steps(40), 0.01, "pgd-40")  # Kanai sec. 5.1: 40 iterations, step 0.01
    sweeps = {}
    for name, ref in ST.items():
        def run(ref: ModelRef = ref) -> dict[str, Any]:
            model = get_model(ctx, ref)
            return {str(e): robust_outcomes(ctx, model, spec, e, "mnist", b.n_sweep, seed=1) for e in eps_grid}
        sweeps[name] = ctx.step(f"kanai-fig3/sweep-{ref.key}", run, model=ref)
    strong_02 = {name: ctx.step(f"kanai-fig3/strong-0.2-{ref.key}",
                                lambda ref=ref: strong(ctx, get_model(ctx, ref), "mnist", 0.2, ref.label), model=ref)
                 for name, ref in ST.items()}
    # the figure
    figure, axis = plt.subplots(figsize=(5.5, 3.8))
    for position, (name, sweep) in enumerate(sweeps.items()):
        values = [acc(sweep[str(e)]) for e in eps_grid]
        line, = axis.plot(eps_grid, [100 * v["acc"] for v in values], marker="o", label=ST[name].label)
        axis.fill_between(eps_grid, [100 * v["ci95"][0] for v in values], [100 * v["ci95"][1] for v in values], alpha=0.15)
        s = strong_02[name]  # the worst case at 0.2, drawn beside the curve (offset to keep the four apart)
        axis.errorbar([0.2 + 0.006 * (position - 1.5)], [100 * s["worst"]],
                      yerr=[[100 * (s["worst"] - s["worst_ci95"][0])], [100 * (s["worst_ci95"][1] - s["worst"])]],
                      fmt="x", color=line.get_color(), capsize=2)
    axis.set_xlabel("eps (L-inf)")
    axis.set_ylabel("accuracy (%)")
    axis.set_title("2C2F MNIST, standard training: PGD-40 (x: worst case at 0.2)", fontsize=9)
    axis.legend(fontsize=8)
    ctx.save_figure(figure, "kanai_fig3.png")
    # verdict: BLF best at 0.2 (PGD-40), LSM best at 0.1
    blf_best = all(paired(sweeps["BLF"]["0.2"], sweeps[o]["0.2"])["p_a_gt_b"] < ALPHA for o in ST if o != "BLF")
    lsm_best = all(paired(sweeps["LSM"]["0.1"], sweeps[o]["0.1"])["p_a_gt_b"] < ALPHA for o in ST if o != "LSM")
    blf_best_strong = all(paired(strong_02["BLF"]["robust"], strong_02[o]["robust"])["p_a_gt_b"] < ALPHA
                          for o in ST if o != "BLF")
    # masked: the worst case at 0.2 is below PGD-40 at 0.2 on the same (first n_strong) examples
    n = b.n_strong
    blf_drop = paired(sweeps["BLF"]["0.2"][:n], strong_02["BLF"]["robust"])
    if blf_best and lsm_best and blf_best_strong:
        verdict = "reproduced"
    elif blf_best and not blf_best_strong and blf_drop["p_a_gt_b"] < ALPHA:
        verdict = "masked"
    elif blf_best or lsm_best:
        verdict = "partly"
    else:
        verdict = "not reproduced"
    a02 = {k: acc(v["0.2"]) for k, v in sweeps.items()}
    a01 = {k: acc(v["0.1"]) for k, v in sweeps.items()}
    c.measurement = (f"PGD-40 at 0.2: BLF {with_ci(a02['BLF'])}, LSM {with_ci(a02['LSM'])}, LSQ {with_ci(a02['LSQ'])}, "
                     f"CE {with_ci(a02['Baseline'])}; worst case at 0.2: BLF {strong_cell(strong_02['BLF'])}")
    c.verdict = verdict
    c.evidence = (f"BLF best at 0.2 under PGD-40: {blf_best}; LSM best at 0.1: {lsm_best}; BLF best at 0.2 after "
                  f"AutoAttack + head-aware + escalation: {blf_best_strong}; BLF examples PGD-40 left robust that the "
                  f"worst case broke: {blf_drop['only_a']} (p = {blf_drop['p_a_gt_b']:.2g})")
    rows = []
    for name, ref in ST.items():
        rows.append([ref.label] + [with_ci(acc(sweeps[name][str(e)])) for e in eps_grid])
    strong_rows = [[ST[k].label, with_ci(s, "clean", "clean_ci95"), with_ci(s, "autoattack", "autoattack_ci95"),
                    with_ci(s, "adaptive", "adaptive_ci95"), strong_cell(s), s["converged"],
                    ", ".join(s["indicators"]) or "none"] for k, s in strong_02.items()]
    c.section = "\n\n".join([
        "**Models.**\n\n" + _models_table(ctx, list(ST.values())),
        f"**PGD-40 sweep** (Kanai sec. 5.1: 40 iterations, step 0.01, random start), first {b.n_sweep} MNIST test "
        "examples, accuracy % with 95 % Clopper-Pearson interval:\n\n"
        + table(["model"] + [f"eps {e:g}" for e in eps_grid], rows),
        "![Fig. 3(a) reproduction](img/kanai_fig3.png)",
        f"**Same models under the project's protocol at eps 0.2** (`benchmark`, AutoAttack standard + head-aware "
        f"attacks + escalation, first {b.n_strong} examples):\n\n"
        + table(["model", "clean", "AutoAttack", "head-aware", "worst case", "converged", "indicators"], strong_rows),
        "**Differs from the paper:** one training run per model (the paper averages several, with error bars); "
        "the zoo's first-generation models (10 of Kanai's 100 epochs, epoch selected on the test split: see the "
        "departures column); the regularisation strengths are the zoo's, not tuned per eps.",
    ])
    return c


def claim_kanai_fig5(ctx: Context) -> Claim:
    c = Claim("kanai-fig5", "Kanai et al.: BLF attacked through a tanh-replaced copy (Fig. 5)",
              "PGD crafted on a copy with BLF replaced by tanh does not break BLF models much more than PGD on BLF "
              "itself, except standard training at large eps: BLF's robustness is not only misleading gradients "
              "(sec. 5.2, Fig. 5; RN18 CIFAR-10, a plot)")
    b = ctx.budget
    eps_grid = [0.05, 0.1, 0.15, 0.2, 0.25, 0.3]
    direct = pgd(ctx.steps(40), 0.01, "pgd-40")
    tanh = AttackSpec("tanh-pgd-40", "pgd", {"steps": ctx.steps(40), "alpha": 0.01}, view="tanh_head")
    models = {"ST": ST["BLF"], "AT": AT["BLF"]}
    runs = {}
    for setting, ref in models.items():
        def run(ref: ModelRef = ref) -> dict[str, Any]:
            model = get_model(ctx, ref)
            return {"direct": {str(e): robust_outcomes(ctx, model, direct, e, "mnist", b.n_sweep, seed=2) for e in eps_grid},
                    "tanh": {str(e): robust_outcomes(ctx, model, tanh, e, "mnist", b.n_sweep, seed=2) for e in eps_grid}}
        runs[setting] = ctx.step(f"kanai-fig5/{ref.key}", run, model=ref)
    figure, axis = plt.subplots(figsize=(5.5, 3.8))
    for setting, r in runs.items():
        for kind, style in (("direct", "-"), ("tanh", "--")):
            axis.plot(eps_grid, [100 * acc(r[kind][str(e)])["acc"] for e in eps_grid], style, marker="o",
                      label=f"BLF {setting}: PGD on {'BLF' if kind == 'direct' else 'tanh copy'}")
    axis.set_xlabel("eps (L-inf)")
    axis.set_ylabel("accuracy (%)")
    axis.set_title("2C2F MNIST: PGD-40 crafted on BLF vs on the tanh-replaced copy", fontsize=9)
    axis.legend(fontsize=8)
    ctx.save_figure(figure, "kanai_fig5.png")
    tests = {s: {str(e): paired(r["direct"][str(e)], r["tanh"][str(e)]) for e in eps_grid} for s, r in runs.items()}
    at_tanh_wins = [e for e in eps_grid if tests["AT"][str(e)]["p_a_gt_b"] < ALPHA]
    st_tanh_wins = [e for e in eps_grid if tests["ST"][str(e)]["p_a_gt_b"] < ALPHA]
    if not at_tanh_wins and len(st_tanh_wins) < len(eps_grid):
        c.verdict = "reproduced"
    elif at_tanh_wins:
        c.verdict = "masked"
    else:
        c.verdict = "partly"
    c.measurement = ("eps where the tanh copy breaks significantly more: AT " + (", ".join(f"{e:g}" for e in at_tanh_wins) or "none")
                     + "; ST " + (", ".join(f"{e:g}" for e in st_tanh_wins) or "none"))
    c.evidence = (f"at eps 0.3, BLF-AT: PGD on BLF {with_ci(acc(runs['AT']['direct']['0.3']))}, on tanh copy "
                  f"{with_ci(acc(runs['AT']['tanh']['0.3']))}; BLF-ST: {with_ci(acc(runs['ST']['direct']['0.3']))} vs "
                  f"{with_ci(acc(runs['ST']['tanh']['0.3']))}")
    rows = []
    for setting, r in runs.items():
        for kind in ("direct", "tanh"):
            rows.append([f"BLF {setting}", "BLF (as given)" if kind == "direct" else "tanh copy (γ kept)"]
                        + [with_ci(acc(r[kind][str(e)])) for e in eps_grid])
        rows.append([f"BLF {setting}", "p (tanh breaks more)"] + [f"{tests[setting][str(e)]['p_a_gt_b']:.2g}" for e in eps_grid])
    c.section = "\n\n".join([
        "**Models.**\n\n" + _models_table(ctx, list(models.values())),
        f"PGD-40 (step 0.01) crafted on the model or on its tanh-replaced copy (`AttackSpec(view='tanh_head')`), "
        f"always scored on the BLF model; first {b.n_sweep} examples; p: exact one-sided McNemar test that the "
        "tanh copy leaves fewer examples robust:\n\n" + table(["model", "crafted on"] + [f"eps {e:g}" for e in eps_grid], rows),
        "![Fig. 5 reproduction](img/kanai_fig5.png)",
        "**Differs from the paper:** 2C2F on MNIST instead of RN18 on CIFAR-10 (the CPU budget); "
        "the paper does not say what happens to γ in the replacement, we keep γ·tanh (docs/evaluation.md).",
    ])
    return c


TABLE4 = {  # Kanai Table 4 (App. C), MNIST eps 0.15, 2C2F rows: APGD, TAPGD
    ("ST", "Baseline"): (43.8, 44.2), ("ST", "LSQ"): (58.9, 49.7), ("ST", "LSM"): (69.2, 61.7), ("ST", "BLF"): (60.5, 57.0),
    ("AT", "Baseline"): (91.8, 91.9), ("AT", "BLF"): (92.3, 92.4), ("AT", "TRADES"): (86.8, 85.2),
    ("AT", "LSQ"): (90.9, 90.7), ("AT", "LSM"): (91.4, 91.2),
}


def _table4(ctx: Context, setting: str, refs: dict[str, ModelRef]) -> tuple[dict, dict, dict]:
    b = ctx.budget
    apgd = AttackSpec("apgd-ce-x5", "apgd", {"steps": ctx.steps(100), "n_restarts": b.apgd_restarts, "loss": "ce"})
    tapgd = AttackSpec("apgd-t", "apgd_t", {"steps": ctx.steps(100), "n_restarts": 1, "n_classes": 10})
    weak, strongs = {}, {}
    for name, ref in refs.items():
        weak[name] = ctx.step(f"kanai-table4/{ref.key}", lambda ref=ref: {
            "apgd": robust_outcomes(ctx, get_model(ctx, ref), apgd, 0.15, "mnist", b.n_attack, seed=3),
            "tapgd": robust_outcomes(ctx, get_model(ctx, ref), tapgd, 0.15, "mnist", b.n_attack, seed=3)}, model=ref)
    for name, ref in refs.items():
        strongs[name] = ctx.step(f"kanai-table4/strong-0.15-{ref.key}",
                                 lambda ref=ref: strong(ctx, get_model(ctx, ref), "mnist", 0.15, ref.label), model=ref)
    return weak, strongs, {"apgd": apgd.describe(), "tapgd": tapgd.describe()}


def _table4_section(ctx: Context, setting: str, refs: dict[str, ModelRef], weak: dict, strongs: dict) -> str:
    b = ctx.budget
    rows = []
    for name, ref in refs.items():
        paper = TABLE4[(setting, name)]
        s = strongs[name]
        rows.append([ref.label, f"{paper[0]} / {paper[1]}", with_ci(acc(weak[name]["apgd"])), with_ci(acc(weak[name]["tapgd"])),
                     with_ci(s, "autoattack", "autoattack_ci95"), with_ci(s, "adaptive", "adaptive_ci95"), strong_cell(s),
                     s["converged"], ", ".join(s["indicators"]) or "none"])
    return "\n\n".join([
        "**Models.**\n\n" + _models_table(ctx, list(refs.values())),
        f"eps 0.15, first {b.n_attack} MNIST test examples (APGD / APGD-T) and {b.n_strong} (protocol). APGD-CE: "
        f"torchattacks APGD, 100 iterations, {b.apgd_restarts} restarts (paper: 5); APGD-T: DLR-targeted, 9 target "
        "classes, 1 restart each (paper: 5 restarts; cost). Accuracy % [95 % CI]:\n\n"
        + table(["model", "paper APGD / TAPGD (Table 4)", "APGD-CE", "APGD-T", "AutoAttack", "head-aware",
                 "worst case", "converged", "indicators"], rows),
    ])


def claim_kanai_table4_st(ctx: Context) -> Claim:
    c = Claim("kanai-table4-st", "Kanai et al.: logit regularization vs APGD, standard training (Table 4)",
              "2C2F ST, MNIST eps 0.15: APGD 43.8 (CE) < 58.9 (LSQ), 69.2 (LSM), 60.5 (BLF); TAPGD 44.2 < 49.7, 61.7, "
              "57.0 (Table 4, App. C)")
    weak, strongs, _ = _table4(ctx, "ST", ST)
    better_weak = [n for n in ("LSQ", "LSM", "BLF")
                   if paired(weak[n]["apgd"], weak["Baseline"]["apgd"])["p_a_gt_b"] < ALPHA
                   and paired(weak[n]["tapgd"], weak["Baseline"]["tapgd"])["p_a_gt_b"] < ALPHA]
    better_strong = [n for n in ("LSQ", "LSM", "BLF")
                     if paired(strongs[n]["robust"], strongs["Baseline"]["robust"])["p_a_gt_b"] < ALPHA]
    dropped = [n for n in better_weak if n not in better_strong]
    if len(better_weak) == 3 and len(better_strong) == 3:
        c.verdict = "reproduced"
    elif better_weak and not better_strong:
        c.verdict = "masked"
    elif better_weak or better_strong:
        c.verdict = "partly"
    else:
        c.verdict = "not reproduced"
    c.measurement = "; ".join(f"{n} APGD {with_ci(acc(weak[n]['apgd']))}, worst {strong_cell(strongs[n])}"
                              for n in ("Baseline", "LSM", "BLF"))
    c.evidence = (f"above CE under APGD and APGD-T: {', '.join(better_weak) or 'none'}; above CE after AutoAttack + "
                  f"head-aware + escalation: {', '.join(better_strong) or 'none'}; advantage lost under the protocol: "
                  f"{', '.join(dropped) or 'none'}")
    c.section = _table4_section(ctx, "ST", ST, weak, strongs) + (
        "\n\n**Differs from the paper:** the zoo's first-generation models (see Models), one seed, the paper tuned "
        "(λ, α, γ) per attack; fewer APGD-T restarts.")
    return c


def claim_kanai_table4_at(ctx: Context) -> Claim:
    c = Claim("kanai-table4-at", "Kanai et al.: BLF + AT vs AT vs TRADES under APGD (Table 4)",
              "2C2F AT, MNIST eps 0.15: APGD 92.3 (BLF+AT) ≥ 91.8 (AT) > 86.8 (TRADES); TAPGD 92.4 ≥ 91.9 > 85.2 "
              "(Table 4, App. C)")
    refs = shipped(AT)
    weak, strongs, _ = _table4(ctx, "AT", refs)
    blf_vs_at_weak = paired(weak["BLF"]["apgd"], weak["Baseline"]["apgd"])
    blf_vs_at_strong = paired(strongs["BLF"]["robust"], strongs["Baseline"]["robust"])
    at_vs_trades = paired(strongs["Baseline"]["robust"], strongs["TRADES"]["robust"])
    not_worse = blf_vs_at_weak["p_b_gt_a"] >= ALPHA and blf_vs_at_strong["p_b_gt_a"] >= ALPHA
    if not_worse and at_vs_trades["p_a_gt_b"] < ALPHA:
        c.verdict = "reproduced"
    elif not_worse or at_vs_trades["p_a_gt_b"] < ALPHA:
        c.verdict = "partly"
    else:
        c.verdict = "not reproduced"
    c.measurement = "; ".join(f"{refs[n].label} APGD {with_ci(acc(weak[n]['apgd']))}, worst {strong_cell(strongs[n])}"
                              for n in refs)
    below = [name for name, test in (("APGD", blf_vs_at_weak), ("worst case", blf_vs_at_strong)) if test["p_b_gt_a"] < ALPHA]
    c.evidence = (f"BLF+AT significantly below AT under {' and '.join(below) or 'neither APGD nor the worst case'} "
                  f"(AT more often robust: APGD p = {blf_vs_at_weak['p_b_gt_a']:.2g}, worst case p = "
                  f"{blf_vs_at_strong['p_b_gt_a']:.2g}); AT above TRADES in the worst case: "
                  f"{'yes' if at_vs_trades['p_a_gt_b'] < ALPHA else 'no'}, p = {at_vs_trades['p_a_gt_b']:.2g}")
    missing = [ref.label for name, ref in AT.items() if name not in refs]
    c.section = _table4_section(ctx, "AT", refs, weak, strongs) + (
        "\n\n**Differs from the paper:** the zoo's AT models were trained with a cheaper inner PGD and fewer epochs "
        "(see Models)" + (f"; not in the zoo yet, so not run: {', '.join(missing)} (plans in scripts/build_zoo.py)"
                          if missing else "") + ".")
    return c


SUMMERS = "Summers & Dinneen, shared/papers/001_11b0df936848083a.txt"


def claim_summers_ls(ctx: Context) -> Claim:
    c = Claim("summers-ls", "Summers & Dinneen: label smoothing under long PGD and SPSA (Table 6)",
              "label smoothing 34.4 % at PGD-20 falls to 7.2 % at PGD-1000 and 8.9 % under SPSA, while PGD-AT stays "
              "(45.3 → 45.2 %) (Table 6, CIFAR-10, eps 0.03)")
    b = ctx.budget
    eps = 0.1
    alpha = 0.26 * eps  # Summers: step 0.0078 at eps 0.03, i.e. 0.26 eps
    refs = {"Regular": ST["Baseline"], "LS": ST["LSM"], "PGD-AT": AT["Baseline"]}
    attacks = {f"PGD-{k}": pgd(ctx.steps(k), alpha, f"pgd-{k}") for k in (5, 10, 20)}
    long = pgd(b.long_steps, alpha, f"pgd-{b.long_steps}")
    spsa = AttackSpec("spsa", "spsa", {"delta": 0.01, "lr": 0.01, "nb_iter": b.spsa_iter, "nb_sample": b.spsa_samples})
    res = {}
    for name, ref in refs.items():
        def run(ref: ModelRef = ref) -> dict[str, Any]:
            model = get_model(ctx, ref)
            out = {k: robust_outcomes(ctx, model, spec, eps, "mnist", b.n_sweep, seed=4) for k, spec in attacks.items()}
            out["clean"] = robust_outcomes(ctx, model, None, 0.0, "mnist", b.n_sweep)
            out["PGD-long"] = robust_outcomes(ctx, model, long, eps, "mnist", b.n_attack, seed=4)
            out["SPSA"] = robust_outcomes(ctx, model, spsa, eps, "mnist", b.n_spsa, seed=4)
            return out
        res[name] = ctx.step(f"summers-ls/{ref.key}", run, model=ref)
    n = b.n_attack
    drops = {name: paired(r["PGD-20"][:n], r["PGD-long"]) for name, r in res.items()}
    ls20, ls_long = acc(res["LS"]["PGD-20"][:n]), acc(res["LS"]["PGD-long"])
    significant = drops["LS"]["p_a_gt_b"] < ALPHA
    most = ls20["acc"] > 0 and ls_long["acc"] < 0.5 * ls20["acc"]
    at_stays = drops["PGD-AT"]["p_a_gt_b"] >= ALPHA or acc(res["PGD-AT"]["PGD-long"])["acc"] >= 0.9 * acc(res["PGD-AT"]["PGD-20"][:n])["acc"]
    if significant and most and at_stays:
        c.verdict = "reproduced"
    elif significant:
        c.verdict = "partly"
    else:
        c.verdict = "not reproduced"
    c.measurement = (f"LS PGD-20 {with_ci(ls20)} → PGD-{b.long_steps} {with_ci(ls_long)}, SPSA "
                     f"{with_ci(acc(res['LS']['SPSA']))} (MNIST 2C2F, eps 0.1)")
    c.evidence = (f"LS examples PGD-20 left robust that PGD-{b.long_steps} broke: {drops['LS']['only_a']} "
                  f"(p = {drops['LS']['p_a_gt_b']:.2g}); PGD-AT: {drops['PGD-AT']['only_a']} (p = {drops['PGD-AT']['p_a_gt_b']:.2g})")
    figure, axis = plt.subplots(figsize=(5.5, 3.6))
    steps = [5, 10, 20, b.long_steps]
    for name, r in res.items():
        values = [acc(r[f"PGD-{k}"][:n])["acc"] for k in (5, 10, 20)] + [acc(r["PGD-long"])["acc"]]
        axis.plot(steps, [100 * v for v in values], marker="o", label=refs[name].label)
    axis.set_xscale("log")
    axis.set_xlabel("PGD steps")
    axis.set_ylabel("accuracy (%)")
    axis.set_title(f"MNIST 2C2F, eps {eps}: accuracy against PGD length (first {n} examples)", fontsize=9)
    axis.legend(fontsize=8)
    ctx.save_figure(figure, "summers_pgd_steps.png")
    paper = {"Regular": ("0.0", "0.0", "0.0"), "LS": ("34.4", "7.2", "8.9"), "PGD-AT": ("45.3", "45.2", "45.4")}
    rows = [[refs[k].label, "/".join(paper[k]), with_ci(acc(r["clean"])), with_ci(acc(r["PGD-5"])), with_ci(acc(r["PGD-10"])),
             with_ci(acc(r["PGD-20"])), with_ci(acc(r["PGD-long"])), with_ci(acc(r["SPSA"]))] for k, r in res.items()]
    c.section = "\n\n".join([
        "**Models.**\n\n" + _models_table(ctx, list(refs.values())),
        f"MNIST, eps {eps} (our adaptation: Table 6 is CIFAR-10 at 0.03; 0.1 is where Kanai's Fig. 3 gives label "
        f"smoothing its lead), step {alpha:.3g} = 0.26 eps (Summers: 0.0078 at 0.03), random start. PGD-5/10/20 on the "
        f"first {b.n_sweep} test examples, PGD-{b.long_steps} on the first {b.n_attack}, SPSA (δ 0.01, lr 0.01, "
        f"{b.spsa_iter} iterations, {b.spsa_samples} samples; Uesato et al. use 8192: cost) on the first {b.n_spsa}:\n\n"
        + table(["model", "paper PGD-20 / PGD-1000 / SPSA", "clean", "PGD-5", "PGD-10", "PGD-20",
                 f"PGD-{b.long_steps}", "SPSA"], rows),
        "![Summers Table 6 reproduction](img/summers_pgd_steps.png)",
        "**Differs from the paper:** dataset and architecture (MNIST 2C2F vs CIFAR-10 ResNet-18), the zoo's label "
        "smoothing model (α = 0.1, Kanai's grid) rather than Summers' strength, SPSA samples.",
    ])
    return c


def claim_summers_alp(ctx: Context) -> Claim:
    c = Claim("summers-alp", "Summers & Dinneen: LRM vs ALP vs PGD-AT; the ALP pairing term",
              "PGD-20 accuracy LRM 51.0 > ALP 48.5 > PGD-AT 45.3 (Table 6, CIFAR-10); ALP pairing eq. 9 is a squared "
              "L2 norm with coefficient 0.5 (from Kannan et al., whose code averages over the logits)")
    b = ctx.budget
    refs = {
        "PGD-AT": ModelRef("cpu_pgd_at", "PGD-AT (cpu preset)", recipe="pgd-at"),
        "ALP (sum, eq. 9)": ModelRef("cpu_alp_sum", "ALP, pairing summed over logits (eq. 9, default)", recipe="alp",
                                     hyperparameters={"pairing_reduction": "sum"}),
        "ALP (mean, Kannan)": ModelRef("cpu_alp_mean", "ALP, pairing averaged over logits (Kannan's code)", recipe="alp",
                                       hyperparameters={"pairing_reduction": "mean"}),
        "LRM": ModelRef("cpu_lrm", "LRM (cpu preset)", recipe="lrm"),
    }
    eps = 0.3
    p20 = pgd(ctx.steps(20), 2.5 * eps / 20, "pgd-20")
    res, strongs = {}, {}
    for name, ref in refs.items():
        res[name] = ctx.step(f"summers-alp/{ref.key}", lambda ref=ref: {
            "clean": robust_outcomes(ctx, get_model(ctx, ref), None, 0.0, "mnist", b.n_sweep),
            "PGD-20": robust_outcomes(ctx, get_model(ctx, ref), p20, eps, "mnist", b.n_sweep, seed=5)}, model=ref)
    pending = []  # protocol evaluations not in the cache yet (render-only of a partial run): PGD-20 only
    for name, ref in refs.items():
        try:
            strongs[name] = ctx.step(f"summers-alp/strong-{ref.key}",
                                     lambda ref=ref: strong(ctx, get_model(ctx, ref), "mnist", eps, ref.label), model=ref)
        except Missing:
            pending.append(name)
            strongs[name] = {k: None for k in ("autoattack", "autoattack_ci95", "worst", "worst_ci95", "converged")}
            strongs[name].update(robust=None, indicators=["protocol not run in this version"])
    lrm_gt_alp = paired(res["LRM"]["PGD-20"], res["ALP (sum, eq. 9)"]["PGD-20"])["p_a_gt_b"] < ALPHA
    alp_gt_pgd = paired(res["ALP (sum, eq. 9)"]["PGD-20"], res["PGD-AT"]["PGD-20"])["p_a_gt_b"] < ALPHA
    done = not pending
    lrm_gt_alp_s = done and paired(strongs["LRM"]["robust"], strongs["ALP (sum, eq. 9)"]["robust"])["p_a_gt_b"] < ALPHA
    alp_gt_pgd_s = done and paired(strongs["ALP (sum, eq. 9)"]["robust"], strongs["PGD-AT"]["robust"])["p_a_gt_b"] < ALPHA
    if not done:
        c.verdict = "partly" if (lrm_gt_alp and alp_gt_pgd) else "not reproduced"
    elif lrm_gt_alp and alp_gt_pgd and lrm_gt_alp_s and alp_gt_pgd_s:
        c.verdict = "reproduced"
    elif (lrm_gt_alp or alp_gt_pgd) and not (lrm_gt_alp_s or alp_gt_pgd_s):
        c.verdict = "masked" if any(s["worst"] < acc(res[k]["PGD-20"][:b.n_strong])["acc"] - 0.1 for k, s in strongs.items()) else "partly"
    elif lrm_gt_alp or alp_gt_pgd or lrm_gt_alp_s or alp_gt_pgd_s:
        c.verdict = "partly"
    else:
        c.verdict = "not reproduced"
    sm = paired(*(strongs[k]["robust"] if done else res[k]["PGD-20"] for k in ("ALP (sum, eq. 9)", "ALP (mean, Kannan)")))
    c.measurement = "; ".join(f"{k} PGD-20 {with_ci(acc(r['PGD-20']))}, worst {strong_cell(strongs[k])}" for k, r in res.items())
    c.evidence = (f"LRM > ALP (PGD-20 / worst): {lrm_gt_alp} / {lrm_gt_alp_s if done else 'not run'}; ALP > PGD-AT: "
                  f"{alp_gt_pgd} / {alp_gt_pgd_s if done else 'not run'}; pairing sum vs mean, "
                  f"{'worst case' if done else 'PGD-20'}: {sm['only_a']} vs {sm['only_b']} discordant examples "
                  f"(p = {min(sm['p_a_gt_b'], sm['p_b_gt_a']):.2g})"
                  + (f"; protocol not run in this version for {', '.join(pending)}" if pending else ""))
    paper = {"PGD-AT": "45.3", "ALP (sum, eq. 9)": "48.5", "ALP (mean, Kannan)": "48.5 (one ALP row)", "LRM": "51.0"}
    rows = [[k, paper[k], with_ci(acc(r["clean"])), with_ci(acc(r["PGD-20"])),
             with_ci(strongs[k], "autoattack", "autoattack_ci95"), strong_cell(strongs[k]), strongs[k]["converged"],
             ", ".join(strongs[k]["indicators"]) or "none"] for k, r in res.items()]
    c.section = "\n\n".join([
        "**Models** (all trained here with the package's `train()`, same budget and seed):\n\n"
        + _models_table(ctx, list(refs.values())),
        f"MNIST eps {eps}; PGD-20 (step 2.5 eps / 20) on the first {b.n_sweep} test examples; protocol on the first "
        f"{b.n_strong}:\n\n" + table(["model", "paper PGD-20 (CIFAR-10)", "clean", "PGD-20", "AutoAttack", "worst case",
                                      "converged", "indicators"], rows),
        "**The ALP pairing term.** Eq. 9 writes λ‖f(x) − f(x')‖² (summed over the C logits); the coefficient "
        "λ = 0.5 is Kannan et al.'s, whose code takes a mean squared error (averaged over the logits), so at the "
        "same λ the two readings differ by a factor C = 10. `losses.alp_loss(..., pairing_reduction=)` supports "
        "both; **the default is `\"sum\"`** (the equation as printed, the project's rule for ambiguous papers). The "
        "two ALP rows above are the same recipe, budget and seed with only this switch changed.",
        "**Differs from the paper:** MNIST 2C2F, the package's CPU preset (1 epoch, PGD-10 with eps warm-up) "
        "instead of 101 epochs of ResNet-18 on CIFAR-10; LRM uses mixup on MNIST (the recipe's MNIST adaptation).",
    ])
    return c


LI = "Li et al. (PC-LC), shared/papers/004_47b8a8a080d3078d.txt"
LI_TABLE1 = {  # Table 1, (CE, Ours), MNIST and FMNIST columns
    "mnist": {"Clean": (99.2, 99.2), "FGSM 0.1": (71.5, 80.5), "FGSM 0.2": (51.6, 76.3), "FGSM 0.3": (31.8, 65.0),
              "BIM 0.1": (52.8, 72.0), "BIM 0.2": (4.5, 48.6), "BIM 0.3": (1.5, 39.5), "PGD 0.1": (49.0, 72.3),
              "PGD 0.2": (3.3, 50.2), "PGD 0.3": (0.8, 39.7), "MIM 0.1": (49.8, 73.8), "MIM 0.2": (5.0, 54.0),
              "MIM 0.3": (1.5, 43.3), "CW": (42.2, 78.0)},
    "fashion_mnist": {"Clean": (90.1, 90.2), "FGSM 0.1": (17.5, 58.0), "FGSM 0.2": (9.5, 43.3), "FGSM 0.3": (7.6, 31.8),
                      "BIM 0.1": (0.0, 18.7), "BIM 0.2": (0.3, 8.4), "BIM 0.3": (0.0, 6.4), "PGD 0.1": (0.0, 15.7),
                      "PGD 0.2": (0.0, 7.0), "PGD 0.3": (0.0, 4.6), "MIM 0.1": (0.0, 14.8), "MIM 0.2": (0.0, 6.3),
                      "MIM 0.3": (0.0, 4.5), "CW": (0.2, 21.8)},
}
LI_TABLE3 = {"mnist": {"PGD 0.1": (96.6, 98.1), "PGD 0.2": (84.3, 92.8), "PGD 0.3": (61.1, 85.6), "MIM 0.1": (96.4, 98.1),
                       "MIM 0.2": (84.2, 94.7), "MIM 0.3": (56.7, 81.2)},
             "fashion_mnist": {"PGD 0.1": (65.5, 74.0), "PGD 0.2": (50.4, 57.1), "PGD 0.3": (47.8, 53.5),
                               "MIM 0.1": (62.4, 72.3), "MIM 0.2": (43.3, 54.2), "MIM 0.3": (30.5, 36.0)}}


def _li_models(dataset: str) -> dict[str, ModelRef]:
    suffix = "mnist" if dataset == "mnist" else "fmnist"
    return {"CE": ModelRef(f"lenet5_ce_{suffix}", f"LeNet-5 CE ({dataset})", recipe="standard", dataset=dataset,
                           arch="lenet5", epochs=2),
            "PC-LC": ModelRef(f"lenet5_pclc_{suffix}", f"LeNet-5 PC-LC ({dataset})", recipe="pc-lc", dataset=dataset,
                              arch="lenet5", epochs=2)}


def _li_attacks(ctx: Context) -> dict[str, tuple[AttackSpec | None, float]]:
    out: dict[str, tuple[AttackSpec | None, float]] = {"Clean": (None, 0.0)}
    for e in (0.1, 0.2, 0.3):  # Li et al.: BIM 10 iterations, PGD and MIM 40, step 0.01
        out[f"FGSM {e}"] = (AttackSpec("fgsm", "fgsm"), e)
        out[f"BIM {e}"] = (pgd(ctx.steps(10), 0.01, "bim-10", random_start=False), e)
        out[f"PGD {e}"] = (pgd(ctx.steps(40), 0.01, "pgd-40"), e)
        out[f"MIM {e}"] = (AttackSpec("mim-40", "mim", {"steps": ctx.steps(40), "alpha": 0.01}), e)
    return out


def _claim_li(ctx: Context, dataset: str) -> Claim:
    nice = "MNIST" if dataset == "mnist" else "Fashion-MNIST"
    paper = LI_TABLE1[dataset]
    c = Claim(f"li-{'mnist' if dataset == 'mnist' else 'fmnist'}", f"Li et al.: PC-LC vs CE, LeNet-5 {nice} (Table 1)",
              f"PC-LC above CE under every white-box attack, e.g. PGD-40 at 0.1: {paper['PGD 0.1'][1]} vs "
              f"{paper['PGD 0.1'][0]}, at 0.3: {paper['PGD 0.3'][1]} vs {paper['PGD 0.3'][0]} (Table 1, {nice} columns)")
    b = ctx.budget
    refs = _li_models(dataset)
    attacks = _li_attacks(ctx)

    def cw(model: torch.nn.Module) -> Any:  # Li et al.: 100 iterations, lr 0.001, confidence 0 (c: torchattacks' 1)
        return torchattacks.CW(model, c=1.0, kappa=0.0, steps=ctx.steps(100), lr=0.001)

    res, strongs = {}, {}
    for name, ref in refs.items():
        def run(ref: ModelRef = ref) -> dict[str, Any]:
            model = get_model(ctx, ref)
            out = {k: robust_outcomes(ctx, model, spec, e, dataset, b.n_sweep, seed=6) for k, (spec, e) in attacks.items()}
            out["CW"] = robust_outcomes(ctx, model, None, 0.0, dataset, b.n_sweep, seed=6, unbounded=cw)
            return out
        res[name] = ctx.step(f"li/{ref.key}", run, model=ref)
    for name, ref in refs.items():
        strongs[name] = ctx.step(f"li/strong-0.1-{ref.key}",
                                 lambda ref=ref: strong(ctx, get_model(ctx, ref), dataset, 0.1, ref.label), model=ref)
    cells = [k for k in paper if k != "Clean"]
    wins = [k for k in cells if paired(res["PC-LC"][k], res["CE"][k])["p_a_gt_b"] < ALPHA]
    strong_win = paired(strongs["PC-LC"]["robust"], strongs["CE"]["robust"])["p_a_gt_b"] < ALPHA
    pgd01 = acc(res["PC-LC"]["PGD 0.1"][:b.n_strong])
    masked = (wins and not strong_win and
              paired(res["PC-LC"]["PGD 0.1"][:b.n_strong], strongs["PC-LC"]["robust"])["p_a_gt_b"] < ALPHA)
    majority = len(wins) >= len(cells) // 2 + 1  # the claim is about every attack: a few cells do not make it
    if majority and strong_win:
        c.verdict = "reproduced"
    elif majority and masked:
        c.verdict = "masked"
    elif majority or (wins and strong_win):
        c.verdict = "partly"
    else:
        c.verdict = "not reproduced"
    c.measurement = (f"PGD-40 0.1: PC-LC {with_ci(acc(res['PC-LC']['PGD 0.1']))} vs CE {with_ci(acc(res['CE']['PGD 0.1']))}; "
                     f"worst case 0.1: {strong_cell(strongs['PC-LC'])} vs {strong_cell(strongs['CE'])}")
    c.evidence = (f"PC-LC significantly above CE in {len(wins)} of {len(cells)} attack cells; above CE after AutoAttack "
                  f"+ escalation at 0.1: {strong_win}; PC-LC PGD-40 at 0.1 on the protocol's examples {with_ci(pgd01)}")
    rows = [[k, f"{paper[k][0]} / {paper[k][1]}", with_ci(acc(res["CE"][k])), with_ci(acc(res["PC-LC"][k])),
             f"{paired(res['PC-LC'][k], res['CE'][k])['p_a_gt_b']:.2g}"] for k in paper]
    srows = [[refs[k].label, with_ci(s, "clean", "clean_ci95"), with_ci(s, "autoattack", "autoattack_ci95"), strong_cell(s),
              s["converged"], ", ".join(s["indicators"]) or "none"] for k, s in strongs.items()]
    c.section = "\n\n".join([
        "**Models** (trained here, same budget and seed; PC-LC: 1 CE warm-up epoch then 1 of PC-LC, "
        "the paper's 50 + 50 halved proportionally):\n\n" + _models_table(ctx, list(refs.values())),
        f"Li et al.'s attacks: FGSM; BIM 10 iterations, PGD-40 (random start) and MIM-40, all step 0.01; C&W-L2 "
        f"100 iterations, lr 0.001, confidence 0, c = 1 (not stated; torchattacks' default), unbounded. First "
        f"{b.n_sweep} {nice} test examples; p: exact one-sided McNemar test PC-LC > CE:\n\n"
        + table(["attack", "paper CE / Ours", "CE (ours)", "PC-LC (ours)", "p"], rows)
        + "\n\nBIM with 10 steps of 0.01 (the stated setting) cannot leave the 0.1 ball, so its three rows measure the "
          "same attack (differences only from rounding).",
        f"**The project's protocol at eps 0.1** (first {b.n_strong} examples):\n\n"
        + table(["model", "clean", "AutoAttack", "worst case", "converged", "indicators"], srows),
        "**Differs from the paper:** 2 epochs instead of 100 (CPU); the zoo's `lenet5.pc_lc_mnist` (16 epochs) is "
        "not used here so that CE and PC-LC share one budget.",
    ])
    return c


def claim_li_mnist(ctx: Context) -> Claim:
    return _claim_li(ctx, "mnist")


def claim_li_fmnist(ctx: Context) -> Claim:
    return _claim_li(ctx, "fashion_mnist")


def claim_li_transfer(ctx: Context) -> Claim:
    c = Claim("li-transfer", "Li et al.: PC-LC vs CE under transfer attacks (Table 3)",
              "black-box PGD / MIM from a substitute CNN: PC-LC above CE, e.g. MNIST PGD 0.3: 85.6 vs 61.1; FMNIST "
              "PGD 0.3: 53.5 vs 47.8 (Table 3)")
    b = ctx.budget
    surrogates = {"mnist": ModelRef("sub_2c2f_mnist", "2C2F CE substitute (MNIST)", recipe="standard", dataset="mnist",
                                    epochs=2),
                  "fashion_mnist": ModelRef("sub_2c2f_fmnist", "2C2F CE substitute (Fashion-MNIST)", recipe="standard",
                                            dataset="fashion_mnist", epochs=2)}
    res = {}
    for dataset, sref in surrogates.items():
        refs = _li_models(dataset)
        for name, ref in refs.items():
            def run(ref: ModelRef = ref, sref: ModelRef = sref, dataset: str = dataset) -> dict[str, Any]:
                model, sub = get_model(ctx, ref), get_model(ctx, sref)
                out = {}
                for e in (0.1, 0.2, 0.3):
                    for kind, spec in (("PGD", pgd(ctx.steps(40), 0.01, "pgd-40")),
                                       ("MIM", AttackSpec("mim-40", "mim", {"steps": ctx.steps(40), "alpha": 0.01}))):
                        spec.surrogate, spec.category = sub, "transfer"
                        out[f"{kind} {e}"] = robust_outcomes(ctx, model, spec, e, dataset, b.n_sweep, seed=7)
                return out
            res[(dataset, name)] = ctx.step(f"li-transfer/{ref.key}", run, model=ref)
    wins, total, rows = 0, 0, []
    for dataset in surrogates:
        for cell, (p_ce, p_ours) in LI_TABLE3[dataset].items():
            a, bb = res[(dataset, "PC-LC")][cell], res[(dataset, "CE")][cell]
            t = paired(a, bb)
            total += 1
            wins += t["p_a_gt_b"] < ALPHA
            rows.append([dataset, cell, f"{p_ce} / {p_ours}", with_ci(acc(bb)), with_ci(acc(a)), f"{t['p_a_gt_b']:.2g}"])
    c.verdict = "reproduced" if wins == total else ("partly" if wins else "not reproduced")
    c.measurement = (f"MNIST PGD 0.3: PC-LC {with_ci(acc(res[('mnist', 'PC-LC')]['PGD 0.3']))} vs CE "
                     f"{with_ci(acc(res[('mnist', 'CE')]['PGD 0.3']))}")
    c.evidence = f"PC-LC significantly above CE in {wins} of {total} transfer cells"
    c.section = "\n\n".join([
        "**Models.**\n\n" + _models_table(ctx, list(surrogates.values()) + list(_li_models("mnist").values())
                                          + list(_li_models("fashion_mnist").values())),
        f"PGD-40 / MIM-40 (step 0.01) crafted on the substitute, scored on the target; first {b.n_sweep} test examples:\n\n"
        + table(["dataset", "attack", "paper CE / Ours", "CE (ours)", "PC-LC (ours)", "p"], rows),
        "**Differs from the paper:** the substitute is our 2C2F trained 2 epochs with CE (the paper: a 3-layer CNN, "
        "layout not given); SPSA column not run.",
    ])
    return c


LCAT = "LCAT, shared/papers/000_6a9162405a705f9b.txt"
LCAT_ROWS = {  # Table 2 (CIFAR-10 ResNet-18): LEG, APGD-CE, APGD-T, FAB-T, SQUARE
    "CE": ((0.934, 0.000, 0.000, 0.000, 0.000), ModelRef("lcat_ce", "CE", recipe="lcat-ce-tanh", head=None)),
    "ICE": ((0.921, 0.013, 0.000, 0.000, 0.000), ModelRef("lcat_ice", "ICE", recipe="lcat-ice")),
    "CE+NOI": ((0.921, 0.012, 0.000, 0.000, 0.000), ModelRef("lcat_ce_noi", "CE+NOI", recipe="lcat-ce-noi")),
    "ICE+NOI": ((0.872, 0.227, 0.112, 0.004, 0.004), ModelRef("lcat_ice_noi", "ICE+NOI", recipe="lcat-ice-noi")),
    "CE+Tanh": ((0.927, 0.000, 0.000, 0.000, 0.000), ModelRef("lcat_ce_tanh", "CE+Tanh", recipe="lcat-ce-tanh")),
    "CE+NOI+Tanh": ((0.892, 0.334, 0.317, 0.315, 0.197), ModelRef("lcat_ce_noi_tanh", "CE+NOI+Tanh", recipe="lcat-ce-noi-tanh")),
    "LAA+NOI+Tanh": ((0.900, 0.888, 0.880, 0.880, 0.806), ModelRef("lcat_laa_noi_tanh", "LAA+NOI+Tanh (LCAT)", recipe="lcat")),
    "LAA+ADV+Tanh": ((0.793, 0.480, 0.423, 0.423, 0.423), ModelRef("lcat_laa_adv_tanh", "LAA+ADV+Tanh", recipe="lcat-laa-adv-tanh")),
}


def claim_lcat_table2(ctx: Context) -> Claim:
    c = Claim("lcat-table2", "LCAT: Table 2 ablation under AutoAttack and S-Tanh-aware attacks",
              "LAA+NOI+Tanh (LCAT) is the most robust row under AutoAttack: 0.888 / 0.880 / 0.880 / 0.806 after "
              "APGD-CE / APGD-T / FAB-T / Square (Table 2, CIFAR-10); MNIST ResNet-18 at 0.2: 0.816 (Table 1)")
    b = ctx.budget
    eps = 0.2
    for _, ref in LCAT_ROWS.values():  # the trainings first (cheap), then the evaluations, LCAT's row first
        if ctx.compute:
            model_info(ctx, ref)
    order = ["LAA+NOI+Tanh", "CE+NOI+Tanh", "CE"] + [k for k in LCAT_ROWS if k not in ("LAA+NOI+Tanh", "CE+NOI+Tanh", "CE")]
    strongs, absent = {}, []
    for name in order:
        ref = LCAT_ROWS[name][1]
        try:
            strongs[name] = ctx.step(f"lcat-table2/strong-{ref.key}",
                                     lambda ref=ref: strong(ctx, get_model(ctx, ref), "mnist", eps, ref.label), model=ref)
        except Missing:
            if name == "LAA+NOI+Tanh":
                raise
            absent.append(name)
    refused = {k: strongs.pop(k)["error"] for k in list(strongs) if "error" in strongs[k]}
    if "LAA+NOI+Tanh" in refused:
        raise RuntimeError(f"the LCAT row could not be evaluated: {refused['LAA+NOI+Tanh']}")
    lcat = strongs["LAA+NOI+Tanh"]
    aa_best = all(lcat["autoattack"] >= s["autoattack"] for s in strongs.values()) and not absent
    aa_ok = lcat["autoattack"] is not None and lcat["autoattack"] >= 0.5
    # examples AutoAttack left robust that the head-aware attacks or escalation broke (none go the other way)
    fall = paired(autoattack_kept(lcat), lcat["robust"])
    masked = aa_ok and fall["p_a_gt_b"] < ALPHA and lcat["worst"] < lcat["autoattack"] - 0.1
    zoo = _zoo_numbers("cnn2c2f.lcat_lambda0p01_mnist")  # LCAT at a lambda that trains (the zoo's departure)
    zoo_masked = bool(zoo) and zoo["autoattack"]["acc"] >= 0.5 and zoo["worst"]["ci95"][1] < zoo["autoattack"]["ci95"][0]
    if not aa_ok and zoo_masked:
        c.verdict = "masked"
    elif not aa_ok:  # the claimed level (0.8-0.9 under AutoAttack) is not reached, whatever the ranking
        c.verdict = "not reproduced"
    elif masked:
        c.verdict = "masked"
    elif aa_best:
        c.verdict = "reproduced"
    else:
        c.verdict = "partly"
    c.measurement = (f"LCAT row: clean {with_ci(lcat, 'clean', 'clean_ci95')}, AutoAttack "
                     f"{with_ci(lcat, 'autoattack', 'autoattack_ci95')}, worst case {strong_cell(lcat)} (2C2F MNIST, eps 0.2)")
    best_worst = max(strongs, key=lambda k: strongs[k]["worst"] or 0)
    c.evidence = (f"highest AutoAttack row: {max(strongs, key=lambda k: strongs[k]['autoattack'] or 0)}; highest worst-case "
                  f"row: {best_worst} ({strong_cell(strongs[best_worst])}); LCAT examples AutoAttack left robust that "
                  f"head-aware attacks / escalation broke: {fall['only_a']} (p = {fall['p_a_gt_b']:.2g})"
                  + "".join(f"; {k}: AutoAttack {pct(v['autoattack'])} → worst {pct(v['worst'])}"
                            for k, v in strongs.items() if "Tanh" in k and v["autoattack"] - v["worst"] >= 0.1)
                  + (f"; zoo LCAT λ = 0.01 (2C2F, eps 0.3, n = {zoo['n']}): AutoAttack {with_ci(zoo['autoattack'])} → "
                     f"worst case {with_ci(zoo['worst'])}" if zoo else ""))
    figure, axis = plt.subplots(figsize=(7.5, 3.6))
    shown = [k for k in LCAT_ROWS if k in strongs]
    for offset, (key, ci_key, label) in enumerate((("autoattack", "autoattack_ci95", "AutoAttack"),
                                                   ("worst", "worst_ci95", "worst case (head-aware + escalation)"))):
        values = [100 * strongs[k][key] for k in shown]
        low = [100 * (strongs[k][key] - strongs[k][ci_key][0]) for k in shown]
        high = [100 * (strongs[k][ci_key][1] - strongs[k][key]) for k in shown]
        axis.bar([i + 0.4 * offset for i in range(len(shown))], values, width=0.4, yerr=[low, high], label=label)
    axis.set_xticks([i + 0.2 for i in range(len(shown))], shown, rotation=30, ha="right", fontsize=8)
    axis.set_ylabel("accuracy (%)")
    axis.set_title(f"LCAT Table 2 rows, 2C2F MNIST, eps {eps} (95 % CI)", fontsize=9)
    axis.legend(fontsize=8)
    ctx.save_figure(figure, "lcat_table2.png")
    rows = []
    for name, (paper, ref) in LCAT_ROWS.items():
        if name in absent or name in refused:
            what = "not run in this version" if name in absent else f"evaluation refused: {refused[name]}"
            rows.append([name, " / ".join(f"{v:.3f}" for v in paper), what] + ["–"] * 5)
            continue
        s = strongs[name]
        per = s["per_attack"]
        rows.append([name, " / ".join(f"{v:.3f}" for v in paper), with_ci(s, "clean", "clean_ci95"),
                     " / ".join(pct(per.get(f"autoattack/{a}")) for a in ("apgd-ce", "apgd-t", "fab-t", "square")),
                     with_ci(s, "adaptive", "adaptive_ci95"), strong_cell(s), s["converged"],
                     ", ".join(s["indicators"]) or "none"])
    c.section = "\n\n".join([
        "**Models** (trained here with the package's LCAT recipes on 2C2F, CPU preset; the recipes' MNIST "
        "setting: noise 0.8, λ = 15, S-Tanh s = 100 at test):\n\n" + _models_table(ctx, [r for _, r in LCAT_ROWS.values()]),
        f"MNIST eps {eps} (LCAT's larger MNIST eps, Table 1), first {b.n_strong} test examples. AutoAttack cascade "
        "accuracies after APGD-CE / APGD-T / FAB-T / Square (as the paper's columns), then the head-aware attacks "
        "(pre-head PGD, S-Tanh with s = 1, pre-head APGD-DLR) and escalation:\n\n"
        + table(["row", "paper (CIFAR-10) LEG / APGD-CE / APGD-T / FAB-T / SQUARE", "clean", "AA cascade (%)",
                 "head-aware", "worst case", "converged", "indicators"], rows)
        + "\n\n![LCAT Table 2 reproduction](img/lcat_table2.png)"
        + (f"\n\nThe zoo's LCAT at λ = 0.01 (`cnn2c2f.lcat_lambda0p01_mnist`, λ lowered because 15 does not train; "
           f"its record's evaluation by this package at eps 0.3, n = {zoo['n']}): clean {with_ci(zoo['clean'])}, "
           f"AutoAttack {with_ci(zoo['autoattack'])}, worst case after head-aware attacks and escalation "
           f"{with_ci(zoo['worst'])}." if zoo else "")
        + (f"\n\nRows the evaluator refused ({', '.join(refused)}): their training diverged (ICE, eq. 4, is "
           "unbounded below on unbounded logits; see their validation accuracy under Models)." if refused else "")
        + (f"\n\nRows not evaluated in this version (the verdict treats the table as incomplete): {', '.join(absent)}."
           if absent else ""),
        "**Differs from the paper:** Table 2 is CIFAR-10 ResNet-18; here MNIST 2C2F, 1 epoch (CPU preset), "
        "ICE λ and LAA β / focal γ not given in the paper (the recipes' choices, docs/methods.md). The CE row is "
        "`lcat-ce-tanh` without its head.",
    ])
    return c


def _zoo_numbers(tag: str) -> dict[str, Any] | None:
    """Clean, AutoAttack and worst-case accuracy of a zoo record's evaluation, intervals from accuracy x n."""
    evaluation = get_entry(tag).evaluation or {}
    n = evaluation.get("n_examples")
    if not n:
        return None
    out: dict[str, Any] = {"n": n}
    for key, name in (("clean_acc", "clean"), ("autoattack_acc", "autoattack"), ("worst_case_acc", "worst")):
        value = evaluation.get(key)
        out[name] = None if value is None else {"acc": value, "ci95": ci95(round(value * n), n)}
    return out


#: The readings of eq. 6 the text leaves open (losses.laa_loss, objectives.LogitsAmplitudeAlignment), each trained
#: at the paper's lambda = 15; the first is the package's default (the LCAT row of lcat-table2).
LAA_READINGS = {
    "batch norm, batch means, on the output (default)": {},
    "target term per example (mean of abs(l - beta))": {"norm": "example"},
    "mean term per example (mean of abs(l(x*) - l(x)))": {"mean": "example"},
    "on the pre-head logits z": {"amplitude_of": "logits"},
    "per-example both, on z": {"norm": "example", "mean": "example", "amplitude_of": "logits"},
    "beta = 1 (default otherwise)": {"amplitude_target": 1.0},
}


def claim_lcat_lambda15(ctx: Context) -> Claim:
    c = Claim("lcat-lambda15", "LCAT: training with the paper's λ = 15 (eq. 6)",
              "λ = 15 on MNIST and CIFAR-10 (sec. 4.2) gives 0.989 clean / 0.816 robust on MNIST (Table 1, ResNet-18)")
    b = ctx.budget
    rows = []
    for reading, changes in LAA_READINGS.items():
        ref = (LCAT_ROWS["LAA+NOI+Tanh"][1] if not changes else
               ModelRef("lcat_l15_" + "_".join(f"{k}-{v}" for k, v in changes.items()), f"LCAT λ 15, {reading}",
                        recipe="lcat", hyperparameters=changes))
        info = model_info(ctx, ref)
        clean = ctx.step(f"lcat-lambda15/clean-{ref.key}",
                         lambda ref=ref: {"clean": robust_outcomes(ctx, get_model(ctx, ref), None, 0.0, "mnist", b.n_sweep)})
        rows.append((reading, changes, info, acc(clean["clean"])))
    constant = [r for r in rows if r[3]["acc"] is not None and r[3]["acc"] <= 0.2]
    c.verdict = "not reproducible from the text" if len(constant) == len(rows) else "partly"
    learnt = [r[0] for r in rows if r not in constant]
    c.measurement = "; ".join(f"{reading}: clean {with_ci(a)}" for reading, _, _, a in rows[:3]) + (
        f"; {len(rows) - 3} more readings below" if len(rows) > 3 else "")
    c.evidence = (f"every one of the {len(rows)} readings of eq. 6 trains to a near-constant classifier (clean ≤ 20 %)"
                  if not learnt else f"{len(constant)} of {len(rows)} readings train to a near-constant classifier; "
                                     f"trains under: {', '.join(learnt)}")
    table = ["| reading of eq. 6 | changes | epochs | val clean % | test clean % (first n) | constant classifier |",
             "|---|---|---:|---:|---:|---|"]
    for reading, changes, info, a in rows:
        table.append(f"| {reading} | `{json.dumps(changes) if changes else '-'}` | {info.get('epochs')} | "
                     f"{pct(info.get('selected_val_clean_accuracy'))} | {with_ci(a)} | "
                     f"{'yes' if a['acc'] is not None and a['acc'] <= 0.2 else 'no'} |")
    c.section = "\n\n".join([
        "**Readings of eq. 6** (`losses.laa_loss`, `objectives.LogitsAmplitudeAlignment`): focal loss on the noised "
        "batch B* plus λ(‖l(B*) − β‖ + |mean l(B*) − mean l(B)|), l = max − min logit per example. The text leaves "
        "open: β (the package takes 2, the range of the training-time tanh head); whether ‖·‖ is the Euclidean norm of "
        "the batch vector (it grows with √batch; the package's default) or a per-example mean; whether mean(·) is a "
        "batch mean (default) or per example (abs(l(x*) − l(x)) averaged); whether l is taken on the model's output "
        "(after the training-time head; default) or on the pre-head logits z. Each reading below is trained at the "
        "paper's λ = 15 with the same recipe otherwise (CPU preset, 2C2F, MNIST, seed 0).",
        "\n".join(table),
        "Verdict rule: 'not reproducible from the text' when every reading trains to a near-constant classifier "
        "(test clean ≤ 20 %); 'partly' when some reading learns (its robustness is then a question for lcat-table2's "
        "protocol, which evaluates the default reading).",
    ])
    c.wall_time_s = 0.0
    return c


# Table 1, MNIST, ResNet-18 rows: (LEG, AutoAttack at 0.1, at 0.2). Table 1 reports each of AutoAttack's four attacks
# separately (its columns are not cumulative); AutoAttack's accuracy is at most their minimum, which in these rows
# is the SQUARE column. The EffNet rows (LCAT 88.0 at 0.1, below AT, TRADES, MART) are not the paper's claim.
LCAT_TABLE1 = {
    "LCAT": ((0.989, 0.968, 0.816), ModelRef("t1_lcat", "LCAT λ 0.01", zoo="cnn2c2f.lcat_lambda0p01_mnist")),
    "AT": ((0.969, 0.952, 0.944), ModelRef("t1_at", "AT", zoo="cnn2c2f.pgd_at_mnist")),
    "TRADES": ((0.990, 0.952, 0.878), ModelRef("t1_trades", "TRADES", zoo="cnn2c2f.trades_mnist")),
    "MART": ((0.987, 0.952, 0.930), ModelRef("t1_mart", "MART", zoo="cnn2c2f.mart_mnist")),
}
LCAT_TABLE1_EPS = (0.1, 0.2)


def claim_lcat_table1(ctx: Context) -> Claim:
    c = Claim("lcat-table1", "LCAT: LCAT vs AT, TRADES, MART on MNIST under AutoAttack (Table 1)",
              "LCAT most robust in most settings; MNIST ResNet-18 at 0.1, the minimum over AutoAttack's four "
              "attacks: LCAT 96.8 vs AT, TRADES, MART 95.2 (at 0.2 LCAT's 81.6 is below all three) (Table 1)")
    refs = shipped({name: ref for name, (_, ref) in LCAT_TABLE1.items()})
    if "LCAT" not in refs or len(refs) < 2:
        raise Missing("the zoo lacks LCAT or all of AT, TRADES, MART on MNIST")
    b = ctx.budget
    res = {(name, eps): ctx.step(f"lcat-table1/strong-{eps}-{ref.key}",
                                 lambda ref=ref, eps=eps: strong(ctx, get_model(ctx, ref), "mnist", eps, ref.label), model=ref)
           for eps in LCAT_TABLE1_EPS for name, ref in refs.items()}
    rows, compared, under_paper, under_protocol = [], [], [], []
    for name, ref in refs.items():
        paper = LCAT_TABLE1[name][0]
        rows.append([ref.label, " / ".join(f"{100 * v:.1f}" for v in paper), with_ci(res[(name, 0.1)], "clean", "clean_ci95")]
                    + [f"{with_ci(res[(name, eps)], 'autoattack', 'autoattack_ci95')}; {strong_cell(res[(name, eps)])}"
                       for eps in LCAT_TABLE1_EPS]
                    + [", ".join(res[(name, eps)]["indicators"]) or "none" for eps in LCAT_TABLE1_EPS[-1:]])
    for eps in LCAT_TABLE1_EPS:
        lcat = res[("LCAT", eps)]
        for other in (n for n in refs if n != "LCAT"):
            weak = paired(autoattack_kept(lcat), autoattack_kept(res[(other, eps)]))
            hard = paired(lcat["robust"], res[(other, eps)]["robust"])
            if eps == 0.1:  # the paper's MNIST claim is at 0.1; at 0.2 its own table has LCAT below AT
                under_paper.append(weak["p_a_gt_b"] < ALPHA)
                under_protocol.append(hard["p_a_gt_b"] < ALPHA)
            compared.append([f"{eps:g}", f"LCAT > {other}", f"{weak['only_a']} / {weak['only_b']}", f"{weak['p_a_gt_b']:.2g}",
                             f"{hard['only_a']} / {hard['only_b']}", f"{hard['p_a_gt_b']:.2g}"])
    lost = paired(autoattack_kept(res[("LCAT", 0.1)]), res[("LCAT", 0.1)]["robust"])
    missing = [name for name in LCAT_TABLE1 if name not in refs]
    c.verdict = comparisons_verdict(under_paper, under_protocol, lost, complete=not missing)
    lcat = res[("LCAT", 0.1)]
    c.measurement = (f"at 0.1: LCAT AutoAttack {with_ci(lcat, 'autoattack', 'autoattack_ci95')} → worst case "
                     f"{strong_cell(lcat)}; " + ", ".join(f"{n} worst {strong_cell(res[(n, 0.1)])}" for n in refs if n != "LCAT")
                     + " (2C2F MNIST)")
    c.evidence = (f"LCAT above {sum(under_paper)} of {len(under_paper)} baselines at 0.1 under AutoAttack, "
                  f"{sum(under_protocol)} after head-aware attacks + escalation; LCAT examples AutoAttack left robust "
                  f"that the protocol broke: {lost['only_a']} (p = {lost['p_a_gt_b']:.2g})"
                  + (f"; not in the zoo yet: {', '.join(missing)}" if missing else ""))
    c.section = "\n\n".join([
        "**Models.**\n\n" + _models_table(ctx, list(refs.values())),
        f"MNIST, the first {b.n_strong} test examples, the protocol (`benchmark()`: AutoAttack standard, head-aware "
        "attacks, escalation) at eps 0.1 and 0.2, Table 1's two MNIST budgets. Each cell: AutoAttack; worst case, "
        "accuracy % [95 % CI]. Paper: LEG (clean) / AutoAttack at 0.1 / at 0.2 (the minimum over its four attack "
        "columns), ResNet-18 rows.\n\n"
        + table(["model", "paper (Table 1)", "clean", "eps 0.1: AutoAttack; worst", "eps 0.2: AutoAttack; worst",
                 "indicators at 0.2"], rows),
        "Paired exact one-sided McNemar tests on the same examples, under AutoAttack (the paper's attack) and the "
        "protocol's worst case:\n\n"
        + table(["eps", "comparison", "AutoAttack: kept only by LCAT / by the other", "p", "worst case: kept only by "
                 "LCAT / by the other", "p"], compared),
        f"Verdict rule (`comparisons_verdict`; the paper's MNIST claim is at 0.1, the 0.2 rows are shown, not "
        "judged): reproduced when LCAT is significantly above AT, TRADES and MART under both; masked when above "
        "some under AutoAttack, none under the worst case, and the protocol breaks significantly more LCAT examples "
        f"than AutoAttack; partly when above any; otherwise not reproduced. Power: the paper's gap at 0.1 is 1.6 "
        f"points; on {b.n_strong} examples a one-sided exact test needs at least 5 discordant examples with none "
        "against, so a 'no' means not detected at this n.",
        "**Differs from the paper:** 2C2F (21,840 parameters) instead of ResNet-18 / EfficientNet-B0; the zoo's LCAT "
        "uses λ = 0.01 with lr 0.05 (the paper's λ = 15 trains to a constant classifier: lcat-lambda15); AT, TRADES "
        "and MART are the zoo's models trained at eps 0.3 with a cheaper inner PGD (the paper does not give their "
        "training eps on MNIST).",
    ])
    return c


LMA_TABLE6 = {  # LMA-AT's Table 6 rows as zoo models (2C2F, MNIST, eps 0.3): each base, its "+Ours", and LMA-AT
    "AT": ModelRef("lma_at", "AT", zoo="cnn2c2f.pgd_at_mnist"),
    "AT+Ours": ModelRef("lma_at_ours", "AT+Ours", zoo="cnn2c2f.at_ours_mnist"),
    "TRADES": ModelRef("lma_trades", "TRADES", zoo="cnn2c2f.trades_mnist"),
    "TRADES+Ours": ModelRef("lma_trades_ours", "TRADES+Ours", zoo="cnn2c2f.trades_ours_mnist"),
    "MART": ModelRef("lma_mart", "MART", zoo="cnn2c2f.mart_mnist"),
    "MART+Ours": ModelRef("lma_mart_ours", "MART+Ours", zoo="cnn2c2f.mart_ours_mnist"),
    "LMA-AT": ModelRef("lma_lma_at", "LMA-AT", zoo="cnn2c2f.lma_at_mnist"),
}
LMA_COLUMNS = ("Clean", "FGSM", "PGD-20", "PGD-100", "CW", "AA", "SQUARE", "SPSA")
LMA_PAPER = {  # Table 6 (ResNet-18, CIFAR-10, eps 8/255), mean of six runs, in LMA_COLUMNS order
    "AT": (85.80, 57.87, 52.05, 49.28, 51.08, 46.62, 55.69, 56.17),
    "TRADES": (82.46, 58.26, 54.78, 53.45, 51.65, 49.08, 55.64, 56.50),
    "MART": (81.30, 58.06, 54.73, 53.28, 51.86, 49.01, 55.66, 56.15),
    "AT+Ours": (82.82, 59.89, 56.36, 54.83, 51.95, 48.32, 57.11, 60.35),
    "TRADES+Ours": (83.93, 59.32, 56.23, 54.98, 51.73, 48.78, 58.46, 59.45),
    "MART+Ours": (83.33, 60.87, 57.41, 55.81, 51.83, 48.48, 58.54, 60.56),
    "LMA-AT": (83.56, 61.19, 57.21, 55.64, 52.30, 49.10, 59.54, 60.44),
}
LMA_EPS = 0.3


def _lma_attacks(ctx: Context) -> dict[str, AttackSpec]:
    """LMA-AT sec. 5.2's attacks (attacks.PRESETS lma-*) moved from eps 8/255 to MNIST's 0.3: every step size keeps
    its ratio to eps (1/255 at 8/255: eps / 8; SPSA's Adam lr 0.01 at 8/255: 0.094 at 0.3); SPSA keeps delta 0.001
    (a finite-difference width, not a step), 100 samples, 20 iterations; CW keeps kappa 50 (a logit margin);
    Square 5000 queries (the paper gives none; AutoAttack's standard budget)."""
    b, alpha = ctx.budget, LMA_EPS / 8
    return {"FGSM": AttackSpec("fgsm", "fgsm"),
            "PGD-20": pgd(ctx.steps(20), alpha, "pgd-20"),
            "PGD-100": pgd(ctx.steps(100), alpha, "pgd-100"),
            "CW": AttackSpec("cw50-pgd-20", "cw_margin_pgd", {"steps": ctx.steps(20), "alpha": alpha, "kappa": 50.0}),
            "SQUARE": AttackSpec("square-5000", "square", {"n_queries": ctx.steps(5000)}),
            "SPSA": AttackSpec("spsa-lma", "spsa", {"delta": 0.001, "lr": round(0.01 * LMA_EPS / (8 / 255), 4),
                                                    "nb_iter": ctx.steps(20), "nb_sample": min(100, b.spsa_samples)})}


def _lma_outcomes(ctx: Context, ref: ModelRef) -> dict[str, list[bool]]:
    """Per example, each Table 6 column on the first n_attack test examples (SPSA: n_spsa)."""
    b, model = ctx.budget, get_model(ctx, ref)
    out = {"Clean": robust_outcomes(ctx, model, None, 0.0, "mnist", b.n_attack)}
    for name, spec in _lma_attacks(ctx).items():
        out[name] = robust_outcomes(ctx, model, spec, LMA_EPS, "mnist", b.n_spsa if name == "SPSA" else b.n_attack, seed=6)
    return out


def _first(kept: dict[int, bool], n: int) -> list[bool]:
    """A zoo record's per-example outcomes on the first ``n`` test examples (all of them evaluated there)."""
    if any(i not in kept for i in range(n)):
        raise Missing(f"a zoo record's side file lacks outcomes for the first {n} test examples")
    return [kept[i] for i in range(n)]


def claim_lma(ctx: Context) -> Claim:
    c = Claim("lma-table6", "LMA-AT: AT / TRADES / MART, each + Ours, and LMA-AT (Table 6)",
              "LMA-AT best overall; '+Ours' improves each of AT, TRADES, MART, e.g. AT by 4.3 points at PGD-20 and "
              "1.7 on AutoAttack (ResNet-18 CIFAR-10, Table 6)")
    refs = shipped(LMA_TABLE6)
    if "LMA-AT" not in refs or len(refs) < 2:
        raise Missing("the zoo ships fewer than two of LMA-AT's Table 6 models (scripts/build_zoo.py trains them)")
    b = ctx.budget
    measured = {name: ctx.step(f"lma-table6/{ref.key}", lambda ref=ref: _lma_outcomes(ctx, ref), model=ref)
                for name, ref in refs.items()}
    worst = {name: _first(robust_by_example(ref.zoo), b.n_attack) for name, ref in refs.items()}
    rows = []
    for name, ref in refs.items():
        e = get_entry(ref.zoo).evaluation or {}
        n = e["n_examples"]
        aa = e.get("autoattack_acc")
        cells = {col: with_ci(acc(measured[name][col])) for col in LMA_COLUMNS if col != "AA"}
        cells["AA"] = with_ci(None if aa is None else {"acc": aa, "ci95": ci95(round(aa * n), n)}) + f" (n {n})"
        rows.append([name, " / ".join(f"{v:.1f}" for v in LMA_PAPER[name])] + [cells[col] for col in LMA_COLUMNS]
                    + [with_ci(acc(worst[name]))])
    # The paper's two claims, each as one-sided paired tests on the same examples: under its main attack
    # (PGD-20) and under the protocol's worst case (the zoo record's per-example outcomes).
    pairs = [("LMA-AT", other, "LMA-AT best overall") for other in refs if other != "LMA-AT"]
    pairs += [(f"{base}+Ours", base, "'+Ours' improves its base") for base in ("AT", "TRADES", "MART")
              if base in refs and f"{base}+Ours" in refs]
    # A comparison is judged in a column only where Table 6 itself has it (PGD-20 for the paper's attack, AA for the
    # protocol, which contains AutoAttack): the paper concedes TRADES+Ours and MART+Ours below their bases under
    # AA, and MART+Ours above LMA-AT under PGD-20.
    compared, under_paper, under_protocol = [], [], []
    for a, other, claim in pairs:
        cells = [claim, f"{a} > {other}"]
        for column, outcomes, judged in (("PGD-20", measured, under_paper), ("AA", worst, under_protocol)):
            test = paired(outcomes[a] if column == "AA" else outcomes[a][column],
                          outcomes[other] if column == "AA" else outcomes[other][column])
            claimed = LMA_PAPER[a][LMA_COLUMNS.index(column)] > LMA_PAPER[other][LMA_COLUMNS.index(column)]
            if claimed:
                judged.append(test["p_a_gt_b"] < ALPHA)
            cells += [f"{test['only_a']} / {test['only_b']}", f"{test['p_a_gt_b']:.2g}",
                      ("yes" if judged[-1] else "no") if claimed else "not claimed"]
        compared.append(cells)
    lost = paired(measured["LMA-AT"]["PGD-20"], worst["LMA-AT"])  # examples PGD-20 left robust that the protocol broke
    missing = [name for name in LMA_TABLE6 if name not in refs]
    c.verdict = comparisons_verdict(under_paper, under_protocol, lost, complete=not missing)
    c.measurement = (", ".join(f"{name} PGD-20 {with_ci(acc(measured[name]['PGD-20']))}" for name in refs)
                     + f"; worst case LMA-AT {with_ci(acc(worst['LMA-AT']))} (2C2F MNIST eps {LMA_EPS}, first {b.n_attack})")
    c.evidence = (f"{sum(under_paper)} of {len(under_paper)} claimed comparisons hold under PGD-20, "
                  f"{sum(under_protocol)} of {len(under_protocol)} under the worst case (level {ALPHA})" + (f"; not in the zoo yet: {', '.join(missing)}" if missing else ""))
    specs = _lma_attacks(ctx)
    c.section = "\n\n".join([
        "**Models.**\n\n" + _models_table(ctx, list(refs.values())),
        f"MNIST, eps {LMA_EPS}, the first {b.n_attack} test examples (SPSA: the first {b.n_spsa}), seed 6. LMA-AT sec. "
        "5.2's attacks moved from 8/255 to 0.3 with each step size's ratio to eps kept: "
        + "; ".join(f"{name} ({', '.join(f'{k} {v:g}' for k, v in spec.params.items()) or 'one step of eps'})"
                    for name, spec in specs.items())
        + ". AA is AutoAttack standard from the zoo record (its own n); 'worst case' is the protocol's per-example "
        "outcome (AutoAttack + head-aware attacks + escalation, from the record's side file) on the same first "
        f"{b.n_attack} examples. Paper: Table 6's {' / '.join(LMA_COLUMNS)} (ResNet-18, CIFAR-10, 8/255). "
        "Accuracy % [95 % CI]:\n\n"
        + table(["method", "paper (Table 6)", "clean", "FGSM", "PGD-20", "PGD-100", "CW", "AA", "Square", "SPSA",
                 "worst case"], rows),
        "The paper's claims as exact one-sided McNemar tests on the same examples, under the paper's main attack "
        "(PGD-20) and under the protocol's worst case:\n\n"
        + table(["claim", "comparison", "PGD-20: kept only by first / second", "p", f"holds (p < {ALPHA})",
                 "worst case: kept only by first / second", "p", f"holds (p < {ALPHA})"], compared),
        "A comparison is judged under an attack only where Table 6 has it (PGD-20: the paper's main attack; the "
        "worst case against Table 6's AA column, which it contains): 'not claimed' otherwise. Verdict rule "
        "(`comparisons_verdict`): reproduced when every judged comparison holds and the zoo ships all seven models; "
        "masked when some hold under PGD-20, none under the worst case, and the protocol breaks significantly more "
        f"LMA-AT examples than PGD-20 (here {lost['only_a']} vs {lost['only_b']}, p = {lost['p_a_gt_b']:.2g}); partly "
        f"when any holds; otherwise not reproduced. Power: on {b.n_attack} examples a one-sided exact test needs at "
        "least 5 discordant examples with none against (p = 0.031); Table 6's gaps of 1-5 points may not be "
        "detectable here, so a 'no' means not detected at this n, not the opposite shown."
        + (f" **Not run:** {', '.join(missing)} (plans in scripts/build_zoo.py, not yet shipped)." if missing else ""),
        "**Differs from the paper:** ResNet-18 CIFAR-10 at 8/255 vs 2C2F MNIST at 0.3; one seed (paper: six runs); "
        "the zoo's budgets (each model trained to the zoo's convergence rule with a cheaper inner PGD; see the "
        "Models table).",
    ])
    return c


CLAIMS: dict[str, Callable[[Context], Claim]] = {  # priority order: cheap and high-value first
    "kanai-fig3": claim_kanai_fig3,
    "kanai-fig5": claim_kanai_fig5,
    "summers-ls": claim_summers_ls,
    "kanai-table4-st": claim_kanai_table4_st,
    "li-mnist": claim_li_mnist,
    "lcat-table2": claim_lcat_table2,
    "lcat-lambda15": claim_lcat_lambda15,
    "li-fmnist": claim_li_fmnist,
    "summers-alp": claim_summers_alp,
    "li-transfer": claim_li_transfer,
    "kanai-table4-at": claim_kanai_table4_at,
    "lcat-table1": claim_lcat_table1,
    "lma-table6": claim_lma,
}
SOURCES = {"kanai": KANAI, "summers": SUMMERS, "li": LI, "lcat": LCAT,
           "lma": "LMA-AT, shared/papers/003_49795fa6f1480e2d.txt"}
VERDICT_RULES = (
    "Verdicts follow fixed rules, computed from per-example outcomes on the same test examples with exact one-sided "
    f"McNemar tests at level {ALPHA} (`evaluation.statistics.discordance_p`): **reproduced** - the paper's "
    "comparison holds under the paper's attack and still holds under the project's protocol (AutoAttack standard, "
    "head-aware attacks, escalation); **partly** - only part of it holds; **masked** - it holds under the paper's "
    "attack but not under the protocol, and the protocol breaks significantly more examples of the claimed model; "
    "**not reproduced** - it does not hold even under the paper's attack; **not reproducible from the text** - the "
    "paper's stated setting does not train (with what the text leaves open). Each section states its rule's inputs."
)


# --- rendering ----------------------------------------------------------------------------------------


def render(ctx: Context, claims: list[Claim], missing: dict[str, str], total_s: float) -> str:
    b = ctx.budget
    done = [c for c in claims if c.key not in missing]
    head = [
        "# Reproducing the seed papers' headline claims",
        "",
        "<!-- generated by scripts/reproduce.py from computed results only; do not edit by hand -->",
        "",
        f"Generated by `scripts/reproduce.py` (`make reproduce`) in **{b.name} mode** from the step results in "
        f"`{_shown(ctx.results)}`. {len(done)} of {len(claims)} claims have results"
        + (" - **this is a partial version**: the claims marked 'not run in this version' are missing." if missing else ".")
        + f" Wall time of the cached steps: {total_s / 60:.1f} min on a shared 2-core CPU (one thread).",
        "",
        "Every number below comes from a run of this package (zoo models through `models.pretrained.load_model`, or "
        "models trained here with `train()` on the CPU budget stated per claim). The paper's numbers are quoted from "
        "the paper texts in `shared/papers/` (the texts carry no page numbers: table / figure / section are given). "
        "Accuracies are % of the first n MNIST / Fashion-MNIST test examples with their 95 % Clopper-Pearson interval "
        "`[lo, hi]`; 'worst case' is the project's protocol (`benchmark()`: AutoAttack standard, head-aware attacks "
        "for models with a logit head, escalation until converged; docs/evaluation.md). Seed 0 for every training "
        "and attack.",
        "",
        VERDICT_RULES,
        "",
        "Regenerate or resume: `make reproduce` runs only the steps that have no result in `reproduction/results/` "
        "(committed; a step on a zoo model also reruns once the zoo ships other weights under its tag), in priority "
        "order, and rewrites this page after each claim; the models it trains go to `runs/reproduce/full` "
        "(`REPRO_CACHE=` to change it); `python scripts/reproduce.py --render-only` rewrites the page from the "
        "results without computing (a test checks the committed page against it); "
        "`--only kanai-fig3,summers-ls` restricts the claims; `--quick` is the test-sized mode.",
        "",
        "## Summary",
        "",
        table(["claim", "method", "paper's claim", "our measurement (95 % CI)", "verdict", "evidence"],
              [[f"[{c.key}](#{c.key})", c.method, c.paper_claim, c.measurement or "–", f"**{c.verdict}**",
                c.evidence or missing.get(c.key, "")] for c in claims]),
        "",
    ]
    body = []
    for c in claims:
        body.append(f"<a id=\"{c.key}\"></a>\n## {c.key}: {c.method}\n")
        source = SOURCES[c.key.split("-")[0]]
        body.append(f"*Paper:* {source}. *Claim:* {c.paper_claim}\n")
        if c.key in missing:
            body.append(f"**Not run in this version.** {missing[c.key]}\n")
            continue
        body.append(f"*Verdict:* **{c.verdict}** - {c.evidence}\n")
        body.append(c.section + "\n")
        body.append(f"*Wall time of this claim's cached steps:* {c.wall_time_s:.0f} s.\n")
    body.append("## Parts of the issue this script does not attempt\n")
    body.append("\n".join(f"- **{what}**: {why}" for what, why in NOT_RUN) + "\n")
    return "\n".join(head + body)


NOT_RUN = [  # parts of issue 14 this script does not attempt, with the projected cost on this machine
    ("Kanai et al., 4C3F rows (Fig. 3(c), Table 4 4C3F)", "no 4C3F standard-training models in the zoo; 4C3F "
     "(312 k parameters) costs about 15x a 2C2F pass: 4 standard trainings (~10 CPU-min each at the CPU preset) "
     "plus sweeps and protocol evaluations (~20 CPU-min)."),
    ("LCAT, Table 1 on ResNet-18 / EfficientNet-B0", "ResNet trainings on MNIST are GPU work (hours of CPU each); "
     "lcat-table1 compares the zoo's 2C2F models instead."),
    ("Li et al., Table 3 SPSA column", "SPSA on 4 LeNet-5 models (~2 CPU-min each at 50 examples)."),
    ("Summers & Dinneen, label smoothing as a black-box defense (67.3 -> 60.8 %)", "needs a transfer PGD-1000 from a "
     "second model (~2 CPU-min)."),
]


PROJECTED = {  # what a claim costs at the full budget, in CPU minutes of one free core (measured rates)
    "kanai-fig3": "4 zoo models, PGD-40 sweep (7 eps) + protocol at 0.2: ~3 CPU-min",
    "kanai-fig5": "2 zoo models, 2 x 6 PGD-40 sweeps: ~1 CPU-min",
    "summers-ls": "3 zoo models, PGD-5/10/20, PGD-1000, SPSA: ~4 CPU-min",
    "kanai-table4-st": "4 zoo models, APGD x5 + APGD-T + protocol at 0.15: ~6 CPU-min",
    "li-mnist": "2 LeNet-5 trainings (2 epochs) + 13 attacks + protocol: ~4 CPU-min",
    "li-fmnist": "2 LeNet-5 trainings (2 epochs) + 13 attacks + protocol: ~4 CPU-min",
    "lcat-table2": "8 CPU-preset trainings (1 with PGD-5) + 8 protocol evaluations of S-Tanh models: ~25 CPU-min",
    "lcat-lambda15": "6 CPU-preset trainings (one per reading of eq. 6), about 1 min nominal each, and a clean pass",
    "summers-alp": "4 CPU-preset trainings with PGD-10 + 4 protocol evaluations at 0.3: ~15 CPU-min",
    "li-transfer": "2 substitute trainings + 24 transfer attacks: ~3 CPU-min",
    "kanai-table4-at": "3 zoo models robust at 0.15: APGD x5 + APGD-T + protocol: ~15 CPU-min",
    "lcat-table1": "4 zoo models, the protocol at 0.1 and 0.2 on 100 examples: ~15 CPU-min",
    "lma-table6": "7 zoo models: FGSM, PGD-20/100, CW, Square on 150 examples, SPSA on 50: ~20 CPU-min",
}


def save_figure(self: Context, figure: Any, name: str) -> None:
    path = self.img_dir / name
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


Context.save_figure = save_figure  # type: ignore[attr-defined]


def run(args: argparse.Namespace) -> int:
    budget = QUICK if args.quick else FULL
    cache = Path(args.cache) if args.cache else (DEFAULT_CACHE / budget.name)
    doc = Path(args.doc) if args.doc else (ROOT / "docs" / "reproduction.md" if not args.quick else cache / "reproduction.md")
    img_dir = Path(args.img_dir) if args.img_dir else (doc.parent / "img")
    log_lines: list[str] = []

    def log(line: str) -> None:
        stamp = time.strftime("%H:%M:%S")
        print(f"[{stamp}] {line}", flush=True)
        log_lines.append(line)

    torch.set_num_threads(args.threads)
    results = Path(args.results) if args.results else (cache / "results" if args.quick else RESULTS)
    ctx = Context(cache, results, budget, compute=not args.render_only, threads=args.threads, log=log)
    ctx.img_dir = img_dir  # type: ignore[attr-defined]
    wanted = list(CLAIMS) if not args.only else args.only
    claims: list[Claim] = []
    missing: dict[str, str] = {}

    def write_doc() -> None:
        done = {c.key for c in claims}
        pending = {k: f"Queued after the claims above; projected cost: {PROJECTED[k]}." for k in wanted if k not in done}
        shown = claims + [_placeholder(k) for k in pending]
        total = sum(c.wall_time_s for c in claims if c.key not in missing)
        write_text(doc, render(ctx, shown, {**pending, **missing}, total))

    for key in CLAIMS:  # --only computes its claims; the page still shows every other claim the cache holds whole
        ctx.compute = not args.render_only and key in wanted
        if key not in wanted:
            try:
                claims.append(CLAIMS[key](ctx))
                claims[-1].wall_time_s = _cached_seconds(results, only=_claim_prefixes(key)) or claims[-1].wall_time_s
                log(f"claim {key}: {claims[-1].verdict} (from the cache)")
            except Missing:
                pass
            except Exception as error:  # noqa: BLE001 - a claim outside --only must not stop the ones asked for
                log(f"claim {key}: not rendered from the cache ({type(error).__name__}: {str(error)[:200]})")
            continue
        log(f"claim {key}")
        try:
            claim = CLAIMS[key](ctx)
            claim.wall_time_s = _cached_seconds(results, only=_claim_prefixes(key)) or claim.wall_time_s
            missing.pop(key, None)
        except Missing as why:
            claim = _placeholder(key)
            missing[key] = f"{why} (run `make reproduce` to compute it; projected cost: {PROJECTED[key]})."
        except Exception as error:  # noqa: BLE001 - one failing claim must not lose the others
            if args.quick and not args.keep_going:
                raise
            claim = _placeholder(key)
            missing[key] = f"the run failed: {type(error).__name__}: {str(error)[:200]}"
            log(traceback.format_exc())
        claims.append(claim)
        write_doc()
        log(f"claim {key}: {claim.verdict if key not in missing else 'missing'}")
    write_doc()
    log(f"wrote {doc}")
    return 0


def _shown(path: Path) -> str:
    """A path as the page shows it: relative to the repository when inside it (the page must not name a machine)."""
    try:
        return path.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return str(path)


def _claim_prefixes(key: str) -> tuple[str, ...]:
    return {"kanai-table4-st": ("kanai-table4/",), "kanai-table4-at": ("kanai-table4/",), "li-mnist": ("li/",),
            "li-fmnist": ("li/",), "lcat-lambda15": ("lcat-lambda15/", "train/lcat_l15_")}.get(key, (key + "/",))


def _cached_seconds(results: Path, only: tuple[str, ...] | None = None) -> float:
    total = 0.0
    if not results.is_dir():
        return 0.0
    for path in results.rglob("*.json"):
        rel = path.relative_to(results).as_posix()
        if only is not None and not any(rel.startswith(p) for p in only):
            continue
        try:
            total += float(json.loads(path.read_text()).get("wall_time_s", 0.0))
        except (ValueError, OSError):
            continue
    return total


def _placeholder(key: str) -> Claim:
    probe = Claim(key, key, "")
    names = {"kanai-fig3": ("Kanai et al.: BLF vs logit regularization, standard training (Fig. 3(a))",
                            "BLF most robust for eps > 0.15, label smoothing for eps < 0.2 (Fig. 3(a))"),
             "kanai-fig5": ("Kanai et al.: BLF attacked through a tanh-replaced copy (Fig. 5)",
                            "tanh-replaced PGD does not break BLF much more (Fig. 5)"),
             "summers-ls": ("Summers & Dinneen: label smoothing under long PGD and SPSA (Table 6)",
                            "34.4 % at PGD-20 → 7.2 % at PGD-1000, 8.9 % SPSA (Table 6)"),
             "kanai-table4-st": ("Kanai et al.: logit regularization vs APGD, standard training (Table 4)",
                                 "APGD at 0.15: 43.8 (CE) < 58.9 / 69.2 / 60.5 (LSQ / LSM / BLF)"),
             "kanai-table4-at": ("Kanai et al.: BLF + AT vs AT vs TRADES under APGD (Table 4)",
                                 "APGD at 0.15: 92.3 (BLF+AT) ≥ 91.8 (AT) > 86.8 (TRADES)"),
             "li-mnist": ("Li et al.: PC-LC vs CE, LeNet-5 MNIST (Table 1)", "PGD-40 0.1: 72.3 vs 49.0"),
             "li-fmnist": ("Li et al.: PC-LC vs CE, LeNet-5 Fashion-MNIST (Table 1)", "PGD-40 0.1: 15.7 vs 0.0"),
             "li-transfer": ("Li et al.: PC-LC vs CE under transfer attacks (Table 3)", "MNIST PGD 0.3: 85.6 vs 61.1"),
             "lcat-table2": ("LCAT: Table 2 ablation under AutoAttack and S-Tanh-aware attacks",
                             "LAA+NOI+Tanh most robust: 0.806 after Square (Table 2)"),
             "lcat-lambda15": ("LCAT: training with the paper's λ = 15 (eq. 6)", "λ = 15 (sec. 4.2)"),
             "summers-alp": ("Summers & Dinneen: LRM vs ALP vs PGD-AT; the ALP pairing term",
                             "LRM 51.0 > ALP 48.5 > PGD-AT 45.3 (Table 6)"),
             "lcat-table1": ("LCAT: LCAT vs AT, TRADES, MART on MNIST under AutoAttack (Table 1)",
                             "LCAT 96.8 vs 95.2 at 0.1 (Table 1)"),
             "lma-table6": ("LMA-AT: AT / TRADES / MART, each + Ours, and LMA-AT (Table 6)",
                            "LMA-AT best; +Ours improves each base")}
    probe.method, probe.paper_claim = names[key]
    return probe


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny budgets (a few examples, tiny trainings): tests")
    parser.add_argument("--only", default=None, help=f"comma-separated claims, in order (default all): {', '.join(CLAIMS)}")
    parser.add_argument("--cache", default=None, help=f"trained models' directory (default {DEFAULT_CACHE}/<mode>)")
    parser.add_argument("--results", default=None,
                        help=f"step results' directory (default: full mode {RESULTS.relative_to(ROOT)}, committed; quick "
                             "mode results/ in the cache)")
    parser.add_argument("--doc", default=None, help="the document to write (default docs/reproduction.md; quick: in the cache)")
    parser.add_argument("--img-dir", default=None, help="where the plots go (default: img/ beside the document)")
    parser.add_argument("--render-only", action="store_true", help="compute nothing; render what the cache holds")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument("--keep-going", action="store_true", help="in quick mode, record a failing claim and continue")
    args = parser.parse_args(argv)
    if args.only is not None:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in names if n not in CLAIMS]
        if unknown or not names:
            raise ReproduceError(f"unknown claim {', '.join(unknown) or '(none given)'} in --only: choose from {', '.join(CLAIMS)}")
        args.only = names
    if args.threads < 1:
        raise ReproduceError(f"--threads must be >= 1, got {args.threads}")
    return args


def main(argv: list[str] | None = None) -> int:
    try:
        args = parse_args(argv)
    except ReproduceError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
