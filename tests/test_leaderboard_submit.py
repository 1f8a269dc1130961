import hashlib
import json
import multiprocessing
import warnings

import pytest
import torch
from leaderboard_records import SUBMISSION, make_record, submission_evaluation, zoo_dir_fixture  # noqa: F401
from safetensors.torch import save_file

from robustbench_logits import zoo
from robustbench_logits.eps import EpsError, EpsRangeWarning
from robustbench_logits.errors import ModelError, UserError, WeightsError
from robustbench_logits.evaluation import BenchmarkResult
from robustbench_logits.leaderboard import render, store
from robustbench_logits.leaderboard import submit as submit_module
from robustbench_logits.leaderboard.fields import percent
from robustbench_logits.leaderboard.schema import SubmissionError
from robustbench_logits.models import create_model


def _weights(tmp_path, name="sub.safetensors", **kwargs):
    torch.manual_seed(0)
    path = tmp_path / name
    save_file(create_model("cnn2c2f", num_classes=10, in_chans=1, **kwargs).state_dict(), str(path))
    return path


def _submission(tmp_path, **changes):
    path = tmp_path / f"sub-{len(list(tmp_path.glob('sub-*.json')))}.json"
    path.write_text(json.dumps(SUBMISSION | changes))
    return path


class _FakeResult:
    """What benchmark returns, without running attacks: these tests are about the leaderboard's files."""

    def __init__(self, model_name, eps, autoattack=0.5):
        self.payload = submission_evaluation(autoattack, eps=eps) | {"model_name": model_name}

    def to_dict(self):
        return self.payload


@pytest.fixture(name="fake_benchmark")
def fake_benchmark_fixture(monkeypatch):
    calls = []

    def fake(model, *, model_name, eps, **kwargs):
        calls.append(model_name)
        return _FakeResult(model_name, eps, autoattack=0.5 - 0.01 * len(calls))

    monkeypatch.setattr(submit_module, "benchmark", fake)
    return calls


def _snapshot(root):
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_submit_remeasures_and_marks_an_inflated_claim(zoo_dir, tmp_path):
    make_record(zoo_dir, "Alpha", "cnn2c2f.alpha_mnist", clean=0.9, autoattack=0.2, worst=0.2, adaptive=None)
    weights = _weights(tmp_path)
    out = tmp_path / "lb"
    entry = submit_module.submit(_submission(tmp_path, autoattack_acc="90.00"), weights, arch="cnn2c2f",
                                 n_examples=16, leaderboard_dir=out, progress=False)
    evaluation = json.loads((out / "evaluations" / "mnist" / "Linf" / "Sub2026_CNN.json").read_text())
    assert evaluation["n_examples"] == 16
    assert evaluation["provenance"]["model"]["weights_sha256"] == hashlib.sha256(weights.read_bytes()).hexdigest()
    assert entry["autoattack_acc"] == percent(evaluation["autoattack_acc"]) and float(entry["autoattack_acc"]) < 89.0
    assert entry["claim"] == {"clean_acc": "95.00", "autoattack_acc": "90.00", "verified": False, "tolerance_points": 1.0}
    assert json.loads((out / "mnist" / "Linf" / "Sub2026_CNN.json").read_text()) == entry
    table = (out / "mnist_Linf.md").read_text()
    assert "Sub2026_CNN" in table and "90.00 (not reproduced)" in table and "Alpha" in table


def test_resubmitting_a_name_is_refused_unless_replace_which_keeps_history(zoo_dir, tmp_path, fake_benchmark):
    weights, out = _weights(tmp_path), tmp_path / "lb"
    first = submit_module.submit(_submission(tmp_path), weights, arch="cnn2c2f", leaderboard_dir=out, progress=False)
    before = _snapshot(out)
    with pytest.raises(SubmissionError, match="Sub2026_CNN is already on the leaderboard .* pass --replace"):
        submit_module.submit(_submission(tmp_path, eps=300), weights, arch="cnn2c2f", leaderboard_dir=out, progress=False)
    assert _snapshot(out) == before and fake_benchmark == ["Sub2026_CNN"]  # refused before evaluating
    second = submit_module.submit(_submission(tmp_path, eps="8/255"), weights, arch="cnn2c2f", leaderboard_dir=out,
                                  replace=True, progress=False)
    assert second["eps"] == "8/255" and json.loads(store.find_entry(out, "mnist", "Linf", "Sub2026_CNN").read_text()) == second
    [previous] = store.history_of(out, "mnist", "Linf", "Sub2026_CNN")
    kept = json.loads((previous / "entry.json").read_text())
    assert kept["eps"] == first["eps"] == "0.3" and kept["autoattack_acc"] == first["autoattack_acc"]
    assert json.loads((previous / "evaluation.json").read_text())["eps"] == 0.3


