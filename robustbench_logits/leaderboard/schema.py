"""The contracts: ``schemas/leaderboard_entry.schema.json`` and ``schemas/submission.schema.json``.

Validated with jsonschema (Draft 2020-12); the first offending field becomes a one-line
:class:`SubmissionError` naming it, so a submitter knows what to fix.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from robustbench_logits.errors import UserError

__all__ = ["SCHEMA_DIR", "SubmissionError", "validate_entry", "validate_submission"]

SCHEMA_DIR = Path(__file__).parent.parent / "schemas"


class SubmissionError(UserError):
    """A submission or leaderboard entry is malformed, or names a model that already exists."""


@cache
def _validator(schema_file: str) -> Draft202012Validator:
    """A 2020-12 validator; the schemas reference each other by file name (a ``referencing`` registry)."""
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
