"""robustbench_logits.hub: load_model with RobustBench's signature, our zoo and RobustBench's."""

import inspect
import pickle

import pytest
import robustbench.utils
import torch

import robustbench_logits
from robustbench_logits import hub, zoo
from robustbench_logits.errors import ModelError, WeightsError

RB_NAME = "Ding2020MMA"  # a small (WRN-28-4) cifar10 model of RobustBench's zoo, Linf and L2


@pytest.fixture()
def rb_model_dir(tmp_path):
    """A model_dir in robustbench's own layout, its checkpoint written by the test (random weights,
    saved as RobustBench's files are: a dict with a 'state_dict' of 'module.'-prefixed tensors)."""
    torch.manual_seed(0)
    model = hub._robustbench_zoo()[("cifar10", "Linf")][RB_NAME]["model"]()
    path = hub.robustbench_checkpoint_path(RB_NAME, tmp_path, "cifar10", "Linf")
    path.parent.mkdir(parents=True)
    torch.save({"state_dict": {f"module.{k}": v for k, v in model.state_dict().items()}}, path)
    return tmp_path, model.eval()


def test_signature_is_robustbenchs():
    ours = inspect.signature(robustbench_logits.load_model).parameters
    theirs = inspect.signature(robustbench.utils.load_model).parameters
    assert list(ours) == list(theirs)
    assert ours["model_dir"].default == theirs["model_dir"].default


def test_robustbench_name_loads_from_model_dir_in_robustbench_layout(rb_model_dir):
    model_dir, reference = rb_model_dir
    model = robustbench_logits.load_model(model_name=RB_NAME, model_dir=model_dir, dataset="cifar10",
                                          threat_model="Linf")
    assert not model.training
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(model(x), reference(x))


def test_pickled_code_in_a_checkpoint_is_refused(tmp_path):
    path = hub.robustbench_checkpoint_path(RB_NAME, tmp_path, "cifar10", "Linf")
    path.parent.mkdir(parents=True)
    with path.open("wb") as handle:
        pickle.dump({"state_dict": {}, "code": print}, handle)  # a global: weights_only refuses it
    with pytest.raises(WeightsError, match="weights-only"):
        robustbench_logits.load_model(RB_NAME, model_dir=tmp_path)


def test_missing_checkpoint_without_network_says_so(tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise ConnectionError("no network")

    monkeypatch.setattr(robustbench.utils, "download_gdrive_new", offline)
    with pytest.raises(ModelError, match="needs the network, or its checkpoint at .*Ding2020MMA.pt"):
        robustbench_logits.load_model(RB_NAME, model_dir=tmp_path, dataset="cifar10", threat_model="Linf")
    assert not hub.robustbench_checkpoint_path(RB_NAME, tmp_path, "cifar10", "Linf").exists()


def test_robustbench_name_in_another_setting_names_the_right_one():
    with pytest.raises(ModelError, match="not a cifar100 Linf model: pass dataset='cifar10', threat_model='Linf'"):
        robustbench_logits.load_model("Carmon2019Unlabeled", dataset="cifar100")


def test_unknown_name_suggests_close_ones():
    with pytest.raises(ModelError, match="Did you mean Carmon2019Unlabeled"):
        robustbench_logits.load_model("Carmon2019Unlabelled")


def test_our_zoo_by_keywords_and_its_l2_error_lists_l2_models():
    name = zoo.list_models(dataset="mnist", threat_model="Linf")[0]
    model = robustbench_logits.load_model(model_name=name, model_dir="unused", dataset="mnist", threat_model="Linf")
    assert not model.training
    with pytest.raises(ModelError) as error:
        robustbench_logits.load_model(name, dataset="mnist", threat_model="L2")
    message = str(error.value)
    l2 = zoo.list_models(dataset="mnist", threat_model="L2")
    listed = message.split("L2 models: ")[1]
    assert listed == (", ".join(l2) or "none")
    assert name not in listed


def test_load_for_eval_leaves_our_names_and_files_alone(rb_model_dir):
    model_dir, _ = rb_model_dir
    assert hub.load_for_eval(zoo.list_models()[0], "mnist", "Linf", model_dir) is None
    assert hub.load_for_eval("model.py", "cifar10", "Linf", model_dir) is None
    model, name, sha256 = hub.load_for_eval(RB_NAME, "cifar10", "Linf", model_dir)
    assert name == RB_NAME and len(sha256) == 64


def test_rbl_eval_takes_a_robustbench_name(rb_model_dir, cifar10_dir, tmp_path):
    import json

    from typer.testing import CliRunner

    from robustbench_logits.cli import app

    model_dir, _ = rb_model_dir
    out = tmp_path / "result.json"
    result = CliRunner().invoke(app, ["eval", RB_NAME, "--dataset", "cifar10", "--data-dir", str(cifar10_dir),
                                      "--model-dir", str(model_dir), "-n", "2", "--out", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    record = json.loads(out.read_text())
    assert RB_NAME in json.dumps(record)
    assert record["n_examples"] == 2
