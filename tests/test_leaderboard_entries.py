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


def test_methods_are_credited_to_the_papers_that_proposed_them():
    kanai_baseline = "Kanai et al., Constraining Logits by Bounded Function (AAAI 2021) (Baseline, AT)"
    assert entries.paper_of("pgd-at", kanai_baseline).venue == "ICLR 2018"
    assert entries.paper_of("trades", kanai_baseline).first_author == "Zhang"
    assert entries.paper_of("mart", "LMA-AT (MART baseline)").first_author == "Wang"
    assert entries.paper_of("blf", kanai_baseline).key == "kanai2021"
    assert entries.paper_of("anything", "madry2018").key == "madry2018"  # a record naming its paper by key
    assert entries.paper_of("mystery", "an unknown paper") is None


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


def test_unreliable_entry_carries_its_flags_in_the_footnote(zoo_dir):
    flags = {"adaptive_attack_stronger": "adaptive attacks broke 75/1000 examples (7.5%)"}
    entry = zoo_entry(zoo_dir, "Masked", clean=0.99, autoattack=0.80, worst=0.05, adaptive=0.05, flags=flags)
    assert entry["unreliable"] is True and entry["flags"] == flags
    assert "adaptive_attack_stronger: adaptive attacks broke 75/1000 examples (7.5%)" in entry["footnote"]


@pytest.mark.parametrize("measured, verified", [(0.49, True), (0.4899, False), (0.489, False), (0.60, True)])
def test_claim_more_than_one_point_above_the_measurement_is_marked(measured, verified):
    entry = entries.entry_from_result(SUBMISSION, submission_evaluation(measured), "evaluations/Sub2026_CNN.json")
    assert entry["claim"]["verified"] is verified
    assert entry["claim"]["autoattack_acc"] == "50.00" and entry["reported"] == "50.00"
    assert entry["autoattack_acc"] == percent(measured)
    assert ("Claim not reproduced" in entry["footnote"]) is (not verified)
