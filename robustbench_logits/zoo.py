"""The zoo's records: one small JSON per shipped model, the single source of truth about it.

Data only, on the ground floor: this module reads ``weights/<tag>.json`` and imports nothing of
ours but :mod:`errors` (no torch, no models), so anything may read it without an import circle.
Building a model and loading its weights is :mod:`robustbench_logits.models.pretrained`'s job,
as timm builds a model from a pretrained config with a ``file=``.

A record (``ZooRecord``, schema 2) holds five groups, each written once:

* identity: ``name`` (RobustBench-style ``<FirstAuthorYear><Keyword>_<arch>``, unique within a
  dataset), ``tag`` (the timm tag ``<arch>.<recipe>_<dataset>``, unique), ``paper`` (a key of
  :data:`robustbench_logits.papers.PAPERS`, the paper that proposed the method, or of the paper
  whose protocol a baseline follows when ``baseline``), ``recipe`` and ``departures`` (every way
  the model departs from its paper's setting, in words; a departure in a hyperparameter is also
  in the name, e.g. ``_lambda0.01``);
* setup: dataset, threat model, eps, architecture, classes, input shape, logit head;
* ``training``: the resolved recipe setting, seed, validation split, selection rule and the
  selected epoch's validation accuracies, epochs run, whether the run ``converged``;
* ``budget``: wall time, core-hours and processes of the training run;
* ``sha256`` of ``weights/<tag>.safetensors`` and ``evaluation``: the evaluation summary (a
  ``BenchmarkResult.to_dict()`` without its per-example outcomes), or None before evaluation.

The learning curve (per-epoch history) and the per-example outcomes live in the side file
``weights/<tag>.details.json`` (``details(name)``), read only when asked for.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field, fields
from functools import lru_cache
from pathlib import Path
from typing import Any

from robustbench_logits.errors import ModelError, WeightsError

__all__ = [
    "CONVERGENCE_RULE",
    "SCHEMA",
    "WEIGHTS_DIR",
    "ZooEntry",
    "ZooRecord",
    "details",
    "get_entry",
    "list_models",
    "pretrained_tags",
    "records",
    "robust_by_example",
    "summarise_evaluation",
    "weights_sha256",
]

WEIGHTS_DIR = Path(__file__).parent / "weights"
SCHEMA = 2
#: The zoo's shipping rule in words (``train.converged`` computes it; stop reasons, departures and cards quote it).
CONVERGENCE_RULE = ("the mean validation robust accuracy of the last fifth of the epochs is within one point of the "
                    "fifth before it")


@dataclass(frozen=True)
class ZooRecord:
    """One shipped model (see the module docstring for the groups)."""

    name: str
    tag: str
    paper: str
    recipe: str
    dataset: str
    threat_model: str
    eps: float
    arch: str
    num_classes: int
    in_chans: int
    img_size: int
    sha256: str
    head: str | None = None
    head_kwargs: dict[str, Any] = field(default_factory=dict)
    baseline: bool = False
    departures: list[str] = field(default_factory=list)
    training: dict[str, Any] = field(default_factory=dict)
    budget: dict[str, Any] = field(default_factory=dict)
    evaluation: dict[str, Any] | None = None
    schema: int = SCHEMA

    @property
    def weights_path(self) -> Path:
        """``weights/<tag>.safetensors``."""
        return WEIGHTS_DIR / f"{self.tag}.safetensors"

    @property
    def details_path(self) -> Path:
        """``weights/<tag>.details.json``: learning curve and per-example outcomes."""
        return WEIGHTS_DIR / f"{self.tag}.details.json"

    @property
    def variant(self) -> str:
        """The timm architecture name (``cnn2c2f`` of ``cnn2c2f.blf_mnist``)."""
        return self.tag.split(".", 1)[0]

    def to_dict(self) -> dict[str, Any]:
        """The JSON object written to ``weights/<tag>.json``."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


ZooEntry = ZooRecord
"""The name of the record type before schema 2 (kept so readers written against it still work)."""


