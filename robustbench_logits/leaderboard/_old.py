"""Leaderboard entries in RobustBench's ``model_info`` format, extended with what we measured.

RobustBench keeps one JSON per model (``link, name, authors, additional_data,
number_forward_passes, dataset, venue, architecture, eps, clean_acc, reported, autoattack_acc,
footnote, unreliable``; accuracies as percent strings with two decimals; Croce et al. 2021,
``robustbench.utils.ModelInfo``). Our entries carry those fields and add the worst case over
AutoAttack and the adaptive attacks, the per-attack accuracies, the gradient-masking flags, the
weights' sha256, the recipe, the training budget, versions and a pointer to the full
evaluation provenance. ``schemas/leaderboard_entry.schema.json`` (JSON Schema 2020-12) is the
contract; every entry is validated before it is written.

Entries are derived, never typed: :func:`entry_from_zoo` from a zoo record, :func:`submit`
from a fresh :func:`~robustbench_logits.evaluate.benchmark` of a submitted model (the claimed
numbers are kept beside the measured ones, never used). Tables rank by worst-case accuracy, the
most honest number: an attack the defense was not designed against still counts.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from robustbench_logits.errors import ModelError, UserError, WeightsError

if TYPE_CHECKING:  # imported lazily at run time: the zoo and evaluation pull in torch and the attacks
    from robustbench_logits.evaluate import EvaluationSuite
    from robustbench_logits.zoo import ZooEntry

__all__ = [
    "CLAIM_TOLERANCE_POINTS",
    "FLAG_MEANINGS",
    "SCHEMA_DIR",
    "Comparison",
    "SubmissionError",
    "compare_with_zoo",
    "entry_from_result",
    "entry_from_zoo",
    "format_eps",
    "load_submissions",
    "percent",
    "protocol_groups",
    "protocol_of",
    "rank_entries",
    "render_leaderboard",
    "render_template",
    "submit",
    "validate_entry",
    "validate_submission",
    "zoo_entries",
]

SCHEMA_DIR = Path(__file__).parent / "schemas"
_TEMPLATES = "templates"

#: A submission whose measured AutoAttack accuracy is more than this many points below its claim is marked.
CLAIM_TOLERANCE_POINTS = 1.0

#: What each flag of :func:`robustbench_logits.evaluate.benchmark` means (docs/evaluation.md, "Flags").
FLAG_MEANINGS = {
    "single_step_beats_iterative": "a single-step attack broke examples iterative attacks could not: gradients mislead iterative attacks",
    "black_box_beats_white_box": "gradient-free or transferred attacks beat the model's own gradients: the gradients are masked",
    "more_iterations_still_lowering": "more PGD steps/restarts kept lowering accuracy: the attacks had not converged",
    "large_eps_not_broken": "PGD at an eps where every image is reachable did not break the model: the attack cannot follow the gradient",
    "zero_gradients": "the loss has exactly zero input gradient on some examples: gradient attacks cannot move",
    "adaptive_attack_stronger": "attacks on the logits before the bounded head broke what standard attacks left robust: the head masks gradients",
    "robust_above_clean": "re-scoring disagreed with the attacks, or an accuracy exceeded clean: the model is stateful or nondeterministic",
    "autoattack_warnings": "pyautoattack's own checks warned (randomised defense, zero gradients, or Square beating APGD)",
}


class SubmissionError(UserError):
    """A submission or leaderboard entry is malformed, or names a model that already exists."""


# --- formatting -----------------------------------------------------------------------------------------


def percent(accuracy: float | None) -> str | None:
    """An accuracy in [0, 1] as RobustBench writes it: percent with two decimals ("96.50")."""
    if accuracy is None:
        return None
    return f"{100 * accuracy:.2f}"


def format_eps(eps: float) -> str:
    """eps as RobustBench writes it: "8/255" for k/255 budgets, else the plain decimal ("0.3")."""
    plain = f"{eps:g}"
    steps = eps * 255
    # k/255 only when the decimal would be long (8/255 = 0.0313725...): 0.3 and 2 stay as they are.
    if len(plain.replace("0.", "").lstrip("0")) > 3 and abs(steps - round(steps)) < 1e-6:
        return f"{round(steps)}/255"
    return plain


def _parse_eps(eps: float | str) -> float:
    if isinstance(eps, str):
        numerator, _, denominator = eps.partition("/")
        return float(numerator) / float(denominator or 1)
    return float(eps)


def _index_ranges(indices: Sequence[int]) -> str:
    """[0, 1, 2, 5, 6] -> "0-2, 5-6": the example indices in a line a reader can check."""
    runs: list[str] = []
    start = previous = None
    for index in list(indices) + [None]:
        if start is not None and (index is None or index != previous + 1):
            runs.append(f"{start}-{previous}" if previous != start else f"{start}")
            start = None
        if index is not None and start is None:
            start = index
        previous = index
    return ", ".join(runs)


# --- papers -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Paper:
    title: str
    authors: str
    link: str
    venue: str


def _bibliography() -> dict[str, _Paper]:
    """Recipe paper key (recipes/_settings.py) -> the bibliographic fields RobustBench shows.

    Written here because no record holds them: the zoo record names its paper by the recipe's
    key, and this maps the key to title, authors, link and venue (from the papers' own texts).
    """
    from robustbench_logits.recipes._settings import KANAI, LCAT, LMA, PCLC, SUMMERS

    return {
        KANAI: _Paper("Constraining Logits by Bounded Function for Adversarial Robustness",
                      "Sekitoshi Kanai, Masanori Yamada, Shin'ya Yamaguchi, Hiroshi Takahashi, Yasutoshi Ida",
                      "https://arxiv.org/abs/2010.02558", "AAAI 2021"),
        SUMMERS: _Paper("Improved Adversarial Robustness via Logit Regularization Methods",
                        "Cecilia Summers, Michael J. Dinneen",
                        "https://paperswithcode.com/paper/improved-adversarial-robustness-via-logit", "arXiv, Jun 2019"),
        LCAT: _Paper("Improving Adversarial Robustness of DNNs via Logits Constant Amplitude Training",
                     "Anonymous", "", "anonymous submission"),
        LMA: _Paper("Augmenting cross-entropy with margin loss and applying moving average logits regularization "
                    "to enhance adversarial robustness", "Anonymous", "", "under double-blind review"),
        PCLC: _Paper("Improving Adversarial Robustness via Probabilistically Compact Loss with Logit Constraints",
                     "Xin Li, Xiangrui Li, Deng Pan, Dongxiao Zhu", "https://arxiv.org/abs/2012.07688", "AAAI 2021"),
    }


def _paper_of(paper: str) -> _Paper:
    """The first of our papers a record's ``paper`` string names (a baseline names the paper whose protocol it follows)."""
    known = [(paper.find(key), found) for key, found in _bibliography().items() if key in paper]
    if not known:
        return _Paper(paper, "", "", "N/A")
    return min(known, key=lambda pair: pair[0])[1]


# --- deriving entries ----------------------------------------------------------------------------------------


def _measured_fields(evaluation: dict[str, Any]) -> dict[str, Any]:
    """The RobustBench accuracy fields and our extensions, from one ``BenchmarkResult.to_dict()``."""
    provenance = evaluation.get("provenance", {})
    flags = dict(evaluation.get("flags") or {})
    return {
        "dataset": evaluation["dataset"],
        "eps": format_eps(evaluation["eps"]),
        "clean_acc": percent(evaluation["clean_acc"]),
        "autoattack_acc": percent(evaluation.get("autoattack_acc")),
        "external": percent(evaluation["worst_case_acc"]),
        "footnote": evaluation.get("footnote") or "",
        "unreliable": bool(flags),
        "threat_model": evaluation["threat_model"],
        "eps_value": evaluation["eps"],
        "worst_case_acc": percent(evaluation["worst_case_acc"]),
        "adaptive_acc": percent(evaluation.get("adaptive_acc")),
        "per_attack": {name: percent(value) for name, value in evaluation.get("per_attack", {}).items()},
        "flags": flags,
        "n_examples": evaluation["n_examples"],
        "weights_sha256": provenance.get("model", {}).get("weights_sha256", ""),
    }


def _evaluation_pointer(evaluation: dict[str, Any], file: str, json_pointer: str) -> dict[str, Any]:
    provenance = evaluation.get("provenance", {})
    return {
        "file": file,
        "json_pointer": json_pointer,
        "suite": evaluation.get("suite", ""),
        "seed": provenance.get("seeds", {}).get("base", 0),
        "example_indices": _index_ranges(provenance.get("dataset", {}).get("example_indices", [])),
    }


def _paper_epochs(recipe: str, dataset: str, arch: str) -> int | None:
    """The epochs the recipe's paper setting states (what a zoo model's budget is a fraction of)."""
    from robustbench_logits.recipes import get_recipe

    try:
        return get_recipe(recipe).setup(dataset, arch).epochs
    except UserError:
        return None


def _training_fields(training: dict[str, Any], recipe: str, dataset: str, arch: str) -> dict[str, Any] | None:
    if not training:
        return None
    return {
        "epochs": training.get("epochs", 0),
        "paper_epochs": _paper_epochs(recipe, dataset, arch),
        "budget": training.get("setup", {}).get("budget", ""),
        "seed": training.get("seed", 0),
        "selection": training.get("selection", ""),
        "selected_epoch": training.get("selected_epoch"),
        "wall_time_seconds": training.get("wall_time_seconds"),
    }


def entry_from_zoo(record: ZooEntry) -> dict[str, Any]:
    """The leaderboard entry of a shipped model, derived from its zoo record (never typed twice).

    RobustBench fields come from the record's evaluation (a ``BenchmarkResult.to_dict()``);
    ``reported`` is null because a zoo model trained on a fraction of its paper's schedule makes
    no claim. ``external`` holds the worst case (RobustBench ranks by it when present).
    """
    if record.evaluation is None:
        raise ModelError(f"zoo model {record.name} has no evaluation yet: run scripts/build_zoo.py {record.tag}")
    paper = _paper_of(record.paper)
    training = record.training or {}
    title = training.get("recipe_title", record.recipe)
    # A baseline (recipe paper "... (Baseline, ST)") is not the paper's method: name it as RobustBench
    # names its "Standardly trained model", and keep the paper whose protocol it follows as the link.
    name = f"{title} (baseline)" if "baseline" in record.paper.lower() else paper.title
    measured = _measured_fields(record.evaluation)
    if measured["weights_sha256"] != record.sha256:
        raise WeightsError(f"the evaluation of {record.name} is of other weights than the record's sha256: "
                           f"rerun scripts/build_zoo.py {record.tag}")
    built = {
        "link": paper.link, "name": name, "authors": paper.authors, "additional_data": False,
        "number_forward_passes": 1, "venue": paper.venue, "architecture": record.arch + (f" + {record.head} head" if record.head else ""),
        "reported": None, **measured,
        "model_name": record.name, "timm_tag": record.tag, "source": "zoo",
        "recipe": {"name": record.recipe, "title": title, "paper": record.paper},
        "training": _training_fields(training, record.recipe, record.dataset, record.arch),
        "versions": {"training": training.get("versions", {}), "evaluation": record.evaluation.get("provenance", {}).get("versions", {})},
        "evaluation": _evaluation_pointer(record.evaluation, f"robustbench_logits/weights/{record.tag}.json", "/evaluation"),
        "claim": None,
    }
    validate_entry(built)
    return built


def entry_from_result(submission: dict[str, Any], evaluation: dict[str, Any], evaluation_file: str) -> dict[str, Any]:
    """A submission's entry: its bibliographic fields, the numbers ``benchmark`` measured, its claim beside them.

    The claim is "verified" when the measured AutoAttack accuracy is at most
    :data:`CLAIM_TOLERANCE_POINTS` below the claimed one; otherwise the entry is kept but marked
    (``claim.verified = false`` and a footnote saying by how much the claim was not reproduced).
    """
    measured = _measured_fields(evaluation)
    claimed = float(submission["autoattack_acc"])
    measured_aa = 100 * (evaluation["autoattack_acc"] if evaluation.get("autoattack_acc") is not None
                         else evaluation["worst_case_acc"])
    verified = claimed - measured_aa <= CLAIM_TOLERANCE_POINTS + 1e-9
    notes = [submission.get("footnote", ""), measured["footnote"]]
    if not verified:
        notes.append(f"Claim not reproduced: {submission['autoattack_acc']}% claimed under AutoAttack, "
                     f"{measured_aa:.2f}% measured (more than {CLAIM_TOLERANCE_POINTS:g} point lower).")
    built = {
        "link": submission.get("link", ""), "name": submission["name"], "authors": submission["authors"],
        "additional_data": submission.get("additional_data", False),
        "number_forward_passes": submission.get("number_forward_passes", 1),
        "venue": submission.get("venue", "N/A"), "architecture": submission["architecture"],
        "reported": submission.get("reported", submission["autoattack_acc"]),
        **measured,
        "footnote": " ".join(note for note in notes if note),
        "model_name": submission["model_name"], "timm_tag": None, "source": "submission",
        "recipe": None, "training": None,
        "versions": {"evaluation": evaluation.get("provenance", {}).get("versions", {})},
        "evaluation": _evaluation_pointer(evaluation, evaluation_file, ""),
        "claim": {"clean_acc": submission["clean_acc"], "autoattack_acc": submission["autoattack_acc"],
                  "verified": verified, "tolerance_points": CLAIM_TOLERANCE_POINTS},
    }
    validate_entry(built)
    return built


# --- validation ------------------------------------------------------------------------------------------------


@cache
def _validator(schema_file: str) -> Any:
    """A 2020-12 validator; the schemas reference each other by file name (a ``referencing`` registry)."""
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource

    schemas = {path.name: json.loads(path.read_text()) for path in SCHEMA_DIR.glob("*.schema.json")}
    registry = Registry().with_resources(
        [(schema["$id"], Resource.from_contents(schema)) for schema in schemas.values()])
    return Draft202012Validator(schemas[schema_file], registry=registry)


def _validate(document: Any, schema_file: str, what: str) -> None:
    """Raise a one-line :class:`SubmissionError` naming the first offending field."""
    errors = sorted(_validator(schema_file).iter_errors(document), key=lambda e: (len(e.path), list(map(str, e.path))))
    if not errors:
        return
    error = errors[0]
    path = [str(part) for part in error.path]
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = next(p for p in error.validator_value if p not in error.instance)
        detail = f"field {'/'.join(path + [missing])!r} is missing"
    elif error.validator == "additionalProperties" and isinstance(error.instance, dict):
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        detail = f"field {'/'.join(path + extra[:1])!r} is not allowed"
    else:
        detail = f"field {'/'.join(path) or '(top level)'!r}: {error.message.splitlines()[0][:200]}"
    raise SubmissionError(f"{what}: {detail}; see robustbench_logits/schemas/{schema_file}")


def validate_entry(entry: dict[str, Any]) -> None:
    """Check an entry against ``schemas/leaderboard_entry.schema.json``; one-line error naming the field."""
    _validate(entry, "leaderboard_entry.schema.json", f"leaderboard entry {entry.get('model_name', '?')!r} is malformed")


def validate_submission(submission: Any) -> None:
    """Check a submission against ``schemas/submission.schema.json``; one-line error naming the field."""
    _validate(submission, "submission.schema.json", "the submission is malformed")


# --- ranking and protocol ------------------------------------------------------------------------------------------


def rank_entries(entries: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Reliable entries best first by worst-case accuracy, then AutoAttack, then clean (then name);
    unreliable entries after them, in the same order.

    An unreliable entry's accuracies are upper bounds (a masking flag fired), so placing it among
    measured numbers would rank a bound against measurements: tables list it last, unranked.
    """

    def number(value: str | None) -> float:
        return -math.inf if value is None else float(value)

    return sorted(entries, key=lambda e: (e["unreliable"], -number(e["worst_case_acc"]), -number(e["autoattack_acc"]),
                                          -number(e["clean_acc"]), e["model_name"]))


# Attack settings that say nothing about strength (bookkeeping, or eps, which the header states once).
_UNINFORMATIVE_PARAMS = frozenset({"attack", "version", "norm", "model_name", "attack_mode", "verbose", "eps"})


def _describe_attack(attack: dict[str, Any]) -> str:
    params = attack.get("resolved_params") or attack.get("params") or {}
    settings = ", ".join(f"{key}={value}" for key, value in params.items() if key not in _UNINFORMATIVE_PARAMS)
    view = f" on the {attack['view']} view" if attack.get("view") not in (None, "model") else ""
    return f"{attack['name']}{view}" + (f" ({settings})" if settings else "")


def protocol_of(evaluation: dict[str, Any]) -> dict[str, Any]:
    """How an evaluation's numbers were obtained, read from its provenance (examples, attacks, seeds, versions).

    Adaptive attacks are listed apart: they run only on models with a bounded logit head, so
    they differ between models evaluated under one protocol.
    """
    provenance = evaluation.get("provenance", {})
    dataset = provenance.get("dataset", {})
    seeds = provenance.get("seeds", {})
    attacks = provenance.get("attacks", [])
    return {
        "examples": f"{evaluation['n_examples']} {dataset.get('split', 'test')} examples of {evaluation['dataset']} "
                    f"(indices {_index_ranges(dataset.get('example_indices', []))})",
        "threat": f"{evaluation['threat_model']}, eps = {format_eps(evaluation['eps'])}",
        "suite": evaluation.get("suite", ""),
        "attacks": [_describe_attack(a) for a in attacks if a.get("category") != "adaptive"],
        "adaptive_attacks": [_describe_attack(a) for a in attacks if a.get("category") == "adaptive"],
        "seeds": f"base seed {seeds.get('base', '?')}; {seeds.get('rule', '')}",
        "versions": ", ".join(f"{k} {v}" for k, v in provenance.get("versions", {}).items()),
    }


def _evaluation_of(entry: dict[str, Any], leaderboard_dir: Path) -> dict[str, Any]:
    """The full evaluation an entry points to (zoo record or the submission's evaluation file)."""
    if entry["source"] == "zoo":
        from robustbench_logits import zoo

        return zoo.get_entry(entry["model_name"]).evaluation
    return json.loads((leaderboard_dir / entry["evaluation"]["file"]).read_text())


def protocol_groups(evaluations: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Distinct protocols among named evaluations, each with its models (one group when all agree).

    Models differing only in their adaptive attacks share a group; ``adaptive`` maps each adaptive
    attack to the models it ran on.
    """
    groups: list[dict[str, Any]] = []
    for name, evaluation in evaluations.items():
        protocol = protocol_of(evaluation)
        adaptive = protocol.pop("adaptive_attacks")
        group = next((g for g in groups if g["protocol"] == protocol), None)
        if group is None:
            group = {"protocol": protocol, "models": [], "adaptive": {}}
            groups.append(group)
        group["models"].append(name)
        for attack in adaptive:
            group["adaptive"].setdefault(attack, []).append(name)
    return groups


# --- rendering --------------------------------------------------------------------------------------------------------


def _environment(autoescape: bool) -> Any:
    from jinja2 import Environment, PackageLoader, StrictUndefined

    return Environment(loader=PackageLoader("robustbench_logits", _TEMPLATES), autoescape=autoescape,
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def render_template(name: str, **context: Any) -> str:
    """Render one of the package's jinja2 templates (HTML ones autoescaped)."""
    return _environment(autoescape=name.endswith(".html.j2")).get_template(name).render(**context)


def zoo_entries() -> list[dict[str, Any]]:
    """Entries of every shipped model that has an evaluation."""
    from robustbench_logits import zoo

    zoo._entries.cache_clear()
    records = [zoo.get_entry(name) for name in zoo.list_models()]
    return [entry_from_zoo(record) for record in records if record.evaluation is not None]


def load_submissions(leaderboard_dir: str | os.PathLike) -> list[dict[str, Any]]:
    """Accepted submissions stored as ``<leaderboard_dir>/entries/*.json`` (zoo-derived files are skipped: they are re-derived)."""
    found = []
    for path in sorted(Path(leaderboard_dir, "entries").glob("*.json")):
        try:
            entry = json.loads(path.read_text())
        except json.JSONDecodeError as error:
            raise SubmissionError(f"{path} is not valid JSON ({error.msg}, line {error.lineno}): fix or delete it") from None
        if entry.get("source") == "submission":
            validate_entry(entry)
            found.append(entry)
    return found


def _tables(entries: list[dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    tables: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for entry in entries:
        tables.setdefault((entry["dataset"], entry["threat_model"]), []).append(entry)
    return {key: rank_entries(group) for key, group in sorted(tables.items())}


def render_leaderboard(out_dir: str | os.PathLike = "leaderboard") -> list[Path]:
    """Write ``<dataset>_<threat>.md`` per table, ``index.html`` and ``entries/<name>.json``.

    Entries are the zoo records' (derived afresh) plus the accepted submissions already in
    ``out_dir/entries``. Zoo entry files whose record is gone are removed. Returns the files written.
    """
    from robustbench_logits._files import write_json

    out = Path(out_dir)
    (out / "entries").mkdir(parents=True, exist_ok=True)
    derived = zoo_entries()
    submissions = load_submissions(out)
    clash = {e["model_name"] for e in derived} & {e["model_name"] for e in submissions}
    if clash:
        raise SubmissionError(f"submissions {', '.join(sorted(clash))} share a name with zoo models: rename the entry files")
    entries = derived + submissions
    written: list[Path] = []
    keep = {f"{e['model_name']}.json" for e in entries}
    for stale in (out / "entries").glob("*.json"):
        if stale.name not in keep:
            stale.unlink()  # only zoo-derived files can be stale: every submission file was loaded above
    for entry in entries:
        path = out / "entries" / f"{entry['model_name']}.json"
        write_json(path, entry)
        written.append(path)
    tables = [{"dataset": dataset, "threat_model": threat, "entries": group, "file": f"{dataset}_{threat}.md",
               "protocols": protocol_groups({e["model_name"]: _evaluation_of(e, out) for e in group}),
               "flags_fired": sorted({flag for e in group for flag in e["flags"]})}
              for (dataset, threat), group in _tables(entries).items()]
    for table in tables:
        path = out / table["file"]
        path.write_text(render_template("leaderboard.md.j2", table=table, flag_meanings=FLAG_MEANINGS))
        written.append(path)
    index = out / "index.html"
    index.write_text(render_template("leaderboard.html.j2", tables=tables, flag_meanings=FLAG_MEANINGS))
    written.append(index)
    return written


# --- submit -------------------------------------------------------------------------------------------------------------


def _read_submission(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise SubmissionError(f"submission file {path} does not exist")
    try:
        submission = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise SubmissionError(f"{path} is not valid JSON ({error.msg}, line {error.lineno}): fix the file") from None
    validate_submission(submission)
    return submission


def _submitted_model(submission: dict[str, Any], weights: Path, arch: str | None, model_file: Path | None) -> tuple[Any, str]:
    """The submitted architecture with its weights (loaded safely, sha256 computed)."""
    from robustbench_logits._files import load_state_dict, sha256_file
    from robustbench_logits.data import DATASETS
    from robustbench_logits.evaluate import load_model_for_eval

    if (arch is None) == (model_file is None):
        raise SubmissionError("pass exactly one of --arch NAME (a timm architecture) or --model-file model.py")
    if model_file is not None:
        model = load_model_for_eval(str(model_file), submission["dataset"])[0]
    else:
        from robustbench_logits.models import create_model

        data = DATASETS[submission["dataset"]]
        try:
            model = create_model(arch, num_classes=data.num_classes, in_chans=data.input_shape[0])
        except RuntimeError as error:  # timm's "Unknown model"
            raise SubmissionError(f"unknown architecture {arch!r} ({error}): give a timm name or use --model-file") from None
    state = load_state_dict(weights)
    try:
        model.load_state_dict(state)
    except RuntimeError as error:
        raise ModelError(f"{weights} does not fit the submitted model: {str(error).splitlines()[0]}") from None
    return model.eval(), sha256_file(weights)


def submit(
    entry_file: str | os.PathLike,
    weights: str | os.PathLike,
    arch: str | None = None,
    model_file: str | os.PathLike | None = None,
    n_examples: int = 1000,
    leaderboard_dir: str | os.PathLike = "leaderboard",
    *,
    device: str | None = None,
    data_dir: str | os.PathLike | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Re-evaluate a submitted model with the standard suite and add it to the leaderboard.

    The submission's numbers are claims: the model is benchmarked on the stated dataset, threat
    model and eps (first ``n_examples`` test examples, seed 0), both claimed and measured numbers
    are recorded, and the entry is marked when the measured AutoAttack accuracy is more than
    :data:`CLAIM_TOLERANCE_POINTS` below the claim. Writes ``entries/<model_name>.json`` and
    ``evaluations/<model_name>.json`` (the full result), then re-renders the tables.
    """
    from robustbench_logits import zoo
    from robustbench_logits._files import write_json
    from robustbench_logits.evaluate import benchmark

    submission = _read_submission(Path(entry_file))
    name = submission["model_name"]
    if name in zoo.list_models():
        raise SubmissionError(f"{name} is the name of a zoo model: choose another model_name")
    model, sha256 = _submitted_model(submission, Path(weights), arch, Path(model_file) if model_file else None)
    result = benchmark(model, dataset=submission["dataset"], threat_model=submission.get("threat_model", "Linf"),
                       eps=_parse_eps(submission["eps"]), n_examples=n_examples, suite="standard", device=device,
                       seed=0, data_dir=data_dir, model_name=name, weights_sha256=sha256, progress=progress)
    out = Path(leaderboard_dir)
    evaluation_file = f"evaluations/{name}.json"
    entry = entry_from_result(submission, result.to_dict(), evaluation_file)
    (out / "evaluations").mkdir(parents=True, exist_ok=True)
    (out / "entries").mkdir(parents=True, exist_ok=True)
    write_json(out / evaluation_file, result.to_dict())
    write_json(out / "entries" / f"{name}.json", entry)
    render_leaderboard(out)
    return entry


# --- compare --------------------------------------------------------------------------------------------------------------


@dataclass
class Comparison:
    """One user model and the zoo models of a dataset, evaluated with the same suite, eps, examples and seed."""

    dataset: str
    threat_model: str
    eps: float
    n_examples: int
    seed: int
    results: dict[str, dict[str, Any]]  # model name -> BenchmarkResult.to_dict()
    candidate: str

    def rows(self) -> list[dict[str, Any]]:
        """Ranked table rows (percent strings), the candidate marked."""
        rows = [{"model": name, "candidate": name == self.candidate,
                 **{key: percent(result.get(key)) for key in ("clean_acc", "autoattack_acc", "adaptive_acc", "worst_case_acc")},
                 "unreliable": result["unreliable"], "flags": sorted(result["flags"])}
                for name, result in self.results.items()]
        return sorted(rows, key=lambda r: (r["unreliable"], -float(r["worst_case_acc"]), r["model"]))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the setting, the ranked rows and every full result."""
        return {"dataset": self.dataset, "threat_model": self.threat_model, "eps": self.eps,
                "n_examples": self.n_examples, "seed": self.seed, "candidate": self.candidate,
                "rows": self.rows(), "results": self.results}

    def to_markdown(self) -> str:
        """The comparison table with the protocol it ran under."""
        return render_template("compare.md.j2", comparison=self, rows=self.rows(),
                               protocols=protocol_groups(self.results))


def compare_with_zoo(
    model_spec: str,
    dataset: str = "mnist",
    n_examples: int = 1000,
    eps: float | None = None,
    threat_model: str = "Linf",
    suite: str | EvaluationSuite = "standard",
    *,
    weights: str | os.PathLike | None = None,
    seed: int = 0,
    batch_size: int = 250,
    device: str | None = None,
    data_dir: str | os.PathLike | None = None,
    progress: bool = True,
) -> Comparison:
    """Benchmark ``model_spec`` (a .py file defining ``model`` or ``create_model()``, see
    :func:`~robustbench_logits.evaluate.load_model_for_eval`) and every zoo model of ``dataset``
    with one suite, eps, example set and seed; checks the example indices really are identical."""
    from robustbench_logits import zoo
    from robustbench_logits.evaluate import benchmark, load_model_for_eval

    names = zoo.list_models(dataset=dataset, threat_model=threat_model)
    if not names:
        raise UserError(f"the zoo has no {dataset} {threat_model} model to compare against: `rbl zoo` lists them")
    candidate, candidate_name, candidate_sha = load_model_for_eval(model_spec, dataset, weights)
    if candidate_name in names:
        candidate_name = f"{candidate_name} (yours)"
    models = [(candidate_name, candidate, candidate_sha)] + [(n, zoo.load_model(n), zoo.weights_sha256(n)) for n in names]
    results = {}
    for name, model, sha256 in models:
        results[name] = benchmark(model, dataset=dataset, threat_model=threat_model, eps=eps, n_examples=n_examples,
                                  suite=suite, device=device, batch_size=batch_size, seed=seed, data_dir=data_dir,
                                  model_name=name, weights_sha256=sha256, progress=progress).to_dict()
    indices = {name: r["provenance"]["dataset"]["example_indices"] for name, r in results.items()}
    if len({tuple(v) for v in indices.values()}) != 1:  # benchmark takes the first n: a change there must not pass silently
        raise RuntimeError(f"models were evaluated on different examples: {indices}")
    first = results[candidate_name]
    return Comparison(dataset, threat_model, first["eps"], first["n_examples"], seed, results, candidate_name)
