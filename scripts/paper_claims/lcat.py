"""LCAT: the Table 2 ablation, the paper's lambda = 15, Table 1 against AT / TRADES / MART."""

from __future__ import annotations

import json

import matplotlib.pyplot as plt

from .claim import Claim, claim
from .measures import acc, autoattack_kept, comparisons_verdict, paired, robust_outcomes, strong, zoo_numbers
from .models import ModelRef, models_table, get_model, model_info, shipped
from .steps import ALPHA, Context, Missing
from .text import pct, strong_cell, table, with_ci


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


@claim("lcat-table2",
       "LCAT: Table 2 ablation under AutoAttack and S-Tanh-aware attacks",
       "LAA+NOI+Tanh (LCAT) is the most robust row under AutoAttack: 0.888 / 0.880 / 0.880 / 0.806 after "
       "APGD-CE / APGD-T / FAB-T / Square (Table 2, CIFAR-10); MNIST ResNet-18 at 0.2: 0.816 (Table 1)")
def claim_lcat_table2(ctx: Context, c: Claim) -> Claim:
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
                                     lambda ref=ref: strong(ctx, get_model(ctx, ref), "mnist", eps, ref.label), zoo=ref.zoo)
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
    zoo = zoo_numbers("cnn2c2f.lcat_lambda0p01_mnist")  # LCAT at a lambda that trains (the zoo's departure)
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
        "setting: noise 0.8, λ = 15, S-Tanh s = 100 at test):\n\n" + models_table(ctx, [r for _, r in LCAT_ROWS.values()]),
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


@claim("lcat-lambda15",
       "LCAT: training with the paper's λ = 15 (eq. 6)",
       "λ = 15 on MNIST and CIFAR-10 (sec. 4.2) gives 0.989 clean / 0.816 robust on MNIST (Table 1, ResNet-18)")
def claim_lcat_lambda15(ctx: Context, c: Claim) -> Claim:
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


@claim("lcat-table1",
       "LCAT: LCAT vs AT, TRADES, MART on MNIST under AutoAttack (Table 1)",
       "LCAT most robust in most settings; MNIST ResNet-18 at 0.1, the minimum over AutoAttack's four "
       "attacks: LCAT 96.8 vs AT, TRADES, MART 95.2 (at 0.2 LCAT's 81.6 is below all three) (Table 1)")
def claim_lcat_table1(ctx: Context, c: Claim) -> Claim:
    refs = shipped({name: ref for name, (_, ref) in LCAT_TABLE1.items()})
    if "LCAT" not in refs or len(refs) < 2:
        raise Missing("the zoo lacks LCAT or all of AT, TRADES, MART on MNIST")
    b = ctx.budget
    res = {(name, eps): ctx.step(f"lcat-table1/strong-{eps}-{ref.key}",
                                 lambda ref=ref, eps=eps: strong(ctx, get_model(ctx, ref), "mnist", eps, ref.label), zoo=ref.zoo)
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
        "**Models.**\n\n" + models_table(ctx, list(refs.values())),
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
