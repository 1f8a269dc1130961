import json

import pytest
import timm
import torch
from safetensors.torch import save_file

from robustbench_logits import zoo
from robustbench_logits._files import sha256_file
from robustbench_logits.data import load_dataset
from robustbench_logits.errors import ModelError, WeightsError
from robustbench_logits.models import LogitHeadModel, create_model


@pytest.fixture()
def tiny_zoo(tmp_path, monkeypatch):
    """A zoo dir holding one BLF 2C2F record with random weights."""
    monkeypatch.setattr(zoo, "WEIGHTS_DIR", tmp_path)
    zoo._entries.cache_clear()
    torch.manual_seed(0)
    model = create_model("cnn2c2f", num_classes=10, in_chans=1, head="blf", head_kwargs={"gamma": 1.0})
    weights = tmp_path / "cnn2c2f.test_mnist.safetensors"
    save_file(model.state_dict(), str(weights))
    record = {
        "name": "Test2026_BLF_2C2F", "tag": "cnn2c2f.test_mnist", "arch": "cnn2c2f", "dataset": "mnist",
        "threat_model": "Linf", "eps": 0.3, "num_classes": 10, "in_chans": 1, "recipe": "blf", "paper": "test",
        "sha256": sha256_file(weights), "head": "blf", "head_kwargs": {"gamma": 1.0},
    }
    (tmp_path / "cnn2c2f.test_mnist.json").write_text(json.dumps(record))
    yield model, weights
    zoo._entries.cache_clear()


def test_load_by_name_and_tag_gives_the_saved_weights(tiny_zoo):
    model, _ = tiny_zoo
    x = torch.rand(3, 1, 28, 28)
    for name in ("Test2026_BLF_2C2F", "cnn2c2f.test_mnist"):
        loaded = zoo.load_model(name, dataset="mnist", threat_model="Linf")
        assert isinstance(loaded, LogitHeadModel) and not loaded.training
        assert torch.allclose(loaded(x), model.eval()(x))
    assert zoo.list_models(dataset="mnist") == ["Test2026_BLF_2C2F"]
    assert zoo.list_models(dataset="cifar10") == []


def test_unknown_name_suggests_close_ones(tiny_zoo):
    with pytest.raises(ModelError, match="Did you mean Test2026_BLF_2C2F"):
        zoo.load_model("Test2026_BLF_2C2E")


def test_wrong_dataset_is_refused(tiny_zoo):
    with pytest.raises(ModelError, match="is a mnist model, not cifar10"):
        zoo.load_model("Test2026_BLF_2C2F", dataset="cifar10")


def test_corrupted_weights_are_refused_before_loading(tiny_zoo):
    _, weights = tiny_zoo
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="sha256"):
        zoo.load_model("Test2026_BLF_2C2F")


def test_shipped_records_load_and_their_clean_accuracy_reproduces():
    """Every shipped model loads (sha256 checked) and recomputing its recorded clean accuracy
    on the recorded examples gives the recorded number: the zoo's numbers are computed, not typed."""
    zoo._entries.cache_clear()
    names = zoo.list_models()
    assert names, "the package ships no zoo model"
    for name in names:
        entry = zoo.get_entry(name)
        model = zoo.load_model(name)
        assert entry.evaluation is not None, f"{name} has no evaluation"
        n = entry.evaluation["n_examples"]
        x, y = load_dataset(entry.dataset, n_examples=n)
        with torch.no_grad():
            clean = (model(x).argmax(1) == y).float().mean().item()
        assert clean == pytest.approx(entry.evaluation["clean_acc"], abs=1e-6)  # one example is 1/n
        assert entry.evaluation["provenance"]["model"]["weights_sha256"] == entry.sha256


def test_timm_create_model_with_a_zoo_tag():
    zoo._entries.cache_clear()
    tags = list(zoo.pretrained_tags())
    assert tags
    model = timm.create_model(tags[0], pretrained=True)
    reference = zoo.load_model(tags[0])
    x = torch.rand(2, 1, 28, 28)
    assert torch.equal(model(x), reference(x))
    with pytest.raises(ModelError, match="no pretrained weights"):
        timm.create_model("cnn2c2f.nonexistent_tag", pretrained=True)
