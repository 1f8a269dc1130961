import os

import pytest
import torch
from torch import nn

from robustbench_logits.errors import ModelError, UserError
from robustbench_logits.validation import (
    OutputPathError,
    check_device,
    check_model_dtype,
    check_model_output,
    check_output_path,
)


def _listing(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_output_path_refuses_directories_files_as_parents_and_unwritable_places_writing_nothing(tmp_path):
    (tmp_path / "dir").mkdir()
    (tmp_path / "file").write_text("x")
    before = _listing(tmp_path)
    with pytest.raises(OutputPathError, match="is a directory: give a file path inside it"):
        check_output_path(tmp_path / "dir")
    with pytest.raises(OutputPathError, match="is a file, not a directory"):
        check_output_path(tmp_path / "file" / "deeper" / "out.json")
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(OutputPathError, match="is not writable"):
            check_output_path(locked / "out.json")
        locked.chmod(0o700)
        locked.rmdir()
    assert check_output_path(tmp_path / "new" / "sub" / "out.json") == tmp_path / "new" / "sub" / "out.json"
    assert _listing(tmp_path) == before  # checking never creates anything


def test_device_must_exist_here():
    assert check_device(None) is None and check_device("cpu") == torch.device("cpu")
    with pytest.raises(UserError, match="not a torch device"):
        check_device("gpu7")
    if not torch.cuda.is_available():
        with pytest.raises(UserError, match="no CUDA GPU is available here: use --device cpu"):
            check_device("cuda")


@pytest.mark.parametrize("dtype", [torch.float64, torch.float16])
def test_model_dtype_is_named(dtype):
    with pytest.raises(ModelError, match=f"has {str(dtype)[6:]} weights but the images are float32: convert it"):
        check_model_dtype(nn.Linear(3, 2).to(dtype))
    check_model_dtype(nn.Linear(3, 2))


@pytest.mark.parametrize("output, message", [((torch.zeros(2, 3), torch.zeros(2)), "returns a tuple of 2 items"),
                                             ({"logits": torch.zeros(2, 3)}, "returns a dict .keys logits."),
                                             (torch.zeros(2, dtype=torch.int64), "returns int64 outputs"),
                                             ("x", "returns str")])
def test_model_output_type_is_named(output, message):
    with pytest.raises(ModelError, match=message):
        check_model_output(output, "the model")
    assert check_model_output(torch.zeros(2, 3)).shape == (2, 3)


def test_a_zoo_model_is_refused_on_a_dataset_it_was_not_trained_on():
    from robustbench_logits import zoo
    from robustbench_logits.validation import check_zoo_dataset

    record = zoo.records()[0]
    check_zoo_dataset(record.name, record.dataset)
    check_zoo_dataset(record.tag, record.dataset)
    check_zoo_dataset("my_model.py", "fashion_mnist")  # not a zoo model: nothing to check here
    other = "cifar10" if record.dataset != "cifar10" else "mnist"
    with pytest.raises(ModelError, match=f"{record.tag} was trained on {record.dataset}, not {other}: pass --dataset {record.dataset}, or pick"):
        check_zoo_dataset(record.tag, other)
    # a name shipped on two datasets (one tag each) names both
    twice = next(r.name for r in zoo.records() if sum(s.name == r.name for s in zoo.records()) == 2)
    datasets = sorted(r.dataset for r in zoo.records() if r.name == twice)
    with pytest.raises(ModelError, match=f"{twice} was trained on {datasets[0]} and {datasets[1]}, not cifar10: pass "
                                         f"--dataset {datasets[0]} or --dataset {datasets[1]}, or pick"):
        check_zoo_dataset(twice, "cifar10")


# --- the same checks through benchmark() (issue 9): before any work, one line; the result holds a plain float eps


def _tiny():
    from robustbench_logits.attacks import AttackSpec
    from robustbench_logits.evaluation import EvaluationSuite

    torch.manual_seed(0)
    x, y = torch.rand(8, 1, 28, 28), torch.arange(8) % 10
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 10)).eval()
    suite = EvaluationSuite("tiny", attacks=[AttackSpec("fgsm", "fgsm")], autoattack=False, adaptive=False)
    return model, (x, y), suite


@pytest.mark.parametrize("eps", ["8/255", torch.tensor(8 / 255)])
def test_benchmark_takes_eps_as_a_fraction_or_a_tensor_and_writes_a_float(tmp_path, eps):
    import json

    from robustbench_logits.evaluation import benchmark

    model, data, suite = _tiny()
    result = benchmark(model, dataset=data, eps=eps, suite=suite, escalate=False, progress=False)
    assert type(result.eps) is float and result.eps == pytest.approx(8 / 255)
    result.to_json(tmp_path / "r.json")
    assert json.loads((tmp_path / "r.json").read_text())["eps"] == pytest.approx(8 / 255)


class _Pair(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(784, 10)

    def forward(self, x):
        logits = self.linear(x.flatten(1))
        return logits, logits.softmax(1)


@pytest.mark.parametrize("change, error, message", [
    ({"eps": "1.2.3"}, UserError, "eps '1.2.3' is not a number"),
    ({"model": "double"}, ModelError, "has float64 weights but the images are float32"),
    ({"model": "half"}, ModelError, "has float16 weights but the images are float32"),
    ({"model": "pair"}, ModelError, "returns a tuple of 2 items, not a logits tensor"),
    ({"device": "gpu7"}, UserError, "is not a torch device"),
])
def test_benchmark_refuses_bad_input_before_any_work(tmp_path, monkeypatch, change, error, message):
    from robustbench_logits.evaluation import benchmark

    model, data, suite = _tiny()
    build = {"double": lambda: model.double(), "half": lambda: model.half(), "pair": lambda: _Pair().eval()}
    model = build[change["model"]]() if "model" in change else model
    monkeypatch.chdir(tmp_path)
    with pytest.raises(error, match=message) as raised:
        benchmark(model, dataset=data, eps=change.get("eps", 0.3), device=change.get("device"), suite=suite,
                  escalate=False, progress=False)
    assert "\n" not in str(raised.value) and list(tmp_path.iterdir()) == []


def test_benchmark_warns_when_eps_reaches_every_image():
    from robustbench_logits.eps import EpsRangeWarning
    from robustbench_logits.evaluation import benchmark

    model, data, suite = _tiny()
    with pytest.warns(EpsRangeWarning, match="eps 300 .Linf. exceeds the \\[0, 1\\] input range"):
        benchmark(model, dataset=data, eps=300, suite=suite, escalate=False, progress=False)
