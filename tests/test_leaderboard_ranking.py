from leaderboard_records import SUBMISSION, make_record, submission_evaluation, zoo_dir_fixture, zoo_entry  # noqa: F401

from robustbench_logits.leaderboard.entries import entry_from_result
from robustbench_logits.leaderboard.ranking import protocol_key, rank_entries, tied_with_previous


def test_ranking_is_by_worst_case_after_escalation_as_robustbench_sorts_external(zoo_dir):
    # AutoAttack alone would rank Masked first; its adaptive attack breaks it.
    masked = zoo_entry(zoo_dir, "Masked", clean=0.99, autoattack=0.80, worst=0.05, adaptive=0.05)
    honest = zoo_entry(zoo_dir, "Honest", clean=0.90, autoattack=0.40, worst=0.40, adaptive=None)
    tie_a = zoo_entry(zoo_dir, "TieA", clean=0.91, autoattack=0.30, worst=0.30, adaptive=None)
    tie_b = zoo_entry(zoo_dir, "TieB", clean=0.95, autoattack=0.30, worst=0.30, adaptive=None)
    # unreliable: ranked by its worst case too (as RobustBench does), and marked
    flagged = zoo_entry(zoo_dir, "Flagged", clean=0.99, autoattack=0.90, worst=0.35, adaptive=None,
                        indicators=[{"name": "zero_gradients", "severity": "unreliable", "message": "evidence"}])
    entries = [masked, flagged, tie_a, honest, tie_b]
    ranked = [e["model_name"] for e in rank_entries(entries)]
    assert ranked == ["Honest", "Flagged", "TieB", "TieA", "Masked"]
    # robustbench.utils.get_leaderboard_latex sorts by float(entry["external"]), highest first
    robustbench_order = [e["model_name"] for e in sorted(entries, key=lambda e: float(e["external"]), reverse=True)]
    assert [float(next(e for e in entries if e["model_name"] == m)["external"]) for m in robustbench_order] == \
        [float(next(e for e in entries if e["model_name"] == m)["external"]) for m in ranked]


def test_neighbours_whose_intervals_overlap_are_marked_tied(zoo_dir):
    first = zoo_entry(zoo_dir, "First", clean=0.9, autoattack=0.60, worst=0.60, n=1000)     # [56.9, 63.1]
    close = zoo_entry(zoo_dir, "Close", clean=0.9, autoattack=0.58, worst=0.58, n=1000)     # [54.9, 61.1]: overlaps
    far = zoo_entry(zoo_dir, "Far", clean=0.9, autoattack=0.40, worst=0.40, n=1000)         # [36.9, 43.1]: does not
    floor_a = zoo_entry(zoo_dir, "FloorA", clean=0.9, autoattack=0.0, worst=0.0, n=1000)
    floor_b = zoo_entry(zoo_dir, "FloorB", clean=0.8, autoattack=0.0, worst=0.0, n=1000)
    ranked = rank_entries([far, floor_b, close, first, floor_a])
    assert [e["model_name"] for e in ranked] == ["First", "Close", "Far", "FloorA", "FloorB"]
    assert tied_with_previous(ranked) == [False, True, False, False, True]


def test_protocol_is_dataset_threat_eps_suite_and_n():
    base = entry_from_result(SUBMISSION, submission_evaluation(0.5), "e.json")
    other_eps = entry_from_result(SUBMISSION, submission_evaluation(0.5, eps=8 / 255), "e.json")
    other_n = entry_from_result(SUBMISSION, submission_evaluation(0.5, n=8), "e.json")
    assert protocol_key(base) == ("mnist", "Linf", "0.3", "standard", 100)
    assert len({protocol_key(base), protocol_key(other_eps), protocol_key(other_n)}) == 3
