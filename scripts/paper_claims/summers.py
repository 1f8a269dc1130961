"""Summers & Dinneen: label smoothing under long PGD, SPSA and transfer; LRM vs ALP vs PGD-AT."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt

from robustbench_logits.attacks import AttackSpec

from .claim import Claim, claim
from .measures import acc, paired, pgd, robust_outcomes, strong, transfer
from .models import AT, ST, SUBSTITUTES, ModelRef, models_table, get_model
from .steps import ALPHA, Context, Missing
from .text import strong_cell, table, with_ci


@claim("summers-ls",
       "Summers & Dinneen: label smoothing under long PGD and SPSA (Table 6)",
       "label smoothing 34.4 % at PGD-20 falls to 7.2 % at PGD-1000 and 8.9 % under SPSA, while PGD-AT stays "
       "(45.3 → 45.2 %) (Table 6, CIFAR-10, eps 0.03)")
def claim_summers_ls(ctx: Context, c: Claim) -> Claim:
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
        res[name] = ctx.step(f"summers-ls/{ref.key}", run, zoo=ref.zoo)
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
        "**Models.**\n\n" + models_table(ctx, list(refs.values())),
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


@claim("summers-alp",
       "Summers & Dinneen: LRM vs ALP vs PGD-AT; the ALP pairing term",
       "PGD-20 accuracy LRM 51.0 > ALP 48.5 > PGD-AT 45.3 (Table 6, CIFAR-10); ALP pairing eq. 9 is a squared "
       "L2 norm with coefficient 0.5 (from Kannan et al., whose code averages over the logits)")
def claim_summers_alp(ctx: Context, c: Claim) -> Claim:
    b = ctx.budget
    refs = {
        "PGD-AT": ModelRef("cpu_pgd_at", "PGD-AT (cpu preset)", recipe="pgd-at"),
        "ALP (sum, eq. 9)": ModelRef("cpu_alp_sum", "ALP, pairing summed over logits (eq. 9, default)", recipe="alp",
                                     hyperparameters={"pairing_reduction": "sum"}),
        "ALP (mean, Kannan)": ModelRef("cpu_alp_mean", "ALP, pairing averaged over logits (Kannan's code)", recipe="alp",
                                       hyperparameters={"pairing_reduction": "mean"}),
        "LRM": ModelRef("cpu_lrm", "LRM (cpu preset)", recipe="lrm"),
        # what the ratio does: 0.125 (CIFAR-10, the verdict's row) collapses here; 0.95 is the paper's CIFAR-100/SVHN value
        "LRM (ratio 0.95)": ModelRef("cpu_lrm_ratio0p95", "LRM, ratio 0.95 (the paper's CIFAR-100 / SVHN value)",
                                     recipe="lrm", hyperparameters={"ratio": 0.95}),
    }
    eps = 0.3
    p20 = pgd(ctx.steps(20), 2.5 * eps / 20, "pgd-20")
    res, strongs = {}, {}
    for name, ref in refs.items():
        res[name] = ctx.step(f"summers-alp/{ref.key}", lambda ref=ref: {
            "clean": robust_outcomes(ctx, get_model(ctx, ref), None, 0.0, "mnist", b.n_sweep),
            "PGD-20": robust_outcomes(ctx, get_model(ctx, ref), p20, eps, "mnist", b.n_sweep, seed=5)}, zoo=ref.zoo)
    pending = []  # protocol evaluations not in the cache yet (render-only of a partial run): PGD-20 only
    for name, ref in refs.items():
        try:
            strongs[name] = ctx.step(f"summers-alp/strong-{ref.key}",
                                     lambda ref=ref: strong(ctx, get_model(ctx, ref), "mnist", eps, ref.label), zoo=ref.zoo)
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
    ratio = paired(*(strongs[k]["robust"] if done else res[k]["PGD-20"] for k in ("LRM (ratio 0.95)", "LRM")))
    c.measurement = "; ".join(f"{k} PGD-20 {with_ci(acc(r['PGD-20']))}, worst {strong_cell(strongs[k])}" for k, r in res.items())
    c.evidence = (f"LRM > ALP (PGD-20 / worst): {lrm_gt_alp} / {lrm_gt_alp_s if done else 'not run'}; ALP > PGD-AT: "
                  f"{alp_gt_pgd} / {alp_gt_pgd_s if done else 'not run'}; pairing sum vs mean, "
                  f"{'worst case' if done else 'PGD-20'}: {sm['only_a']} vs {sm['only_b']} discordant examples "
                  f"(p = {min(sm['p_a_gt_b'], sm['p_b_gt_a']):.2g}); LRM ratio 0.95 vs 0.125: {ratio['only_a']} vs "
                  f"{ratio['only_b']} (p = {min(ratio['p_a_gt_b'], ratio['p_b_gt_a']):.2g})"
                  + (f"; protocol not run in this version for {', '.join(pending)}" if pending else ""))
    paper = {"PGD-AT": "45.3", "ALP (sum, eq. 9)": "48.5", "ALP (mean, Kannan)": "48.5 (one ALP row)",
             "LRM": "51.0 (ratio 0.125)", "LRM (ratio 0.95)": "– (ratio 0.95 is the CIFAR-100 / SVHN setting)"}
    rows = [[k, paper[k], with_ci(acc(r["clean"])), with_ci(acc(r["PGD-20"])),
             with_ci(strongs[k], "autoattack", "autoattack_ci95"), strong_cell(strongs[k]), strongs[k]["converged"],
             ", ".join(strongs[k]["indicators"]) or "none"] for k, r in res.items()]
    c.section = "\n\n".join([
        "**Models** (all trained here with the package's `train()`, same budget and seed):\n\n"
        + models_table(ctx, list(refs.values())),
        f"MNIST eps {eps}; PGD-20 (step 2.5 eps / 20) on the first {b.n_sweep} test examples; protocol on the first "
        f"{b.n_strong}:\n\n" + table(["model", "paper PGD-20 (CIFAR-10)", "clean", "PGD-20", "AutoAttack", "worst case",
                                      "converged", "indicators"], rows),
        "**The ALP pairing term.** Eq. 9 writes λ‖f(x) − f(x')‖² (summed over the C logits); the coefficient "
        "λ = 0.5 is Kannan et al.'s, whose code takes a mean squared error (averaged over the logits), so at the "
        "same λ the two readings differ by a factor C = 10. `losses.alp_loss(..., pairing_reduction=)` supports "
        "both; **the default is `\"sum\"`** (the equation as printed, the project's rule for ambiguous papers). The "
        "two ALP rows above are the same recipe, budget and seed with only this switch changed.",
        "**LRM's ratio.** The pairing coefficient is c = sg(J~ / h) / ratio (sec. 4.1); at CIFAR-10's ratio 0.125, the "
        "verdict's LRM row, c grows without bound as the two softmaxes sharpen on the same class and the model "
        "collapses towards a constant classifier (traced step by step in docs/models.md). The last row is the same "
        "recipe, budget and seed at the paper's other ratio, 0.95; it does not enter the verdict.",
        "**Differs from the paper:** MNIST 2C2F, the package's CPU preset (1 epoch, PGD-10 with eps warm-up) "
        "instead of 101 epochs of ResNet-18 on CIFAR-10; LRM uses mixup on MNIST (the recipe's MNIST adaptation).",
    ])
    return c


@claim("summers-transfer",
       "Summers & Dinneen: label smoothing as a black-box defense (Table 2, sec. 5)",
       "label smoothing is a compelling black-box defense: transferred PGD-10 leaves it 66.7-67.6 % vs 26.8 % "
       "for regular training from the same kind of source (Table 2, CIFAR-10); a 1,000-step transfer attack "
       "only takes it from 67.3 % to 60.8 % (sec. 5)")
def claim_summers_transfer(ctx: Context, c: Claim) -> Claim:
    b = ctx.budget
    eps, alpha = 0.1, 0.026  # summers-ls's setting: MNIST eps 0.1, step 0.26 eps
    sources = {"CE": SUBSTITUTES["mnist"],
               "LS": ModelRef("ls_source_mnist", "2C2F label-smoothing source (MNIST)", recipe="label-smoothing",
                              epochs=2)}
    targets = {"Regular": ST["Baseline"], "LS": ST["LSM"]}
    attacks = {"PGD-10": pgd(ctx.steps(10), alpha, "pgd-10"),
               f"PGD-{b.long_steps}": pgd(b.long_steps, alpha, f"pgd-{b.long_steps}")}
    res = {}
    for tname, ref in targets.items():
        def run(ref: ModelRef = ref) -> dict[str, Any]:
            model, out = get_model(ctx, ref), {}
            for sname, sref in sources.items():
                for aname, spec in attacks.items():
                    out[f"{sname} {aname}"] = robust_outcomes(ctx, model, transfer(spec, get_model(ctx, sref)), eps, "mnist", b.n_attack, seed=8)
            return out
        res[tname] = ctx.step(f"summers-transfer/{ref.key}", run, zoo=ref.zoo)
    long = f"PGD-{b.long_steps}"
    beats = {s: paired(res["LS"][f"{s} {long}"], res["Regular"][f"{s} {long}"]) for s in sources}
    ls10, ls_long = acc(res["LS"]["LS PGD-10"]), acc(res["LS"][f"LS {long}"])
    defense = all(t["p_a_gt_b"] < ALPHA for t in beats.values())
    holds = ls_long["acc"] >= 0.9 * ls10["acc"]  # the paper: 67.3 -> 60.8, a 9.7 % relative loss
    c.verdict = "reproduced" if defense and holds else ("partly" if defense or holds else "not reproduced")
    c.measurement = (f"LS target, LS source: PGD-10 {with_ci(ls10)} → {long} {with_ci(ls_long)}; from the CE source "
                     f"({long}): LS {with_ci(acc(res['LS'][f'CE {long}']))} vs regular "
                     f"{with_ci(acc(res['Regular'][f'CE {long}']))}")
    kept = f"{ls_long['acc'] / ls10['acc']:.0%}" if ls10["acc"] else "none"
    c.evidence = "; ".join([f"{s} source: LS target keeps {t['only_a']} examples regular training loses, "
                            f"{t['only_b']} the other way (p = {t['p_a_gt_b']:.2g})" for s, t in beats.items()]
                           + [f"{long} keeps {kept} of PGD-10's LS accuracy (paper 90 %)"])
    paper = {("Regular", "CE"): "26.8", ("Regular", "LS"): "32.0", ("LS", "CE"): "66.7", ("LS", "LS"): "67.3"}
    rows = [[targets[t].label, sources[s].label, paper[(t, s)], with_ci(acc(res[t][f"{s} PGD-10"])),
             with_ci(acc(res[t][f"{s} {long}"]))] for t in targets for s in sources]
    c.section = "\n\n".join([
        "**Models.**\n\n" + models_table(ctx, list(sources.values()) + list(targets.values())),
        f"Transfer PGD (random start, step {alpha} = 0.26 eps as in summers-ls) crafted on a source, scored on a target "
        f"trained independently of it; MNIST eps {eps}, first {b.n_attack} test examples. Rule: **reproduced** when "
        f"label smoothing beats regular training under the long transfer attack from both sources (paired exact test) "
        f"and the long attack keeps at least 90 % of its PGD-10 accuracy (the paper: 60.8 / 67.3); **partly** when one "
        f"holds.\n\n"
        + table(["target", "source", "paper PGD-10 (Table 2)", "PGD-10", long], rows),
        "Which cell sec. 5's 67.3 % is: Table 2 prints 67.3 % for the label-smoothing target under the label-smoothing "
        "source (and, by coincidence, for the regular target under the LRM source); we read the former.",
        "**Differs from the paper:** MNIST 2C2F at eps 0.1 vs CIFAR-10 at 0.03; the sources are 2-epoch CPU-preset "
        "trainings on 20,000 images (the paper: independently trained full models of each kind); no PGD-AT / ALP / LRM "
        "sources or targets.",
    ])
    return c