@pytest.mark.parametrize("changes, error, message", [
    ({"eps": "1.2.3"}, EpsError, "eps '1.2.3' is not a number: give a positive number or a fraction"),
    ({"clean_acc": "100.99"}, SubmissionError, "field 'clean_acc'"),
    ({"autoattack_acc": "101.00"}, SubmissionError, "field 'autoattack_acc'"),
])
def test_bad_submissions_fail_before_any_work_writing_nothing(zoo_dir, tmp_path, fake_benchmark, changes, error, message):
    out = tmp_path / "lb"
    with pytest.raises(error, match=message) as raised:
        submit_module.submit(_submission(tmp_path, **changes), _weights(tmp_path), arch="cnn2c2f", leaderboard_dir=out)
    assert "\n" not in str(raised.value) and fake_benchmark == [] and not out.exists()


def test_eps_beyond_the_image_range_warns(zoo_dir, tmp_path, fake_benchmark):
    with pytest.warns(EpsRangeWarning, match="eps 300 .Linf. exceeds the \\[0, 1\\] input range"):
        entry = submit_module.submit(_submission(tmp_path, eps=300), _weights(tmp_path), arch="cnn2c2f",
                                     leaderboard_dir=tmp_path / "lb", progress=False)
    assert entry["eps"] == "300"
    with warnings.catch_warnings():
        warnings.simplefilter("error", EpsRangeWarning)
        submit_module.submit(_submission(tmp_path, model_name="Ok2026_CNN", eps="8/255"), _weights(tmp_path),
                             arch="cnn2c2f", leaderboard_dir=tmp_path / "lb", progress=False)


def test_weights_and_models_that_do_not_fit_are_named_before_evaluating(zoo_dir, tmp_path, fake_benchmark):
    out = tmp_path / "lb"
    wrong = _weights(tmp_path, "head.safetensors", head="blf", head_kwargs={"gamma": 1.0})
    torch.manual_seed(0)
    extra = {k: v for k, v in create_model("cnn2c2f", num_classes=10, in_chans=1).state_dict().items()} | {"x.weight": torch.zeros(1)}
    save_file(extra, str(tmp_path / "extra.safetensors"))
    with pytest.raises(ModelError, match="does not fit the submitted model: Unexpected key.s. in state_dict: \"x.weight\""):
        submit_module.submit(_submission(tmp_path), tmp_path / "extra.safetensors", arch="cnn2c2f", leaderboard_dir=out)
    with pytest.raises(ModelError, match='does not fit the submitted model: Missing key.s. in state_dict: "features.0.weight"'
                       '.*Unexpected key.s. in state_dict: "backbone.fc.bias"'):  # BLF-head weights, a plain arch
        submit_module.submit(_submission(tmp_path), wrong, arch="cnn2c2f", leaderboard_dir=out)
    model_file = tmp_path / "double.py"
    model_file.write_text("import torch\nfrom robustbench_logits.models import create_model\n"
                          "model = create_model('cnn2c2f', num_classes=10, in_chans=1).double()\n")
    double = tmp_path / "double.safetensors"
    torch.manual_seed(0)
    save_file(create_model("cnn2c2f", num_classes=10, in_chans=1).double().state_dict(), str(double))
    with pytest.raises(ModelError, match="has float64 weights but the images are float32: convert it with model.to"):
        submit_module.submit(_submission(tmp_path), double, model_file=model_file, leaderboard_dir=out)
    with pytest.raises(WeightsError, match="does not exist"):
        submit_module.submit(_submission(tmp_path), tmp_path / "missing.safetensors", arch="cnn2c2f", leaderboard_dir=out)
    assert fake_benchmark == [] and not out.exists()


def test_device_and_leaderboard_dir_are_checked_before_evaluating(zoo_dir, tmp_path, fake_benchmark):
    weights = _weights(tmp_path)
    if not torch.cuda.is_available():
        with pytest.raises(UserError, match="no CUDA GPU is available here: use --device cpu"):
            submit_module.submit(_submission(tmp_path), weights, arch="cnn2c2f", leaderboard_dir=tmp_path / "lb", device="cuda")
    (tmp_path / "a_file").write_text("not a directory")
    with pytest.raises(UserError, match="a_file is a file, not a directory"):
        submit_module.submit(_submission(tmp_path), weights, arch="cnn2c2f", leaderboard_dir=tmp_path / "a_file")
    assert fake_benchmark == [] and not (tmp_path / "lb").exists() and (tmp_path / "a_file").read_text() == "not a directory"


def test_a_zoo_name_is_refused(zoo_dir, tmp_path, fake_benchmark):
    make_record(zoo_dir, "Sub2026_CNN", "cnn2c2f.sub_mnist", clean=0.9, autoattack=0.2, worst=0.2, adaptive=None)
    with pytest.raises(SubmissionError, match="is the name of a mnist Linf zoo model"):
        submit_module.submit(_submission(tmp_path), _weights(tmp_path), arch="cnn2c2f", leaderboard_dir=tmp_path / "lb")
    assert fake_benchmark == []