def summarise_evaluation(result: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split a ``BenchmarkResult.to_dict()`` into (record summary, side-file part).

    The summary keeps every accuracy, interval, indicator, flag, note, escalation outcome and
    the provenance a reader needs to reproduce the run (versions, seeds, attacks, wall time,
    the weights' sha256, the evaluated example indices as ``[first, last]`` ranges); the
    per-example outcomes, the indicators' example lists and the evaluator's indicator catalogue
    (the same for every model) go to the side file.
    """
    summary = {k: v for k, v in result.items() if k != "provenance"}
    side: dict[str, Any] = {}
    if "indicators" in summary:
        summary["indicators"] = [{k: v for k, v in ind.items() if k != "examples"} for ind in summary["indicators"]]
        side["indicator_examples"] = {ind.get("name", str(i)): ind.get("examples") for i, ind in enumerate(result["indicators"])}
    provenance = dict(result.get("provenance") or {})
    side["per_example"] = provenance.pop("per_example", None)
    if "indicator_catalogue" in provenance:  # the evaluator's catalogue, the same for every model
        side["indicator_catalogue"] = provenance.pop("indicator_catalogue")
    dataset = dict(provenance.get("dataset") or {})
    indices = dataset.pop("example_indices", None)
    if indices is not None:
        dataset["example_ranges"] = _ranges(indices)
        side["example_indices"] = indices
    provenance["dataset"] = dataset
    summary["provenance"] = provenance
    return summary, side


def _ranges(indices: list[int]) -> list[list[int]]:
    """Sorted indices as inclusive ``[first, last]`` runs: [0, 1, 2, 5] -> [[0, 2], [5, 5]]."""
    runs: list[list[int]] = []
    for index in sorted(indices):
        if runs and index == runs[-1][1] + 1:
            runs[-1][1] = index
        else:
            runs.append([index, index])
    return runs


def _load(path: Path) -> ZooRecord:
    try:
        data = json.loads(path.read_text())
        if data.get("schema") != SCHEMA:
            raise TypeError(f"schema {data.get('schema')!r}, expected {SCHEMA}")
        return ZooRecord(**data)
    except (json.JSONDecodeError, TypeError) as error:
        raise WeightsError(f"zoo record {path.name} is malformed ({error}); reinstall the package") from None


@lru_cache(maxsize=1)
def records() -> tuple[ZooRecord, ...]:
    """Every shipped record, in file order (``weights/*.json`` except the side files)."""
    found = [_load(p) for p in sorted(WEIGHTS_DIR.glob("*.json")) if not p.name.endswith(".details.json")]
    tags = [r.tag for r in found]
    duplicated = {t for t in tags if tags.count(t) > 1}
    if duplicated:
        raise WeightsError(f"zoo tags recorded twice: {sorted(duplicated)}; reinstall the package")
    return tuple(found)


_entries = records  # the schema-1 name (``zoo._entries.cache_clear()``), for readers written against it


def list_models(dataset: str | None = None, threat_model: str | None = None) -> list[str]:
    """Names of the shipped models, optionally only those for one dataset / threat model."""
    return [
        r.name for r in records()
        if (dataset is None or r.dataset == dataset) and (threat_model is None or r.threat_model == threat_model)
    ]


def pretrained_tags() -> dict[str, ZooRecord]:
    """timm tag (``arch.tag``) -> record, for timm's registry."""
    return {r.tag: r for r in records()}


def get_entry(name: str, dataset: str | None = None) -> ZooRecord:
    """The record of a shipped model, by timm tag, or by name (unique within a dataset: pass
    ``dataset`` when two datasets have a model of that name)."""
    by_tag = pretrained_tags()
    if name in by_tag:
        return by_tag[name]
    named = [r for r in records() if r.name == name and (dataset is None or r.dataset == dataset)]
    if len(named) == 1:
        return named[0]
    if len(named) > 1:
        raise ModelError(f"{name} exists for {', '.join(r.dataset for r in named)}: pass the dataset, or a timm tag "
                         f"({', '.join(r.tag for r in named)})")
    candidates = sorted({r.name for r in records()} | set(by_tag))
    close = difflib.get_close_matches(name, candidates, n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    where = f" for {dataset}" if dataset else ""
    raise ModelError(f"unknown zoo model {name!r}{where}.{hint} `rbl zoo` lists the shipped models.")


def weights_sha256(name: str) -> str:
    """The sha256 recorded for a shipped model's weights file."""
    return get_entry(name).sha256


def details(name: str) -> dict[str, Any]:
    """The side file of a record: ``history`` (the learning curve, one dict per epoch) and the
    evaluation's per-example outcomes."""
    record = get_entry(name)
    if not record.details_path.is_file():
        raise WeightsError(f"{record.details_path.name} is missing; reinstall the package")
    return json.loads(record.details_path.read_text())


def robust_by_example(name: str) -> dict[int, bool]:
    """Test-example index -> kept under the evaluation's worst case (per-example outcome ``"robust"``):
    what paired comparisons of two zoo models on their shared examples are computed from."""
    evaluation = details(name)["evaluation"]
    return {i: outcome == "robust" for i, outcome in zip(evaluation["example_indices"], evaluation["per_example"])}
