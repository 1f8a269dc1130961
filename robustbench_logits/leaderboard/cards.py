"""Model cards (Mitchell et al. 2019, "Model Cards for Model Reporting") for the shipped zoo models.

Each card ``model_cards/<name>.md`` is rendered from ``templates/model_card.md.j2`` with numbers
taken from the zoo record only: what the model is (architecture, head, recipe, paper), how it was
trained (settings, budget, seed, wall time, versions, weights sha256), how it was evaluated
(clean, AutoAttack, adaptive, worst case, per attack, flags and what they mean, the protocol),
its limitations (derived from the record: short schedule, test-set checkpoint selection, few
evaluated examples, unreliable evaluation), and how to load it.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from robustbench_logits.leaderboard import (
    FLAG_MEANINGS,
    entry_from_zoo,
    protocol_groups,
    render_template,
)

if TYPE_CHECKING:
    from robustbench_logits.zoo import ZooEntry

__all__ = ["limitations", "model_card", "render_all"]


def limitations(record: ZooEntry, entry: dict[str, Any]) -> list[str]:
    """What a reader must know before trusting the model's numbers, each derived from the record."""
    from robustbench_logits.data import DATASETS

    found: list[str] = []
    training = record.training or {}
    derived = entry["training"] or {}
    epochs, paper_epochs = derived.get("epochs"), derived.get("paper_epochs")
    if paper_epochs and epochs is not None and epochs < paper_epochs:
        found.append(f"Trained for {epochs} of the {paper_epochs} epochs of the paper's setting "
                     f"({derived.get('budget') or 'CPU budget'}): not the paper's model, and not its numbers.")
    elif derived.get("budget"):
        found.append(f"Training budget: {derived['budget']}.")
    if training.get("selection") == "best_clean":
        found.append(f"The checkpoint was selected by clean accuracy on the first {training.get('n_eval', '?')} test "
                     f"examples (Kanai et al.'s rule, App. B): selection saw the test split, which contains the "
                     f"{entry['n_examples']} evaluated examples, so clean accuracy is optimistically biased.")
    test_size = DATASETS[record.dataset].test_size if record.dataset in DATASETS else None
    if test_size is not None and entry["n_examples"] < test_size:
        # standard error of a proportion, largest at p = 1/2: sqrt(p (1 - p) / n)
        half_width = 100 * 1.96 * math.sqrt(0.25 / entry["n_examples"])
        found.append(f"Evaluated on {entry['n_examples']} of the {test_size} test examples: a 95% interval on "
                     f"any accuracy is up to +/- {half_width:.1f} points.")
    if entry["unreliable"]:
        found.append("The evaluation is unreliable (gradient-masking flags below): robust accuracies are upper "
                     "bounds at best; trust the worst case over every attack, not any single number.")
    found += [f"Setting note: {note}" for note in training.get("setup", {}).get("notes", [])]
    return found


def model_card(record: ZooEntry) -> str:
    """The markdown card of one zoo record (its leaderboard entry supplies the formatted numbers)."""
    entry = entry_from_zoo(record)
    evaluation = record.evaluation or {}
    attacks = evaluation.get("provenance", {}).get("attacks", [])
    return render_template(
        "model_card.md.j2",
        record=record,
        entry=entry,
        training=record.training or {},
        setup=(record.training or {}).get("setup", {}),
        attacks=attacks,
        protocols=protocol_groups({record.name: evaluation}),
        flag_meanings=FLAG_MEANINGS,
        limitations=limitations(record, entry),
    )


def render_all(out_dir: str | os.PathLike = "model_cards") -> list[Path]:
    """Write ``<out_dir>/<name>.md`` for every zoo model with an evaluation; remove cards of models no longer shipped."""
    from robustbench_logits import zoo

    zoo._entries.cache_clear()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    records = [zoo.get_entry(name) for name in zoo.list_models()]
    written = []
    for record in records:
        if record.evaluation is None:
            continue
        path = out / f"{record.name}.md"
        path.write_text(model_card(record))
        written.append(path)
    for stale in out.glob("*.md"):
        if stale not in written and stale.name != "README.md":
            stale.unlink()
    return written