def test_malformed_submissions_get_one_line_errors(zoo_dir, tmp_path):
    path = tmp_path / "sub.json"
    weights = tmp_path / "w.safetensors"
    path.write_text(json.dumps({k: v for k, v in SUBMISSION.items() if k != "autoattack_acc"}))
    with pytest.raises(SubmissionError, match="field 'autoattack_acc' is missing"):
        submit_module.submit(path, weights, arch="cnn2c2f")
    path.write_text(json.dumps(SUBMISSION | {"clean_acc": 95}))
    with pytest.raises(SubmissionError, match="field 'clean_acc'"):
        submit_module.submit(path, weights, arch="cnn2c2f")
    path.write_text("{not json")
    with pytest.raises(SubmissionError, match="not valid JSON"):
        submit_module.submit(path, weights, arch="cnn2c2f")
    path.write_text(json.dumps(SUBMISSION))
    with pytest.raises(SubmissionError, match="exactly one of --arch"):
        submit_module.submit(path, weights)


# --- many writers at once (issue 9) -----------------------------------------------------------------


def _submitter(out, weights, submissions, results):
    for path in submissions:
        try:
            entry = submit_module.submit(path, weights, arch="cnn2c2f", leaderboard_dir=out, progress=False)
            results.put(("ok", entry["model_name"]))
        except Exception as error:  # reported to the parent, which fails the test
            results.put(("error", f"{type(error).__name__}: {error}"))


def _renderer(out, rounds, results):
    for _ in range(rounds):
        try:
            render.render_leaderboard(out)
        except Exception as error:
            results.put(("error", f"{type(error).__name__}: {error}"))
    results.put(("rendered", rounds))


def test_parallel_submitters_and_renderers_lose_no_accepted_entry(zoo_dir, tmp_path, fake_benchmark):
    make_record(zoo_dir, "Alpha", "cnn2c2f.alpha_mnist", clean=0.9, autoattack=0.2, worst=0.2, adaptive=None)
    weights, out = _weights(tmp_path), tmp_path / "lb"
    n_submitters, per_submitter = 6, 4
    submissions = [[_submission(tmp_path, model_name=f"P{i}S{j}2026_CNN") for j in range(per_submitter)]
                   for i in range(n_submitters)]
    context = multiprocessing.get_context("fork")  # children inherit the test zoo and the fake benchmark
    results = context.Queue()
    processes = [context.Process(target=_submitter, args=(out, weights, batch, results)) for batch in submissions]
    processes += [context.Process(target=_renderer, args=(out, 6, results)) for _ in range(2)]
    for process in processes:
        process.start()
    reports = [results.get(timeout=300) for _ in range(n_submitters * per_submitter + 2)]
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    assert [r for r in reports if r[0] == "error"] == []
    accepted = sorted(name for kind, name in reports if kind == "ok")
    assert len(accepted) == n_submitters * per_submitter
    on_disk = sorted(e["model_name"] for e in store.load_entries(out, source="submission"))
    assert on_disk == accepted
    assert all((out / "evaluations" / "mnist" / "Linf" / f"{name}.json").is_file() for name in accepted)
    render.render_leaderboard(out)
    table = (out / "mnist_Linf.md").read_text()
    assert all(f"| {name} | A defense" in table for name in accepted)
    assert not list(out.rglob("*.partial"))


def test_parallel_submitters_of_one_name_get_exactly_one_entry(zoo_dir, tmp_path, fake_benchmark):
    weights, out = _weights(tmp_path), tmp_path / "lb"
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    processes = [context.Process(target=_submitter, args=(out, weights, [_submission(tmp_path)], results)) for _ in range(4)]
    for process in processes:
        process.start()
    reports = [results.get(timeout=300) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    assert sorted(kind for kind, _ in reports) == ["error", "error", "error", "ok"]
    assert all("already on the leaderboard" in message for kind, message in reports if kind == "error")
    assert [e["model_name"] for e in store.load_entries(out)] == ["Sub2026_CNN"] and store.history_of(out, "mnist", "Linf", "Sub2026_CNN") == []


def test_load_weights_names_the_keys_that_do_not_fit(tmp_path):
    from robustbench_logits._files import load_weights

    torch.manual_seed(0)
    save_file({"weight": torch.zeros(2, 3), "surprise": torch.zeros(1)}, str(tmp_path / "w.safetensors"))
    with pytest.raises(WeightsError, match='does not fit Linear: Missing key.s. in state_dict: "bias". Unexpected key.s. in state_dict: "surprise"') as error:
        load_weights(torch.nn.Linear(3, 2), tmp_path / "w.safetensors")
    assert "\n" not in str(error.value)
