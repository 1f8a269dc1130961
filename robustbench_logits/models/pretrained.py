"""Pretrained zoo models through timm: one pretrained config per zoo record, with ``file=``.

timm loads local weights from a pretrained config's ``file`` field; each zoo record
(:mod:`robustbench_logits.zoo`) becomes the config of its tag (``cnn2c2f.blf_at_mnist``), so
``timm.create_model("cnn2c2f.blf_at_mnist", pretrained=True)`` builds the architecture, adds
the record's logit head, loads ``weights/<tag>.safetensors`` after checking its sha256 against
the record, and, when ``num_classes`` differs from the record's, resets the classifier as timm
does for a new task. ``pretrained=False`` on a tag builds the bare architecture; either way the
model's ``pretrained_cfg`` is the tag's.

timm's own ``load_pretrained`` is not used for the loading because the zoo's weights of a
model with a logit head are a ``LogitHeadModel``'s state (``backbone.*`` plus the head's
parameters), which timm's loader cannot map onto the bare architecture, and because it does
not check a sha256.
"""

from __future__ import annotations

from typing import Any, Callable

import timm
from torch import nn

from robustbench_logits._files import load_weights
from robustbench_logits.errors import ModelError
from robustbench_logits.models.logit_head import with_logit_head
from robustbench_logits.papers import PAPERS
from robustbench_logits.zoo import ZooRecord, get_entry, list_models, pretrained_tags

__all__ = ["build_pretrained", "load_model", "pretrained_cfg"]

_LAYERS = {"resnet": {"first_conv": "conv1", "classifier": "fc"}}
_SMALL_NETS = {"first_conv": "features.0", "classifier": "fc"}


def pretrained_cfg(record: ZooRecord) -> dict[str, Any]:
    """The timm pretrained config of a record's tag: its weights file, input, classes and paper."""
    paper = PAPERS.get(record.paper)
    layers = _LAYERS["resnet"] if "resnet" in record.arch else _SMALL_NETS
    return {
        "file": str(record.weights_path),
        "url": "",
        "num_classes": record.num_classes,
        "input_size": (record.in_chans, record.img_size, record.img_size),
        "fixed_input_size": "resnet" not in record.arch,
        "mean": (0.0,) * record.in_chans,
        "std": (1.0,) * record.in_chans,
        "interpolation": "bilinear",
        "crop_pct": 1.0,
        "paper_name": paper.title if paper else "",
        "paper_ids": paper.link if paper else "",
        "notes": (f"robustbench_logits zoo: {record.name} ({record.dataset}, {record.threat_model} eps {record.eps:g}); "
                  f"sha256 {record.sha256}"),
        "license": "MIT",
        **layers,
    }


def build_pretrained(
    variant: str, builder: Callable[..., nn.Module], tag: str | None, build: Callable[..., nn.Module], **kwargs: Any
) -> nn.Module:
    """The zoo model of ``<variant>.<tag>`` with its weights; ``build(variant, builder, **kwargs)``
    builds the bare architecture (``architectures._build``)."""
    full = f"{variant}.{tag}" if tag else variant
    record = pretrained_tags().get(full)
    if record is None:
        shipped = ", ".join(t for t in pretrained_tags() if t.startswith(f"{variant}.")) or "none"
        raise ModelError(f"no pretrained weights for {full}; shipped tags for {variant}: {shipped}")
    num_classes = kwargs.pop("num_classes", record.num_classes)
    in_chans = kwargs.pop("in_chans", record.in_chans)
    if in_chans != record.in_chans:
        raise ModelError(f"{full} was trained on {record.in_chans}-channel inputs; in_chans={in_chans} has no weights")
    model = build(variant, builder, num_classes=record.num_classes, in_chans=record.in_chans, **kwargs)
    if record.head is not None:
        model = with_logit_head(model, record.head, **record.head_kwargs)
    load_weights(model, record.weights_path, expected_sha256=record.sha256)
    if num_classes != record.num_classes:  # timm: a new task keeps the features, not the classifier
        model.reset_classifier(num_classes)
        model.pretrained_cfg["num_classes"] = num_classes
    return model


def load_model(name: str, dataset: str | None = None, threat_model: str | None = None) -> nn.Module:
    """A shipped model in eval mode, by zoo name or timm tag, its weights checked against the record.

    ``dataset`` and ``threat_model``, when given, must match the model's (as in RobustBench's
    ``load_model``), so a model is never silently evaluated outside the setting it was trained for.
    """
    try:
        record = get_entry(name, dataset)
    except ModelError:
        record = get_entry(name)  # unknown or ambiguous: raises; of another dataset: refused below
    for asked, actual, what in ((dataset, record.dataset, "dataset"), (threat_model, record.threat_model, "threat model")):
        if asked is not None and asked != actual:
            others = ", ".join(list_models(dataset=asked if what == "dataset" else None,
                                           threat_model=asked if what == "threat model" else None)) or "none"
            raise ModelError(f"{record.name} is a {actual} model, trained for {record.dataset} {record.threat_model} "
                             f"eps {record.eps:g}, not {asked} ({what}); {asked} models: {others}")
    # The architecture's timm entry point with the tag's cfg: as timm.create_model(record.tag,
    # pretrained=True), without needing the tag in timm's registry (filled when the package loaded).
    cfg = {**pretrained_cfg(record), "architecture": record.variant, "tag": record.tag.split(".", 1)[1]}
    return timm.models.model_entrypoint(record.variant)(pretrained=True, pretrained_cfg=cfg).eval()
