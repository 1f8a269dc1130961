"""Pretrained models shipped in the package, loadable by name with no network.

Modelled on torchvision's weights-with-metadata: each shipped model is one record,
``weights/<tag>.json``, beside its ``weights/<tag>.safetensors``. The record holds what builds
the model (architecture, head), the file's sha256, the training metadata the trainer wrote
(recipe, settings, budget, versions) and the evaluation the benchmark computed. Model cards and
leaderboard entries are derived from that one record, never typed twice.

Names: a RobustBench-style name (``Kanai2021Constraining_BLF_2C2F``) and a timm tag
(``cnn2c2f.blf_mnist``), so both ``load_model(name)`` and
``timm.create_model("cnn2c2f.blf_mnist", pretrained=True)`` work.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from torch import nn

from robustbench_logits._files import load_weights
from robustbench_logits.errors import ModelError, WeightsError

__all__ = ["WEIGHTS_DIR", "ZooEntry", "get_entry", "list_models", "load_model", "weights_sha256"]

WEIGHTS_DIR = Path(__file__).parent / "weights"


@dataclass(frozen=True)
class ZooEntry:
    """One shipped model: how to build it, its weights and their provenance."""

    name: str
    tag: str
    arch: str
    dataset: str
    threat_model: str
    eps: float
    num_classes: int
    in_chans: int
    recipe: str
    paper: str
    sha256: str
    head: str | None = None
    head_kwargs: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    evaluation: dict[str, Any] | None = None

    @property
    def weights_path(self) -> Path:
        return WEIGHTS_DIR / f"{self.tag}.safetensors"

    def build(self) -> nn.Module:
        """The architecture (and head) with freshly initialised weights."""
        from robustbench_logits.models import create_model

        return create_model(self.arch, num_classes=self.num_classes, in_chans=self.in_chans,
                            head=self.head, head_kwargs=self.head_kwargs or None)

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@lru_cache(maxsize=1)
def _entries() -> dict[str, ZooEntry]:
    found: dict[str, ZooEntry] = {}
    for record in sorted(WEIGHTS_DIR.glob("*.json")):
        try:
            entry = ZooEntry(**json.loads(record.read_text()))
        except (json.JSONDecodeError, TypeError) as error:
            raise WeightsError(f"zoo record {record.name} is malformed ({error}); reinstall the package") from None
        found[entry.name] = entry
    return found


def list_models(dataset: str | None = None, threat_model: str | None = None) -> list[str]:
    """Names of the shipped models, optionally only those for one dataset / threat model."""
    return [
        e.name for e in _entries().values()
        if (dataset is None or e.dataset == dataset) and (threat_model is None or e.threat_model == threat_model)
    ]


def pretrained_tags() -> dict[str, ZooEntry]:
    """timm tag (``arch.tag``) -> entry, for timm's registry."""
    return {e.tag: e for e in _entries().values()}


def get_entry(name: str) -> ZooEntry:
    """The record of a shipped model, by zoo name or timm tag."""
    entries = _entries()
    by_tag = pretrained_tags()
    if name in entries:
        return entries[name]
    if name in by_tag:
        return by_tag[name]
    close = difflib.get_close_matches(name, list(entries) + list(by_tag), n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    raise ModelError(f"unknown zoo model {name!r}.{hint} `rbl zoo` lists the shipped models.")


def weights_sha256(name: str) -> str:
    """The sha256 recorded for a shipped model's weights file."""
    return get_entry(name).sha256


def load_model(name: str, dataset: str | None = None, threat_model: str | None = None) -> nn.Module:
    """A shipped model in eval mode, its weights checked against the recorded sha256.

    ``dataset`` and ``threat_model``, when given, must match the model's (as in RobustBench's
    ``load_model``), so a model is never silently evaluated outside the setting it was built for.
    """
    entry = get_entry(name)
    for asked, actual, what in ((dataset, entry.dataset, "dataset"), (threat_model, entry.threat_model, "threat model")):
        if asked is not None and asked != actual:
            others = ", ".join(list_models(dataset=dataset)) or "none"
            raise ModelError(f"{entry.name} is a {actual} model, not {asked} ({what}); {asked} models: {others}")
    return load_weights(entry.build(), entry.weights_path, expected_sha256=entry.sha256).eval()
