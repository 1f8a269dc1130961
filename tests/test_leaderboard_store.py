import json

import pytest
from leaderboard_records import SUBMISSION, submission_evaluation

from robustbench_logits._files import write_json
from robustbench_logits.leaderboard import store
from robustbench_logits.leaderboard.entries import entry_from_result
from robustbench_logits.leaderboard.schema import SubmissionError


def _write(root, name, autoattack):
    entry = entry_from_result(SUBMISSION | {"model_name": name}, submission_evaluation(autoattack),
                              f"evaluations/mnist/Linf/{name}.json")
    write_json(store.evaluation_path(root, "mnist", "Linf", name), submission_evaluation(autoattack))
    write_json(store.entry_path(root, entry), entry)
    return entry


def test_layout_is_dataset_threat_model_name(tmp_path):
    entry = _write(tmp_path, "Sub2026_CNN", 0.5)
    assert store.entry_path(tmp_path, entry) == tmp_path / "mnist" / "Linf" / "Sub2026_CNN.json"
    assert store.find_entry(tmp_path, "mnist", "Linf", "Sub2026_CNN") == tmp_path / "mnist" / "Linf" / "Sub2026_CNN.json"
    assert [e["model_name"] for e in store.load_entries(tmp_path)] == ["Sub2026_CNN"]
    assert store.load_entries(tmp_path, source="zoo") == []


def test_retire_keeps_every_previous_version_in_order(tmp_path):
    first = _write(tmp_path, "Sub2026_CNN", 0.5)
    with store.locked(tmp_path):
        store.retire(tmp_path, "mnist", "Linf", "Sub2026_CNN")
    assert store.find_entry(tmp_path, "mnist", "Linf", "Sub2026_CNN") is None
    second = _write(tmp_path, "Sub2026_CNN", 0.4)
    with store.locked(tmp_path):
        store.retire(tmp_path, "mnist", "Linf", "Sub2026_CNN")
    [one, two] = store.history_of(tmp_path, "mnist", "Linf", "Sub2026_CNN")
    assert json.loads((one / "entry.json").read_text())["autoattack_acc"] == first["autoattack_acc"] == "50.00"
    assert json.loads((two / "entry.json").read_text())["autoattack_acc"] == second["autoattack_acc"] == "40.00"
    assert json.loads((one / "entry.json").read_text())["evaluation"]["file"] == "history/mnist/Linf/Sub2026_CNN/1/evaluation.json"
    assert json.loads((one / "evaluation.json").read_text())["autoattack_acc"] == 0.5
    assert store.history_of(tmp_path, "mnist", "Linf", "Sub2026_CNN") == [one, two] and store.load_entries(tmp_path) == []


def test_a_damaged_entry_is_named_and_a_held_lock_times_out_with_a_sentence(tmp_path):
    (tmp_path / "mnist" / "Linf").mkdir(parents=True)
    (tmp_path / "mnist" / "Linf" / "Bad.json").write_text("{half")
    with pytest.raises(SubmissionError, match="Bad.json is not valid JSON"):
        store.load_entries(tmp_path)
    with store.locked(tmp_path):  # a second holder (here: a second lock object) waits, then gets a sentence
        with pytest.raises(SubmissionError, match="is locked by another rbl process"):
            with store.locked(tmp_path, timeout=0.05):
                pass


def _write_many(path, label, rounds):
    for index in range(rounds):
        write_json(path, {"writer": label, "index": index, "padding": "x" * 20000})


def test_writers_of_one_file_never_share_a_temporary_file(tmp_path):
    import multiprocessing

    target = tmp_path / "X.json"
    context = multiprocessing.get_context("fork")
    writers = [context.Process(target=_write_many, args=(target, label, 100)) for label in range(4)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=120)
    assert [w.exitcode for w in writers] == [0, 0, 0, 0]  # no FileNotFoundError on a shared X.json.partial
    final = json.loads(target.read_text())  # whole: one writer's last version, never a mix
    assert final["index"] == 99 and len(final["padding"]) == 20000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["X.json"]  # no temporary file left behind
