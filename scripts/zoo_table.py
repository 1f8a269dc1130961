"""Write the zoo's tables into docs/models.md and docs/training.md (between their markers), from the records and side files.

    .venv/bin/python scripts/zoo_table.py          # rewrite the blocks
    .venv/bin/python scripts/zoo_table.py --check  # exit 1 when the committed blocks differ from a fresh render

Three blocks in docs/models.md: every shipped model (from its record, robustbench_logits/weights/<tag>.json);
each model against the standard-training baseline of its dataset and architecture; each adversarially
trained model against PGD-AT; the comparisons on the very same test examples (from the per-example
outcomes in the side files). One in docs/training.md: robustness against training core-hours (issue 11's
curve, from the per-epoch history in the side files). Every number is computed; nothing is typed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from robustbench_logits import zoo  # noqa: E402
from robustbench_logits.evaluation.statistics import mcnemar_p  # noqa: E402

DOC = ROOT / "docs" / "models.md"
TRAINING_DOC = ROOT / "docs" / "training.md"
BLOCKS = {"zoo-table": "### What the zoo holds", "vs-baseline": "### Each model against its baseline, on the same examples",
          "vs-pgd-at": "### Each adversarially trained model against PGD-AT, on the same examples",
          "compute-curve": "### Robustness against compute: every adversarially trained MNIST model"}
CURVE_FRACTIONS = (0.25, 0.5, 0.75, 1.0)


def _validation(training: dict) -> str:
    """Where the checkpoint was selected, e.g. "5000 held out of the training set" (never the test set)."""
    validation = training.get("validation", {})
    return f"{validation.get('size', '?')} held out of the {validation.get('source', '?')}"


def _pct(evaluation: dict, key: str) -> str:
    value, ci = evaluation.get(key), evaluation.get(f"{key}_ci95")
    if value is None:
        return "-"
    return f"{100 * value:.1f} [{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]" if ci else f"{100 * value:.1f}"


def table() -> str:
    rows = ["| dataset | name | timm tag | epochs (converged) | selection | n | clean % [95 % CI] | AutoAttack % | worst case % | reliable | core-h | departures |",
            "|---|---|---|---|---|---:|---|---|---|---|---:|---:|"]
    for r in sorted(zoo.records(), key=lambda r: (r.dataset, r.name)):
        ev, tr = r.evaluation or {}, r.training
        converged = {True: "yes", False: "no"}.get(tr.get("converged"), "not judged")
        reliable = "-" if not ev else ("no" if ev.get("unreliable") else "yes")
        rows.append(f"| {r.dataset} | {r.name} | `{r.tag}` | {tr.get('epochs')} ({converged}) | {tr.get('selection')} on "
                    f"{_validation(tr)} | {ev.get('n_examples', '-')} | {_pct(ev, 'clean_acc')} | "
                    f"{_pct(ev, 'autoattack_acc')} | {_pct(ev, 'worst_case_acc')} | {reliable} | "
                    f"{r.budget.get('core_hours', '-')} | {len(r.departures)} |")
    return "\n".join(rows)


def versus(reference: str, adversarial_only: bool = False) -> str:
    """Each model against the ``reference`` recipe's model of its dataset and architecture, on the test
    examples both were evaluated on: worst-case accuracy of each, the examples only one keeps, and the
    two-sided exact McNemar p. ``adversarial_only``: only models trained with an inner attack."""
    rows = [f"| dataset | arch | model | recipe | n shared | worst case % | {reference}'s % | kept only by it / only by {reference} | McNemar p |",
            "|---|---|---|---|---:|---:|---:|---:|---:|"]
    everything = sorted(zoo.records(), key=lambda r: (r.dataset, r.arch))
    references = {(r.dataset, r.arch): r for r in everything if r.recipe == reference}
    body = []
    for record in everything:
        other = references.get((record.dataset, record.arch))
        if other is None or record is other or not record.evaluation:
            continue
        if adversarial_only and not record.training.get("setup", {}).get("attack"):
            continue
        ours, theirs = zoo.robust_by_example(record.tag), zoo.robust_by_example(other.tag)
        shared = sorted(ours.keys() & theirs.keys())
        kept, kept_by_other = sum(ours[i] for i in shared), sum(theirs[i] for i in shared)
        b = sum(ours[i] and not theirs[i] for i in shared)
        c = sum(theirs[i] and not ours[i] for i in shared)
        body.append(((record.dataset, record.arch, -kept / len(shared)),
                     f"| {record.dataset} | {record.arch} | {record.name} | {record.recipe} | {len(shared)} | "
                     f"{100 * kept / len(shared):.1f} | {100 * kept_by_other / len(shared):.1f} | {b} / {c} | {mcnemar_p(b, c):.2g} |"))
    return "\n".join(rows + [line for _, line in sorted(body)])


def compute_curve(dataset: str = "mnist") -> str:
    """Issue 11's curve as a table: for each adversarially trained model of ``dataset``, its training core-hours, the
    best validation robust accuracy (under the run's validation attack) reached within each fraction of them (what
    stopping there would have selected),
    and the test evaluation of the shipped checkpoint. Core-hours are CPU time summed over processes, per epoch
    from the run's history (wall time x processes for runs that did not count CPU time)."""
    header = " | ".join(f"val robust at {int(100 * f)} %" for f in CURVE_FRACTIONS)
    rows = [f"| model | arch | inner attack | epochs | core-h | val attack | {header} | AutoAttack % | worst case % |",
            "|---|---|---|---:|---:|---|" + "---:|" * len(CURVE_FRACTIONS) + "---|---|"]
    body = []
    for record in zoo.records():
        attack = record.training.get("setup", {}).get("attack")
        if record.dataset != dataset or not attack or not record.evaluation:
            continue
        history = zoo.details(record.tag)["history"]
        processes = record.budget.get("processes", 1)
        spent, cumulative = 0.0, []
        for epoch in history:
            spent += epoch.get("cpu_seconds") or epoch["seconds"] * processes
            cumulative.append(spent)
        cells = []
        for fraction in CURVE_FRACTIONS:
            reached = [e["val_robust_accuracy"] for e, c in zip(history, cumulative) if c <= fraction * spent * (1 + 1e-9)]
            cells.append(f"{100 * max(reached):.1f}" if reached else "-")
        inner = (f"PGD-{attack['steps']}" + (f", eps ramp {attack['eps_warmup_epochs']:g} ep" if attack.get("eps_warmup_epochs") else "")
                 if record.recipe != "fast-at" else "FGSM-RS")
        val_attack = record.training.get("validation", {}).get("attack", "?").split(",")[0]  # "PGD-10", "APGD-CE"
        body.append((spent, f"| {record.name} | {record.arch} | {inner} | {len(history)} | {spent / 3600:.2f} | {val_attack} | "
                            f"{' | '.join(cells)} | {_pct(record.evaluation, 'autoattack_acc')} | "
                            f"{_pct(record.evaluation, 'worst_case_acc')} |"))
    return "\n".join(rows + [line for _, line in sorted(body)])


