"""`rbl eval/submit/leaderboard/compare`: bad input is one line and exit status 2, before any work, writing nothing."""

import json
import sys

import pytest
import torch
from leaderboard_records import SUBMISSION
from safetensors.torch import save_file

from robustbench_logits import cli
from robustbench_logits.models import create_model


def _run(monkeypatch, capsys, *args):
    monkeypatch.setattr(sys, "argv", ["rbl", *args])
    with pytest.raises(SystemExit) as exited:
        cli.main()
    captured = capsys.readouterr()
    _run.out = captured.out
    return exited.value.code, captured.err


def _listing(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.mark.parametrize("args, message", [
    (["eval", "Madry2018PGDAT_2C2F", "--dataset", "cifar10"],
     "Madry2018PGDAT_2C2F was trained on fashion_mnist and mnist, not cifar10: pass --dataset fashion_mnist or --dataset mnist"),
    (["eval", "cnn2c2f.standard_mnist", "--dataset", "fashion_mnist"], "was trained on mnist, not fashion_mnist"),
    (["eval", "Standard_2C2F", "--out", "{tmp}"], "is a directory: give a file path inside it"),
    (["eval", "Standard_2C2F", "--out", "{tmp}/file.txt/result.json"], "is a file, not a directory"),
    (["eval", "Standard_2C2F", "--eps", "1.2.3"], "eps '1.2.3' is not a number: give a positive number or a fraction"),
    (["eval", "Standard_2C2F", "--device", "gpu7"], "is not a torch device"),
    (["compare", "my.py", "--out", "{tmp}/file.txt/cmp"], "is a file, not a directory"),
])
def test_eval_and_compare_refuse_bad_input_before_any_work(monkeypatch, capsys, tmp_path, args, message):
    (tmp_path / "file.txt").write_text("keep me")
    monkeypatch.chdir(tmp_path)
    before = _listing(tmp_path)
    code, err = _run(monkeypatch, capsys, *[a.replace("{tmp}", str(tmp_path)) for a in args])
    assert code == 2 and message in err and err.count("\n") == 1 and "Traceback" not in err
    assert _listing(tmp_path) == before and (tmp_path / "file.txt").read_text() == "keep me"


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_eval_on_cuda_without_a_gpu_is_one_line(monkeypatch, capsys, tmp_path):
    monkeypatch.chdir(tmp_path)
    code, err = _run(monkeypatch, capsys, "eval", "Standard_2C2F", "--device", "cuda")
    assert code == 2 and "no CUDA GPU is available here: use --device cpu" in err and _listing(tmp_path) == []


def test_submit_refuses_a_taken_name_and_replace_keeps_history(monkeypatch, capsys, tmp_path):
    from robustbench_logits.leaderboard import submit as submit_module
    from robustbench_logits.leaderboard import store

    class Result:
        def __init__(self, eps):
            from leaderboard_records import submission_evaluation

            self.payload = submission_evaluation(0.5, eps=eps)

        def to_dict(self):
            return self.payload

    monkeypatch.setattr(submit_module, "benchmark", lambda model, *, eps, **kwargs: Result(eps))
    torch.manual_seed(0)
    weights = tmp_path / "w.safetensors"
    save_file(create_model("cnn2c2f", num_classes=10, in_chans=1).state_dict(), str(weights))
    entry = tmp_path / "sub.json"
    entry.write_text(json.dumps(SUBMISSION))
    out = tmp_path / "lb"
    code, _ = _run(monkeypatch, capsys, "submit", str(entry), "--weights", str(weights), "--arch", "cnn2c2f", "--out", str(out))
    assert code in (0, None)
    assert "worst case 50.00% [39.83, 60.17] (95 % intervals); verdict: reliable" in _run.out
    first = store.find_entry(out, "mnist", "Linf", "Sub2026_CNN").read_text()
    entry.write_text(json.dumps(SUBMISSION | {"eps": "8/255"}))
    code, err = _run(monkeypatch, capsys, "submit", str(entry), "--weights", str(weights), "--arch", "cnn2c2f", "--out", str(out))
    assert code == 2 and "Sub2026_CNN is already on the leaderboard" in err and "--replace" in err
    assert store.find_entry(out, "mnist", "Linf", "Sub2026_CNN").read_text() == first
    code, _ = _run(monkeypatch, capsys, "submit", str(entry), "--weights", str(weights), "--arch", "cnn2c2f", "--out", str(out),
                   "--replace")
    assert code in (0, None)
    [previous] = store.history_of(out, "mnist", "Linf", "Sub2026_CNN")
    assert (previous / "entry.json").read_text().replace("history/mnist/Linf/Sub2026_CNN/1/evaluation.json",
                                                         "evaluations/mnist/Linf/Sub2026_CNN.json") == first
    assert json.loads(store.find_entry(out, "mnist", "Linf", "Sub2026_CNN").read_text())["eps"] == "8/255"


def test_leaderboard_links_cards_where_they_are_written_and_refuses_a_file(monkeypatch, capsys, tmp_path):
    (tmp_path / "taken").write_text("a file")
    code, err = _run(monkeypatch, capsys, "leaderboard", "--out", str(tmp_path / "taken"), "--cards-out", str(tmp_path / "c"))
    assert code == 2 and "--out" in err and "is a file" in err and (tmp_path / "taken").read_text() == "a file"
    code, _ = _run(monkeypatch, capsys, "leaderboard", "--out", str(tmp_path / "site" / "board"), "--cards-out",
                   str(tmp_path / "site" / "cards"))
    assert code in (0, None)
    assert 'href="../cards/mnist/' in (tmp_path / "site" / "board" / "index.html").read_text()
