"""The committed leaderboard/ and model_cards/ are exactly what the committed zoo records render to.

A record changed without `rbl leaderboard` (or a hand edit of a generated file) fails here.
"""

import shutil
from pathlib import Path

from robustbench_logits.leaderboard import cards, render, store

ROOT = Path(__file__).resolve().parent.parent


def _files(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*"))
            if p.is_file() and p.name != store.LOCK_NAME}


def test_committed_leaderboard_and_cards_are_what_the_records_render_to(tmp_path):
    board, card_dir = tmp_path / "leaderboard", tmp_path / "model_cards"
    committed_board = ROOT / "leaderboard"
    for path in store.entry_files(committed_board):  # accepted submissions are inputs, not outputs: carry them over
        if store.read_json(path).get("source") == "submission":
            target = board / path.relative_to(committed_board)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
    for folder in ("evaluations", "history"):
        if (committed_board / folder).is_dir():
            shutil.copytree(committed_board / folder, board / folder)
    render.render_leaderboard(board)
    cards.render_all(card_dir)
    for committed, rendered in ((committed_board, board), (ROOT / "model_cards", card_dir)):
        expected, found = _files(rendered), _files(committed)
        missing, extra = sorted(set(expected) - set(found)), sorted(set(found) - set(expected))
        differing = sorted(name for name in set(expected) & set(found) if expected[name] != found[name])
        assert not (missing or extra or differing), (
            f"{committed.name}/ is not what the zoo records render to (missing {missing}, not rendered {extra}, "
            f"differing {differing}): run `rbl leaderboard` and commit the result")
