"""benchmarks/README.md from results.json (generated: edit this file or run.py, never the README)."""

from __future__ import annotations

from typing import Any


def _x(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def _yes(flag: Any) -> str:
    return {True: "yes", False: "**no**"}.get(flag, "-")


def _machine(m: dict[str, Any], earlier: bool = False) -> list[str]:
    busy = m.get("busiest_other_processes", [])
    lines = [
        f"## Machine and load{' of the earlier run (sections ' + ', '.join(m.get('sections', [])) + ')' if earlier else ''}",
        "",
        f"- Measured {m['date']} at commit `{m['commit']}`, mode `{m['mode']}`, sections "
        f"{', '.join(m.get('sections', []))}, {m['seconds']:.0f} s in total.",
        f"- {m['cpu']}, {m['cpus']} CPUs ({m['cpus_available']} available), {m['platform']}; Python {m['python']}, "
        f"torch {m['torch']}, {m['torch_threads']} torch thread per process.",
        f"- Load average (1, 5, 15 min) before: {', '.join(map(str, m['load_average_before']))}; after: "
        f"{', '.join(map(str, m['load_average_after']))}.",
    ]
    if m.get("lanes"):
        lines.append(f"- The in-process sections ran in {len(m['lanes'])} lane(s) at the same time, one process of one "
                     f"torch thread per core ({'; '.join(', '.join(lane) for lane in m['lanes'])}), each lane's sections "
                     "in order; each figure's two sides alternate within one lane, so the other lane's steady load "
                     "weighs on both. The scale-out section ran alone after them (it times one process against two).")
    if busy:
        lines.append("- **The machine was shared while measuring**; the busiest other processes (lifetime-average CPU % from ps, command; on 2026-12-01 the zoo queues and mutation runs listed were paused with SIGSTOP during the measurement, and ps still listed them: since then stopped processes are left out):")
        lines += [f"  - `{p}`" for p in busy]
        lines.append("- Absolute times are therefore inflated and noisy; the ratios, taken pair by pair, are "
                     "what to read, with their min-max spread.")
    lines.append("")
    return lines


def _verdict(row: dict[str, Any]) -> str:
    """yes: the median ratio / bound is within 1.05; noise: not, but some round was; no: every round missed."""
    if row["within_target"]:
        return "yes"
    return "*noise*" if row["over_bound_timing"]["ratio_min"] <= 1.05 else "**no**"


def _training(results: dict[str, Any]) -> list[str]:
    training = results.get("training")
    if not training or "error" in training or \
            "over_bound_timing" not in next(iter(next(iter(training.values())).values()), {}):
        return []
    lines = [
        "## Training: each recipe's step over a plain cross-entropy step",
        "",
        "`training.<arch>.<recipe>.ratio_vs_ce`: the trainer's step for the recipe (its objective, head, "
        "mixup, inner attack at full eps or noise, its optimizer) over a CE step of the same architecture, "
        "batch 128, MNIST-shaped inputs. `bound`: the pass-count lower bound in CE steps: the passes a forward "
        "hook counted in the recipe's step, run bare on the recipe's model (training passes with one optimizer "
        "update, two passes as one backward of their summed losses, since every two-pass objective couples them; each inner-attack step as a forward + input-gradient pass with the weights frozen; "
        "gradient-free forwards). Recipe, bound and CE steps run in rotation, each repeated until it fills 0.2 s "
        "of this process's CPU time (`time.process_time`, one torch thread; its mean per step is the sample), after "
        "one untimed round; `ratio / bound` is taken within each round. "
        "Target: ratio <= 1.05 x bound. A recipe whose median misses but whose best round is within the target is "
        "marked *noise*: on a shared machine one run cannot tell that miss from the machine's jitter (the `standard` "
        "row, nearly the same work as its bound, shows how far the jitter goes); **no** is a miss in every round.",
        "",
    ]
    for arch, rows in training.items():
        lines += [f"### `{arch}`", "",
                  "| recipe | passes (train / attack / forward) | ratio_vs_ce | [min, max] | bound | ratio / bound | [min, max] | <= 1.05 x bound |",
                  "|---|---|---:|---:|---:|---:|---:|---|"]
        for name, row in rows.items():
            p, t, o = row["passes"], row["timing"], row["over_bound_timing"]
            lines.append(f"| `{name}` | {p['train']} / {p['input_grad']} / {p['forward']} | {row['ratio_vs_ce']:.3f} | "
                         f"[{t['ratio_min']:.3f}, {t['ratio_max']:.3f}] | {row['bound']:.3f} | "
                         f"{row['ratio_over_bound']:.3f} | [{o['ratio_min']:.3f}, {o['ratio_max']:.3f}] | "
                         f"{_verdict(row)} |")
        lines.append("")
        within = [n for n, r in rows.items() if r["within_target"]]
        noise = sorted(((r["ratio_over_bound"], n) for n, r in rows.items() if _verdict(r) == "*noise*"), reverse=True)
        misses = sorted(((r["ratio_over_bound"], n) for n, r in rows.items() if _verdict(r) == "**no**"), reverse=True)
        lines.append(f"{len(within)} of {len(rows)} recipes within 1.05 x bound on `{arch}`"
                     + (f"; within the target in some round (noise): {', '.join(f'`{n}` {v:.2f}' for v, n in noise)}"
                        if noise else "")
                     + (f"; missed in every round: {', '.join(f'`{n}` {v:.2f}' for v, n in misses)}." if misses else "."))
        same = rows.get("standard")
        if same:
            o = same["over_bound_timing"]
            lines.append(f"Noise floor of this run on `{arch}`: the `standard` step over its bound is nearly the same work, "
                         f"and measured {same['ratio_over_bound']:.2f} [{o['ratio_min']:.2f}, {o['ratio_max']:.2f}]; "
                         "a miss within that distance of 1.05 is not resolved by this run.")
        pgd = rows.get("pgd-at")
        if pgd and pgd["passes"]["input_grad"]:
            step = (pgd["bound"] - 1) / pgd["passes"]["input_grad"]
            lines.append(f"One inner-attack step costs at least {step:.2f} CE steps on `{arch}` (from `pgd-at`'s bound: "
                         f"(bound - 1) / {pgd['passes']['input_grad']}); PGD-AT's step measures "
                         f"{pgd['ratio_vs_ce']:.2f} CE steps against a bound of {pgd['bound']:.2f}.")
        lines.append("")
    inner = results.get("inner_attack")
    if inner and "error" not in inner:
        lines += ["### The inner attack computes no parameter gradients", "",
                  "`_inner_max.inner_maximisation` differentiates the loss with respect to the input only "
                  "(`torch.autograd.grad(loss, [x_adv])`). Checked: after a PGD-10 call, is every parameter's "
                  "`.grad` still `None`; and the call as is against the same call with the weights frozen "
                  "(`requires_grad=False`, so autograd cannot record weight gradients at all):", "",
                  "| arch | `.grad` untouched | as is / frozen | [min, max] |", "|---|---|---:|---:|"]
        for arch, row in inner.items():
            t = row["as_is_over_frozen"]
            lines.append(f"| `{arch}` | {_yes(row['parameter_grads_untouched'])} | {t['ratio']:.3f} | "
                         f"[{t['ratio_min']:.3f}, {t['ratio_max']:.3f}] |")
        lines.append("")
    return lines


def _pooling(pool: dict[str, Any] | None) -> list[str]:
    if not pool or "layer" not in pool:
        return []

    def row(label: str, r: dict[str, Any]) -> str:
        return (f"| {label} | {_x(r['speedup'])} | [{r['min']:.2f}, {r['max']:.2f}] | {r['torch_ms']:.2f} | "
                f"{r['ours_ms']:.2f} |")

    lines = ["## Max pooling: `nn.MaxPool2d(2)` over the package's `MaxPool2x2`", "",
             "Torch's CPU max pool computes its argmax indices even without autograd and took a third of a 2C2F "
             "training step. `models.pooling.MaxPool2x2` gives the same values and gradients bit for bit "
             "(tests/test_models_pooling.py) and is what the small nets (2C2F, 4C3F, LeNet-5, VGG-13) now use. "
             "Speedup = torch's CPU time over ours, side by side on the same weights and batch of 128 "
             "(`benchmarks/pooling.py`); the whole-net rows swap the pools back to `nn.MaxPool2d(2)` in a copy.", "",
             "| workload | speedup | [min, max] | torch (ms) | ours (ms) |", "|---|---:|---:|---:|---:|"]
    lines += [row(f"pool layer, forward + backward, input {shape}", r) for shape, r in pool["layer"].items()]
    for arch, rows in pool.items():
        if arch != "layer":
            lines += [row(f"`{arch}` {name.replace('_', ' ')}", r) for name, r in rows.items()]
    return [*lines, ""]


def _allocator(alloc: dict[str, Any] | None) -> list[str]:
    if not alloc or "error" in alloc:
        return []
    lines = ["## Memory allocator: glibc's default thresholds over the package's", "",
             "`train` and `benchmark` keep freed memory in the process (`robustbench_logits/_allocator.py`: glibc's mmap "
             "threshold fixed at 32 MiB, trim threshold 1 GiB); with glibc's defaults every pass faults its activations "
             "in again page by page. The setting cannot be undone in a process, so each side runs in a fresh worker, "
             "the two alternated pair by pair (`benchmarks/allocator.py`). Speedup = default CPU time per step over "
             "retained; the trainer's PGD-AT step at batch 128, one attack iteration (forward + input gradient, "
             "weights frozen) at the evaluator's batch of 250.", "",
             "| workload | speedup | [min, max] | default (ms) | retained (ms) | page faults per step, default -> retained |",
             "|---|---:|---:|---:|---:|---:|"]
    for arch, rows in alloc.items():
        lines += [f"| `{arch}` {name.replace('_', ' ')} | {_x(r['speedup'])} | [{r['min']:.2f}, {r['max']:.2f}] | "
                  f"{r['default_ms']:.1f} | {r['retained_ms']:.1f} | {r['default_faults_per_step']:,} -> "
                  f"{r['retained_faults_per_step']:,} |" for name, r in rows.items()]
    return [*lines, ""]


def _evaluation(e: dict[str, Any] | None) -> list[str]:
    if not e or "full_suite_vs_aa_escalating" not in e:
        return []
    h, f, i, s = e["harness_overhead"], e["full_suite_vs_aa"], e["independent_vs_aa"], e["sweep"]
    g = e["full_suite_vs_aa_escalating"]
    return [
        "## Evaluation: our harness over pyautoattack called directly",
        "",
        f"Robust zoo model `{e['model']}`, first {e['n_examples']} MNIST test examples, eps {e['eps']}, seed 0. "
        "After an untimed warm-up of both paths (two examples, short attacks), `harness_overhead` alternates our "
        "standard protocol with `pyautoattack.AutoAttack(version='standard').run_standard_evaluation` called directly "
        f"over {e.get('rounds', 1)} pair(s); the other figures come from one round of all workloads in rotation (our "
        "standard protocol, pyautoattack direct, our full suite, every attack independently, the eps sweep, the standard "
        "protocol in chunks of 8), each ratio taken within that round.",
        "",
        "| figure | ratio | [min, max] | ours (median s) | yardstick (median s) | target |",
        "|---|---:|---:|---:|---:|---|",
        f"| `evaluation.harness_overhead` (standard protocol / AutoAttack) | {_x(h['ratio'])} | "
        f"[{h['ratio_min']:.2f}, {h['ratio_max']:.2f}] | {h['a_median_s']:.1f} | {h['b_median_s']:.1f} | <= 1.05 |",
        f"| `evaluation.full_suite_vs_aa` (full suite, cascade + escalation / AutoAttack) | {_x(f['ratio'])} | "
        f"[{f['ratio_min']:.2f}, {f['ratio_max']:.2f}] | {f['a_median_s']:.1f} | {f['b_median_s']:.1f} | <= 1.5 |",
        f"| `evaluation.full_suite_vs_aa_escalating` (same, on `{g['model']}`, whose indicators fire) | "
        f"{_x(g['ratio'])} | | {g['a_median_s']:.1f} | {g['b_median_s']:.1f} | - (below) |",
        f"| `evaluation.independent_vs_aa` (every attack on every example / AutoAttack) | {_x(i['ratio'])} | "
        f"[{i['ratio_min']:.2f}, {i['ratio_max']:.2f}] | {i['a_median_s']:.1f} | {i['b_median_s']:.1f} | - |",
        f"| `evaluation.sweep.per_eps_vs_standard` (eps sweep per eps / one standard evaluation) | "
        f"{_x(s['per_eps_vs_standard'])} | | {s['timing']['a_median_s']:.1f} ({len(s['eps'])} eps) | "
        f"{s['timing']['b_median_s']:.1f} | - |",
        "",
        f"- Same robust accuracy: ours {h['ours_autoattack_acc']}, pyautoattack direct {h['direct_autoattack_acc']} "
        f"({'identical' if h['identical_robust_accuracy'] else '**different**'}); clean {h['clean_acc']}.",
        f"- What the standard protocol adds to AutoAttack's four attacks: indicators fired "
        f"{', '.join(h.get('fired', [])) or 'none'}; escalation {_rounds(h['escalation'])}; probes "
        f"{h.get('probe_seconds') or 0:.1f} s; seconds per attack "
        f"{', '.join(f'{k} {v:g}' for k, v in h.get('attack_seconds', {}).items()) or '-'}.",
        f"- The cascade saves {i['cascade_saves']:.2f}x over running each attack of the full suite on every "
        f"example ({', '.join(i['attacks'])}).",
        f"- Full suite escalation: {_rounds(f['escalation'])}; worst case {f['worst_case_acc']}, "
        f"AutoAttack {f['autoattack_acc']}. Seconds per attack: "
        f"{', '.join(f'{k} {v:g}' for k, v in f.get('attack_seconds', {}).items()) or '-'}.",
        f"- `{g['model']}`: indicators fired: {', '.join(g['fired']) or 'none'}; escalation: {_rounds(g['escalation'])}; "
        f"worst case {g['worst_case_acc']}, AutoAttack {g['autoattack_acc']} (direct {g['direct_autoattack_acc']}). "
        "No target for this row (a decision): the 1.5 bound is for robust models, the issue's yardstick; on a model "
        "whose indicators fire, escalation spends up to its budget by design (`EscalationBudget.max_cost` 1.0: at most "
        "the base evaluation's passes again, so at most about twice the full suite), and the gap it finds between "
        "AutoAttack and the worst case is what that buys.",
        f"- Sweep: {s['attack']} at eps {', '.join(map(str, s['eps']))}; accuracies {s['accuracy']}. "
        f"The standard evaluation in chunks of 8 over one chunk of {e['n_examples']}: "
        f"{_x(s.get('chunks_of_8_vs_one_chunk', {}).get('ratio'))}.",
        "",
    ]


def _rounds(escalation: dict[str, Any]) -> str:
    """The escalation's rounds after the base one, with what they spent."""
    rounds = [r for r in escalation.get("rounds", []) if r.get("name") != "base"]
    spent = escalation.get("spent", {})
    if not rounds:
        return "no escalation round was needed (no indicator fired)"
    names = ", ".join(f"{r['name']} ({r.get('seconds', 0):.1f} s, {r.get('newly_broken', 0)} newly broken)" for r in rounds)
    return f"{len(rounds)} round(s): {names}; spent {spent}"


def _scaleout(sc: dict[str, Any] | None) -> list[str]:
    if not sc or "evaluation" not in sc:
        return []
    e, t = sc["evaluation"], sc["training"]
    return [
        "## Scale-out: `torchrun --nproc_per_node=2` over one process",
        "",
        "Whole processes (start-up included), one and two alternately; target speedup >= 1.6 for the sharded "
        "evaluation and for DDP training on the work the zoo runs under torchrun: the cnn4c3f row, at the global "
        "batch of issue 11's flagships (a decision of session 19, `benchmarks/scaleout.py` `ZOO_DDP_BATCH`). "
        f"The {t['arch']} row is the test that DDP trains what one process trains (seeds {_seeds(t)} on each side), "
        f"timed too, not held to the target{_out_of_reach(t)}.",
        "",
        "| workload | speedup_2proc | [min, max] | 1 process (s) | 2 processes (s) | identical results |",
        "|---|---:|---:|---:|---:|---|",
        f"| sharded `rbl eval {e['model']}` n={e['n_examples']}, {e['chunks']} chunks | {_x(e['speedup_2proc'])} | "
        f"[{e['min']:.2f}, {e['max']:.2f}] | {e['one_process_median_s']:.1f} | {e['two_processes_median_s']:.1f} | "
        f"{_yes(e.get('identical_results'))} |",
        f"| DDP `rbl train --recipe {t['recipe']}` {t['arch']}, {_batch(t)}{t['n_train']} examples, 1 epoch, "
        f"{t.get('pairs', 1)} seed(s) | "
        f"{_x(t['speedup_2proc'])} | [{t['min']:.2f}, {t['max']:.2f}] | {t['one_process_median_s']:.1f} | "
        f"{t['two_processes_median_s']:.1f} | {_yes(t.get('identical_results'))} "
        f"(max weight difference {t.get('max_abs_weight_difference', '-')}; {_same_predictions(t)}) |",
        *_large_training_row(sc.get("training_cnn4c3f")),
        "",
        *_eval_ranks(e),
        *_inside(t, f"Inside the training figure (the trainer's `log.jsonl` timings, pair by pair), on {t['arch']}:"),
        *_half_batch(t),
        *_independent(t),
        *_inside(sc.get("training_cnn4c3f"), f"On {(sc.get('training_cnn4c3f') or {}).get('arch')}"),
        *_independent(sc.get("training_cnn4c3f")),
        "The evaluation's figure compares every per-attack accuracy. Trained weights cannot be bit-identical "
        "(DDP sums the ranks' gradients in another order, and PGD's sign() turns last-bit differences into whole "
        "steps), so training counts as identical when the two sides come from the same distribution: pair i "
        "trains with seed i in one process and in two, and on the same test examples, clean and under PGD-10, "
        "the two sides' accuracies over the seeds are indistinguishable (Welch's t-test, p >= 0.05; "
        "`benchmarks/scaleout.py`).",
        "",
        "On a machine whose two cores are already busy with other work, a second process finds no idle "
        "core: the speedup measures the share of the machine it gets, not the code's scaling.",
        "",
    ]


def _eval_ranks(e: dict[str, Any]) -> list[str]:
    """How the sharded evaluation's ranks shared the chunk queue, pair by pair (absent in older results)."""
    pairs = [ranks for ranks in e.get("ranks") or [] if ranks]
    if not pairs:
        return []
    described = "; ".join(", ".join(f"rank {k} took chunks {', '.join(map(str, r['chunks']))} and was done at "
                                    f"{r['done_s']:.1f} s" for k, r in enumerate(ranks)) for ranks in pairs)
    return [f"How the two ranks of the sharded evaluation shared its {e['chunks']} chunks (`provenance.ranks`, seconds "
            f"from the start of the evaluation; the later rank decides): {described}.", ""]


def _inside(t: dict[str, Any] | None, opening: str) -> list[str]:
    """Where a DDP training figure's time goes, from the trainer's own epoch timings (absent in older results)."""
    inside = (t or {}).get("inside")
    if not inside:
        return []
    return [f"{opening} the optimisation steps alone speed up {_x(inside['steps_speedup_2proc'])} "
            f"({inside['steps_one_process_median_s']:.1f} s in one process, {inside['steps_two_processes_median_s']:.1f} s "
            f"in two); outside the epoch (start-up, data, process group, the end) one process spends "
            f"{inside['outside_epochs_one_process_median_s']:.1f} s and two spend "
            f"{inside['outside_epochs_two_processes_median_s']:.1f} s. Were the steps exactly halved, that start-up "
            f"would still hold the whole-process figure to {_x(_halved_steps_bound(t))}: the speedup a workload of "
            "this length can show at all.", ""]


def _halved_steps_bound(t: dict[str, Any]) -> float:
    """One process's median time over two processes' start-up plus half of one process's steps (medians)."""
    inside = t["inside"]
    two = inside["outside_epochs_two_processes_median_s"] + inside["steps_one_process_median_s"] / 2
    return round(t["one_process_median_s"] / two, 3)


def _seeds(t: dict[str, Any]) -> str:
    return ", ".join(str(seed) for seed in t.get("seeds", [0]))


def _out_of_reach(t: dict[str, Any]) -> str:
    """Why the same-distribution row cannot show 1.6, when its own bounds say so (absent in older results)."""
    if "inside" not in t or t["arch"] not in t.get("half_batch", {}):
        return ""
    start_up, ceiling = _halved_steps_bound(t), t["half_batch"][t["arch"]]["ceiling_2proc"]
    if min(start_up, ceiling) >= 1.6:
        return ""
    return (f": its work is too small to show 1.6 whatever DDP does (with exactly halved steps its start-up allows "
            f"{_x(start_up)}, and its half batches cap the steps alone at {_x(ceiling)}). On work this small two seeds in two plain "
            "processes use the machine better (the independent control below), which is how the zoo's training "
            "queue runs its 2C2F models")


def _batch(t: dict[str, Any]) -> str:
    """The row's global batch and a rank's share (absent in results before session 19)."""
    return f"batch {t['batch']} ({t['batch'] // 2} per rank), " if "batch" in t else ""


def _large_training_row(t: dict[str, Any] | None) -> list[str]:
    """DDP training on cnn4c3f, the zoo's torchrun architecture: timing only (absent in older results)."""
    if not t:
        return []
    return [f"| DDP `rbl train --recipe {t['recipe']}` {t['arch']}, {_batch(t)}{t['n_train']} examples, 1 epoch, "
            f"{t.get('pairs', 1)} seed(s) | {_x(t['speedup_2proc'])} | [{t['min']:.2f}, {t['max']:.2f}] | "
            f"{t['one_process_median_s']:.1f} | {t['two_processes_median_s']:.1f} | timing only (the row above tests "
            "that DDP trains what one process trains) |"]


def _half_batch(t: dict[str, Any]) -> list[str]:
    """The ceiling that half-size batches put on a two-rank step (absent in older results)."""
    half = t.get("half_batch")
    if not half:
        return []
    sizes = {h.get("batch", 128) for h in half.values()}  # results before session 16 measured at 128
    steps = t["inside"]["steps_speedup_2proc"]
    cells = "; ".join(f"{arch}{_halves(h, len(sizes))}: {_x(h['ratio'])} [{h['ratio_min']:.2f}, {h['ratio_max']:.2f}], "
                      f"so at best {_x(h['ceiling_2proc'])}" for arch, h in half.items())
    own = half.get(t["arch"])
    rest = (f" The {t['arch']} steps' {_x(steps)} leaves a factor {_x(round(own['ceiling_2proc'] / steps, 3))} to "
            "synchronisation (the ranks meet at every gradient all-reduce) and to two processes sharing the caches." if own else "")
    split = (f"{min(sizes) // 2} examples over one step on {min(sizes)}" if len(sizes) == 1
             else "half the architecture's batch over one step on all of it")
    return [f"Half a batch per rank costs more per example before any communication: in one process (CPU time, side "
            f"by side), two PGD-AT steps on {split}: {cells}.{rest}", ""]


def _halves(h: dict[str, Any], distinct_sizes: int) -> str:
    """`` (32 vs 64)``: the sizes of one architecture's cell, when the architectures' batches differ."""
    return f" ({h['batch'] // 2} vs {h['batch']})" if distinct_sizes > 1 else ""


def _independent(t: dict[str, Any] | None) -> list[str]:
    """The machine's own ceiling: the same work as two independent processes at once (absent in older results)."""
    control = (t or {}).get("independent_2proc")
    if not control:
        return []
    steps = t["inside"].get("steps_independent_speedup")
    inside = f" (their steps alone {_x(steps)})" if steps is not None else ""
    return [f"What the machine gives two processes on {t['arch']} without torchrun or any communication: the same "
            f"{t['n_train']} examples split into two plain `rbl train` processes of {t['n_train'] // 2} each, run at "
            f"once, finish {_x(control['speedup'])} [{control['min']:.2f}, {control['max']:.2f}] faster than one "
            f"process{inside}; DDP gets {control['ddp_share']:.2f} of that.", ""]


def _same_predictions(t: dict[str, Any]) -> str:
    same = t.get("same_predictions")
    if not same:
        return "predictions not compared"

    def side(accs: list[float]) -> str:
        return ", ".join(f"{a:.1%}" for a in accs)

    def p(k: str) -> str:
        return "not tested (one seed)" if same[k].get("welch_p") is None else f"Welch p = {same[k]['welch_p']:.2g}"

    return "; ".join(f"{k} {side(same[k]['one_process_acc'])} (1 process) vs {side(same[k]['two_processes_acc'])} (2), {p(k)}"
                     for k in ("clean", "pgd10")) + f" on {same['n_test']} test examples"


def _memory(mem: dict[str, Any] | None) -> list[str]:
    if not mem or "peak_rss_mb" not in mem:
        return []
    (n_small, small), (n_large, large) = mem["peak_rss_mb"].items()
    return [
        "## Memory: peak RSS of a standard evaluation against n",
        "",
        f"Fresh process per run, peak from the kernel's accounting of the child (`os.wait4` -> `ru_maxrss`); "
        f"model `{mem['model']}`.",
        "",
        "| n | peak RSS (MiB) | wall (s) |",
        "|---:|---:|---:|",
        f"| {int(n_small):,} | {small:.0f} | {mem['runs'][n_small]['wall_s']:.0f} |",
        f"| {int(n_large):,} | {large:.0f} | {mem['runs'][n_large]['wall_s']:.0f} |",
        "",
        f"`memory.peak_rss_mb` grows by {mem['growth_mb']:.0f} MiB ({mem['ratio']:.2f}x) from {int(n_small):,} to "
        f"{int(n_large):,} examples; the inputs alone account for {mem['growth_of_inputs_mb']:.0f} MiB of it.",
        "",
    ]


def _section_runs(results: dict[str, Any]) -> list[str]:
    runs = results.get("section_runs", {})
    sections = [k for k in ("training", "inner_attack", "pooling", "allocator", "evaluation", "scaleout", "memory") if k in results]
    if not runs and not sections:
        return []
    lines = ["Per section (1-minute load average before -> after):", ""]
    for name in sections:
        run = runs.get(name)
        lines.append(f"- `{name}`: finished {run['finished']}, {run['seconds']:.0f} s, load "
                     f"{run['load_average_before'][0]} -> {run['load_average_after'][0]}" if run else
                     f"- `{name}`: from an earlier run of this script that was stopped after this section, before it "
                     "recorded its machine facts (same machine, similar load)")
    return [*lines, ""]


def _errors(results: dict[str, Any]) -> list[str]:
    failed = {k: v["error"] for k, v in results.items() if isinstance(v, dict) and "error" in v}
    if not failed:
        return []
    return ["## Sections that failed in this run", "", *[f"- `{k}`: `{v[:400]}`" for k, v in failed.items()], ""]


def render(results: dict[str, Any]) -> str:
    lines = [
        "# Benchmarks",
        "",
        "Generated by `make bench` (`benchmarks/run.py`) from `benchmarks/results.json`: do not edit by hand.",
        "Each figure is a **ratio of two workloads measured side by side** in one run (A and B alternated, "
        "the ratio taken pair by pair, the median reported with its min and max), so it keeps its meaning on a "
        "shared machine where absolute times drift. In-process workloads (training steps, evaluations) are timed "
        "in the process's CPU time (`time.process_time`, one torch thread); the scale-out figures, whole processes, "
        "in wall time.",
        "",
        *_machine(results["machine"]),
        *[line for earlier in results.get("earlier_runs", []) for line in _machine(earlier, earlier=True)],
        *_section_runs(results),
        *_training(results),
        *_pooling(results.get("pooling")),
        *_allocator(results.get("allocator")),
        *_evaluation(results.get("evaluation")),
        *_scaleout(results.get("scaleout")),
        *_memory(results.get("memory")),
        *_errors(results),
    ]
    return "\n".join(lines).rstrip() + "\n"
