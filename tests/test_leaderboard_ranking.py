from leaderboard_records import SUBMISSION, make_record, submission_evaluation, zoo_dir_fixture, zoo_entry  # noqa: F401

from robustbench_logits.leaderboard.entries import entry_from_result
from robustbench_logits.leaderboard.ranking import protocol_key, rank_entries


def test_ranking_is_by_worst_case_not_autoattack(zoo_dir):
    # AutoAttack alone would rank Masked first; its adaptive attack breaks it.
    masked = zoo_entry(zoo_dir, "Masked", clean=0.99, autoattack=0.80, worst=0.05, adaptive=0.05)
    honest = zoo_entry(zoo_dir, "Honest", clean=0.90, autoattack=0.40, worst=0.40, adaptive=None)
    tie_a = zoo_entry(zoo_dir, "TieA", clean=0.91, autoattack=0.30, worst=0.30, adaptive=None)
    tie_b = zoo_entry(zoo_dir, "TieB", clean=0.95, autoattack=0.30, worst=0.30, adaptive=None)
    # an unreliable entry's numbers are upper bounds: listed after every reliable one, however high
    flagged = zoo_entry(zoo_dir, "Flagged", clean=0.99, autoattack=0.90, worst=0.90, adaptive=None,
                        flags={"zero_gradients": "evidence"})
    ranked = [e["model_name"] for e in rank_entries([masked, flagged, tie_a, honest, tie_b])]
    assert ranked == ["Honest", "TieB", "TieA", "Masked", "Flagged"]


def test_protocol_is_dataset_threat_eps_suite_and_n():
    base = entry_from_result(SUBMISSION, submission_evaluation(0.5), "e.json")
    other_eps = entry_from_result(SUBMISSION, submission_evaluation(0.5, eps=8 / 255), "e.json")
    other_n = entry_from_result(SUBMISSION, submission_evaluation(0.5, n=8), "e.json")
    assert protocol_key(base) == ("mnist", "Linf", "0.3", "standard", 100)
    assert len({protocol_key(base), protocol_key(other_eps), protocol_key(other_n)}) == 3
