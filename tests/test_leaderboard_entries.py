import dataclasses

import pytest
from leaderboard_records import SUBMISSION, make_record, submission_evaluation, zoo_dir_fixture, zoo_entry  # noqa: F401

from robustbench_logits import zoo
from robustbench_logits.leaderboard import entries
from robustbench_logits.leaderboard.fields import percent
from robustbench_logits.leaderboard.schema import SubmissionError, validate_entry


def test_entry_from_zoo_has_robustbench_fields_and_the_records_numbers(zoo_dir):
    from robustbench.utils import ModelInfo

    entry = zoo_entry(zoo_dir, "Alpha", clean=0.965, autoattack=0.123, worst=0.1, adaptive=0.2)
    robustbench_fields = {f.name for f in dataclasses.fields(ModelInfo)} - {
        "corruptions_acc", "corruptions_acc_3d", "corruptions_mce", "corruptions_mce_3d"}
    assert robustbench_fields <= set(entry)
    assert (entry["clean_acc"], entry["autoattack_acc"], entry["worst_case_acc"], entry["adaptive_acc"]) == (
        "96.50", "12.30", "10.00", "20.00")
    assert entry["external"] == "10.00" and entry["eps"] == "0.3" and entry["reported"] is None
    assert entry["per_attack"]["adaptive/prehead-pgd"] == "20.00"
    assert entry["weights_sha256"] == zoo.get_entry("Alpha").sha256
    assert entry["name"] == "Constraining Logits by Bounded Function for Adversarial Robustness"
    assert entry["training"]["epochs"] == 2 and entry["training"]["paper_epochs"] == 100
    assert entry["evaluation"]["example_indices"] == "0-999" and not entry["unreliable"]
    validate_entry(entry)  # the schema accepts what we derive


def test_entries_credit_the_paper_the_record_names_and_baselines_by_recipe(zoo_dir):
    madry = zoo_entry(zoo_dir, "PgdAt", clean=0.9, autoattack=0.5, worst=0.5, recipe="pgd-at", paper="madry2018")
    assert (madry["name"], madry["venue"]) == ("Towards Deep Learning Models Resistant to Adversarial Attacks", "ICLR 2018")
    assert madry["authors"].startswith("Aleksander Madry") and madry["link"] == "https://arxiv.org/abs/1706.06083"
    baseline = zoo_entry(zoo_dir, "Standard_2C2F", clean=0.9, autoattack=0.0, worst=0.0, recipe="standard", baseline=True)
    assert baseline["name"] == "title of standard (baseline)" and baseline["venue"] == "AAAI 2021"


@pytest.mark.parametrize("change, field", [
    ({"clean_acc": "96.5"}, "clean_acc"),              # one decimal: not RobustBench's format
    ({"clean_acc": "100.99"}, "clean_acc"),            # above 100 %
    ({"worst_case_acc": 0.1}, "worst_case_acc"),        # a number, not a percent string
    ({"weights_sha256": "abc"}, "weights_sha256"),
    ({"dataset": "imagenet"}, "dataset"),
])
def test_malformed_entries_are_rejected_naming_the_field(zoo_dir, change, field):
    entry = zoo_entry(zoo_dir, "Alpha", clean=0.965, autoattack=0.123, worst=0.1, adaptive=0.2) | change
    with pytest.raises(SubmissionError, match=f"field '{field}': ") as error:
        validate_entry(entry)
    assert "\n" not in str(error.value)


def test_missing_and_unknown_fields_are_named(zoo_dir):
    entry = zoo_entry(zoo_dir, "Alpha", clean=0.965, autoattack=0.123, worst=0.1, adaptive=0.2)
    with pytest.raises(SubmissionError, match="field 'surprise' is not allowed"):
        validate_entry(entry | {"surprise": 1})
    with pytest.raises(SubmissionError, match="field 'training/epochs' is missing"):
        validate_entry(entry | {"training": {k: v for k, v in entry["training"].items() if k != "epochs"}})
    del entry["worst_case_acc"]
    with pytest.raises(SubmissionError, match="field 'worst_case_acc' is missing"):
        validate_entry(entry)


def test_verdict_is_unreliable_only_for_unreliable_severity_and_notes_are_kept(zoo_dir):
    note = {"name": "black_box_beats_white_box", "severity": "note", "message": "Square broke 3"}
    bad = {"name": "escalation_not_converged", "severity": "unreliable", "message": "budget spent"}
    noted = zoo_entry(zoo_dir, "Noted", clean=0.99, autoattack=0.60, worst=0.58, indicators=[note], before=0.6)
    assert (noted["unreliable"], noted["verdict"], noted["flags"]) == (False, "reliable, with notes", {})
    assert noted["notes"] == ["black_box_beats_white_box: Square broke 3"] and noted["escalation"]["before_escalation"] == "60.00"
    masked = zoo_entry(zoo_dir, "Masked", clean=0.99, autoattack=0.80, worst=0.05, indicators=[note, bad], converged=False)
    assert (masked["unreliable"], masked["verdict"]) == (True, "unreliable")
    assert masked["flags"] == {"escalation_not_converged": "budget spent"} and "budget spent" in masked["footnote"]
    assert [i["severity"] for i in masked["indicators"]] == ["note", "unreliable"]


def test_external_is_the_worst_case_after_escalation_with_its_interval(zoo_dir):
    entry = zoo_entry(zoo_dir, "Alpha", clean=0.933, autoattack=0.581, worst=0.575, before=0.578)
    assert entry["external"] == entry["worst_case_acc"] == "57.50" and entry["autoattack_acc"] == "58.10"
    # exact Clopper-Pearson for 575/1000: Beta(0.025; 575, 426) = 0.54365, Beta(0.975; 576, 425) = 0.60587
    assert entry["ci95"]["worst_case_acc"] == ["54.37", "60.59"] and entry["ci95"]["adaptive_acc"] is None
    assert entry["escalation"] == {"enabled": True, "converged": True, "rounds": 0, "before_escalation": "57.80"}


@pytest.mark.parametrize("measured, verified", [(0.49, True), (0.4899, False), (0.489, False), (0.60, True)])
def test_claim_more_than_one_point_above_the_measurement_is_marked(measured, verified):
    entry = entries.entry_from_result(SUBMISSION, submission_evaluation(measured), "evaluations/Sub2026_CNN.json")
    assert entry["claim"]["verified"] is verified
    assert entry["claim"]["autoattack_acc"] == "50.00" and entry["reported"] == "50.00"
    assert entry["autoattack_acc"] == percent(measured)
    assert ("Claim not reproduced" in entry["footnote"]) is (not verified)
