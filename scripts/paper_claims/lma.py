"""LMA-AT: Table 6 (AT, TRADES, MART, each + Ours, and LMA-AT) on MNIST."""

from __future__ import annotations

from robustbench_logits.attacks import AttackSpec
from robustbench_logits.evaluation.statistics import ci95
from robustbench_logits.zoo import get_entry, robust_by_example

from .claim import Claim, claim
from .measures import acc, comparisons_verdict, paired, pgd, robust_outcomes, first_outcomes
from .models import ModelRef, models_table, get_model, shipped
from .steps import ALPHA, Context, Missing
from .text import table, with_ci


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


@claim("lma-table6",
       "LMA-AT: AT / TRADES / MART, each + Ours, and LMA-AT (Table 6)",
       "LMA-AT best overall; '+Ours' improves each of AT, TRADES, MART, e.g. AT by 4.3 points at PGD-20 and "
       "1.7 on AutoAttack (ResNet-18 CIFAR-10, Table 6)")
def claim_lma(ctx: Context, c: Claim) -> Claim:
    refs = shipped(LMA_TABLE6)
    if "LMA-AT" not in refs or len(refs) < 2:
        raise Missing("the zoo ships fewer than two of LMA-AT's Table 6 models (scripts/build_zoo.py trains them)")
    b = ctx.budget
    measured = {name: ctx.step(f"lma-table6/{ref.key}", lambda ref=ref: _lma_outcomes(ctx, ref), zoo=ref.zoo)
                for name, ref in refs.items()}
    worst = {name: first_outcomes(robust_by_example(ref.zoo), b.n_attack) for name, ref in refs.items()}
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
    for a, other, said in pairs:
        cells = [said, f"{a} > {other}"]
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
        "**Models.**\n\n" + models_table(ctx, list(refs.values())),
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
