"""timm-native zoo: tags registered on import, listed, built with and without weights, num_classes reset."""

from __future__ import annotations

import subprocess
import sys

import pytest
import timm
import torch

from robustbench_logits import zoo
from robustbench_logits.errors import ModelError
from robustbench_logits.models import ConvClassifier, LogitHeadModel
from robustbench_logits.models.pretrained import load_model

TAG = "cnn2c2f.blf_at_mnist"


@pytest.mark.parametrize("order", ["import robustbench_logits, timm", "import timm, robustbench_logits"])
def test_tags_are_registered_on_import_whichever_comes_first(order: str) -> None:
    code = (
        f"{order}\n"
        f"assert {TAG!r} in timm.list_models(pretrained=True), timm.list_models(pretrained=True)\n"
        f"m = timm.create_model({TAG!r}, pretrained=True)\n"
        "print(type(m).__name__)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-800:]
    assert done.stdout.strip() == "LogitHeadModel"


def test_every_shipped_tag_is_listed_as_pretrained() -> None:
    assert set(zoo.pretrained_tags()) <= set(timm.list_models(pretrained=True))


def test_pretrained_true_loads_the_zoo_weights_and_cfg_is_the_tags() -> None:
    record = zoo.get_entry(TAG)
    model = timm.create_model(TAG, pretrained=True)
    reference = load_model(TAG)
    x = torch.rand(2, 1, 28, 28)
    assert isinstance(model, LogitHeadModel) and torch.equal(model.eval()(x), reference(x))
    cfg = model.pretrained_cfg
    assert cfg["tag"] == TAG.split(".", 1)[1] and cfg["file"] == str(record.weights_path)
    assert cfg["num_classes"] == 10 and cfg["input_size"] == (1, 28, 28) and record.sha256 in cfg["notes"]


def test_pretrained_false_builds_the_bare_architecture_with_the_tags_cfg() -> None:
    model = timm.create_model(TAG, pretrained=False)
    assert type(model) is ConvClassifier and model.pretrained_cfg["tag"] == TAG.split(".", 1)[1]
    pretrained = timm.create_model(TAG, pretrained=True)
    assert not torch.equal(model.fc.weight, pretrained.backbone.fc.weight)


def test_num_classes_resets_the_classifier_and_keeps_the_features() -> None:
    tag = "cnn2c2f.pgd_at_mnist"
    five = timm.create_model(tag, pretrained=True, num_classes=5).eval()
    ten = timm.create_model(tag, pretrained=True).eval()
    x = torch.rand(3, 1, 28, 28)
    assert five(x).shape == (3, 5) and five.pretrained_cfg["num_classes"] == 5
    assert torch.equal(five.forward_features(x), ten.forward_features(x))


def test_an_unknown_tag_is_refused_with_the_shipped_ones() -> None:
    with pytest.raises((ModelError, RuntimeError), match="cnn2c2f"):
        timm.create_model("cnn2c2f.nonexistent_tag", pretrained=True)
