"""``rbl submit``: re-evaluate a submitted model and add it to the leaderboard, losing nothing.

Every input is checked before the (long) evaluation: the submission against its schema, eps
through the one parser, accuracies at most 100, the weights file, the architecture and its fit,
the device, the leaderboard directory, and the name (a zoo model's name is refused; an existing
submission's name too, unless ``replace=True``, which moves the previous entry and evaluation to
``history/<dataset>/<threat_model>/<name>/<n>/``). The evaluation runs without the lock; the write (re-check the name,
retire, write evaluation and entry, re-render) runs under it, so concurrent submitters and
renderers never lose an accepted entry (issue 9).

``--model-file`` imports and runs the submitter's Python code; ``--arch`` with ``--weights``
builds a registered architecture and loads tensors only, the path for submissions from strangers.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from torch import nn

from robustbench_logits import zoo
from robustbench_logits._files import load_state_dict, sha256_file, state_dict_mismatch, write_json
from robustbench_logits.data import DATASETS
from robustbench_logits.eps import check_eps, parse_eps
from robustbench_logits.errors import ModelError
from robustbench_logits.evaluation import benchmark, load_model_for_eval
from robustbench_logits.leaderboard.entries import entry_from_result
from robustbench_logits.leaderboard.render import render_leaderboard
from robustbench_logits.leaderboard.schema import SubmissionError, validate_submission
from robustbench_logits.leaderboard.store import entry_path, evaluation_path, find_entry, locked, retire
from robustbench_logits.models import create_model
from robustbench_logits.validation import check_device, check_model_dtype, check_output_path

__all__ = ["read_submission", "submit"]


def read_submission(path: str | os.PathLike) -> dict[str, Any]:
    """A submission file, schema-checked, its eps parsed (a one-line error for each mistake)."""
    path = Path(path)
    if not path.is_file():
        raise SubmissionError(f"submission file {path} does not exist")
    try:
        submission = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise SubmissionError(f"{path} is not valid JSON ({error.msg}, line {error.lineno}): fix the file") from None
    validate_submission(submission)
    input_shape = DATASETS[submission["dataset"]].input_shape
    n_features = input_shape[0] * input_shape[1] * input_shape[2]
    check_eps(submission["eps"], submission.get("threat_model", "Linf"), n_features=n_features)
    return submission


def _submitted_model(submission: dict[str, Any], weights: Path, arch: str | None, model_file: Path | None) -> tuple[nn.Module, str]:
    """The submitted architecture with its weights (loaded safely, sha256 computed)."""
    if (arch is None) == (model_file is None):
        raise SubmissionError("pass exactly one of --arch NAME (a registered architecture) or --model-file model.py")
    state = load_state_dict(weights)  # the weights first: a missing or pickled file fails before any code runs
    if model_file is not None:
        model = load_model_for_eval(str(model_file), submission["dataset"])[0]
    else:
        data = DATASETS[submission["dataset"]]
        try:
            model = create_model(arch, num_classes=data.num_classes, in_chans=data.input_shape[0])
        except RuntimeError as error:  # timm's "Unknown model"
            raise SubmissionError(f"unknown architecture {arch!r} ({error}): give a timm name or use --model-file") from None
    try:
        model.load_state_dict(state)
    except RuntimeError as error:
        raise ModelError(f"{weights} does not fit the submitted model: {state_dict_mismatch(error)}") from None
    check_model_dtype(model, name=f"the submitted model ({weights.name})")
    return model.eval(), sha256_file(weights)


def _check_name(out: Path, submission: dict[str, Any], replace: bool) -> None:
    name, dataset, threat = submission["model_name"], submission["dataset"], submission.get("threat_model", "Linf")
    if name in zoo.list_models(dataset=dataset, threat_model=threat):
        raise SubmissionError(f"{name} is the name of a {dataset} {threat} zoo model: choose another model_name")
    existing = find_entry(out, dataset, threat, name)
    if existing is not None and not replace:
        raise SubmissionError(f"{name} is already on the leaderboard ({existing}): choose another model_name, "
                              "or pass --replace to supersede it (the previous entry is kept in history/)")


def submit(
    entry_file: str | os.PathLike,
    weights: str | os.PathLike,
    arch: str | None = None,
    model_file: str | os.PathLike | None = None,
    n_examples: int = 1000,
    leaderboard_dir: str | os.PathLike = "leaderboard",
    *,
    replace: bool = False,
    device: str | None = None,
    data_dir: str | os.PathLike | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Re-evaluate a submitted model with the standard suite and add it to the leaderboard.

    The submission's numbers are claims: the model is benchmarked on the stated dataset, threat
    model and eps (first ``n_examples`` test examples, seed 0), both claimed and measured numbers
    are recorded, and the entry is marked when the measured AutoAttack accuracy is more than
    :data:`~robustbench_logits.leaderboard.entries.CLAIM_TOLERANCE_POINTS` below the claim.
    Writes ``<dataset>/<threat_model>/<model_name>.json`` and ``evaluations/<dataset>/<threat_model>/<model_name>.json``,
    then re-renders the tables.
    """
    out = Path(leaderboard_dir)
    submission = read_submission(entry_file)
    name, dataset, threat = submission["model_name"], submission["dataset"], submission.get("threat_model", "Linf")
    check_output_path(evaluation_path(out, dataset, threat, name), option="the leaderboard directory")
    check_device(device)
    _check_name(out, submission, replace)
    model, sha256 = _submitted_model(submission, Path(weights), arch, Path(model_file) if model_file else None)
    result = benchmark(model, dataset=dataset, threat_model=threat, eps=parse_eps(submission["eps"]), n_examples=n_examples,
                       suite="standard", device=device, seed=0, data_dir=data_dir, model_name=name,
                       weights_sha256=sha256, progress=progress)
    evaluation = result.to_dict()
    evaluation_file = evaluation_path(out, dataset, threat, name)
    entry = entry_from_result(submission, evaluation, evaluation_file.relative_to(out).as_posix())
    with locked(out):
        _check_name(out, submission, replace)  # another submitter may have taken the name while we evaluated
        if replace:
            retire(out, dataset, threat, name)
        write_json(evaluation_file, evaluation)
        write_json(entry_path(out, entry), entry)
    render_leaderboard(out)
    return entry