GENERATORS = {"zoo-table": table, "vs-baseline": lambda: versus("standard"),
              "vs-pgd-at": lambda: versus("pgd-at", adversarial_only=True), "compute-curve": compute_curve}
DOC_BLOCKS = {DOC: ("zoo-table", "vs-baseline", "vs-pgd-at"), TRAINING_DOC: ("compute-curve",)}


def render(text: str, doc: Path = DOC) -> str:
    """``text`` (of ``doc``) with each of its generated blocks replaced by a fresh render (appended, under its
    heading, when missing)."""
    for name in DOC_BLOCKS[doc]:
        content = GENERATORS[name]()
        begin, end = f"<!-- {name}: generated by scripts/zoo_table.py -->", f"<!-- /{name} -->"
        block = f"{begin}\n{content}\n{end}"
        if begin in text:
            text = text[: text.index(begin)] + block + text[text.index(end) + len(end):]
        else:
            text = text.rstrip("\n") + f"\n\n{BLOCKS[name]}\n\n" + block + "\n"
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description="Write the zoo's tables into docs/models.md and docs/training.md from the records.")
    parser.add_argument("--check", action="store_true", help="exit 1, writing nothing, when the committed tables are stale")
    args = parser.parse_args()
    fresh = {doc: render(doc.read_text(), doc) for doc in DOC_BLOCKS}
    stale = [doc for doc, text in fresh.items() if text != doc.read_text()]
    if args.check:
        if stale:
            names = ", ".join(doc.relative_to(ROOT).as_posix() for doc in stale)
            sys.exit(f"{names}: the zoo tables differ from the records; run scripts/zoo_table.py")
        return
    for doc in stale:
        doc.write_text(fresh[doc])


if __name__ == "__main__":
    main()
