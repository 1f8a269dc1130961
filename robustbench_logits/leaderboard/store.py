"""The leaderboard on disk: where each file lives, one lock around every read-modify-write.

Layout (RobustBench's ``model_info/<dataset>/<threat_model>/<name>.json``, issue 10 item 6)::

    <root>/<dataset>/<threat_model>/<model_name>.json               an entry (zoo-derived or an accepted submission)
    <root>/evaluations/<dataset>/<threat_model>/<model_name>.json   a submission's full BenchmarkResult
    <root>/history/<dataset>/<threat_model>/<model_name>/<n>/{entry,evaluation}.json
                                                                    what a ``--replace`` superseded, oldest first
    <root>/.leaderboard.lock                                        the lock (filelock), never published

A model name is unique within a dataset and threat model (as in RobustBench's ``model_info``).

Several ``rbl submit`` and ``rbl leaderboard`` processes may run at once (issue 9): every change
happens under :func:`locked` (a ``filelock.FileLock``, which works across processes), every file
is written through a unique temporary file and an atomic rename
(:func:`robustbench_logits._files.write_json`), and nothing deletes a file it did not write:
only zoo-derived entries are ever removed, and only by the renderer that derives them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from robustbench_logits._files import write_json
from robustbench_logits.leaderboard.schema import SubmissionError, validate_entry

__all__ = ["LOCK_NAME", "LOCK_TIMEOUT_SECONDS", "entry_files", "entry_path", "evaluation_path", "find_entry", "history_of",
           "load_entries", "locked", "read_json", "retire"]

LOCK_NAME = ".leaderboard.lock"
#: How long a writer waits for another (a render takes seconds; a stuck process is reported, not waited on forever).
LOCK_TIMEOUT_SECONDS = 600.0
_NOT_ENTRIES = frozenset({"evaluations", "history"})


@contextmanager
def locked(root: str | os.PathLike, timeout: float = LOCK_TIMEOUT_SECONDS) -> Iterator[Path]:
    """Hold the leaderboard's lock (creating ``root``) for one read-modify-write."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    lock = FileLock(root / LOCK_NAME)
    try:
        with lock.acquire(timeout=timeout):
            yield root
    except Timeout:
        raise SubmissionError(f"{root} is locked by another rbl process for over {timeout:.0f} s: "
                              f"wait for it, or delete {root / LOCK_NAME} if no rbl process runs") from None


def entry_path(root: str | os.PathLike, entry: dict[str, Any]) -> Path:
    """``<root>/<dataset>/<threat_model>/<model_name>.json``."""
    return Path(root, entry["dataset"], entry["threat_model"], f"{entry['model_name']}.json")


def evaluation_path(root: str | os.PathLike, dataset: str, threat_model: str, model_name: str) -> Path:
    """Where a submission's full evaluation lives (the entry's ``evaluation.file``, relative to root)."""
    return Path(root, "evaluations", dataset, threat_model, f"{model_name}.json")


def read_json(path: Path) -> dict[str, Any]:
    """A JSON file, or a one-line error saying which file is damaged."""
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise SubmissionError(f"{path} is not valid JSON ({error.msg}, line {error.lineno}): fix or delete it") from None


def entry_files(root: str | os.PathLike) -> list[Path]:
    """Every entry file under ``root`` (``<dataset>/<threat_model>/<name>.json``), read or not."""
    root = Path(root)
    return sorted(path for path in root.glob("*/*/*.json") if path.parts[-3] not in _NOT_ENTRIES)


def load_entries(root: str | os.PathLike, source: str | None = None) -> list[dict[str, Any]]:
    """Every entry under ``root`` (optionally of one ``source``: "zoo" or "submission"), validated."""
    found = []
    for path in entry_files(Path(root)):
        entry = read_json(path)
        if source is None or entry.get("source") == source:
            validate_entry(entry)
            found.append(entry)
    return found


def find_entry(root: str | os.PathLike, dataset: str, threat_model: str, model_name: str) -> Path | None:
    """The entry file of ``model_name`` on this dataset and threat model, if there is one."""
    path = Path(root, dataset, threat_model, f"{model_name}.json")
    return path if path.is_file() else None


def history_of(root: str | os.PathLike, dataset: str, threat_model: str, model_name: str) -> list[Path]:
    """The superseded versions of a model, oldest first (each a directory with entry.json and evaluation.json)."""
    base = Path(root, "history", dataset, threat_model, model_name)
    return sorted((p for p in base.iterdir() if p.name.isdigit()), key=lambda p: int(p.name)) if base.is_dir() else []


def retire(root: str | os.PathLike, dataset: str, threat_model: str, model_name: str) -> Path | None:
    """Move the current entry and evaluation of a model into its history (call under :func:`locked`).

    Copies first, then removes the originals, so an interruption leaves the entry in place, never
    nowhere. Returns the history directory, or None when there was nothing to retire.
    """
    current = find_entry(root, dataset, threat_model, model_name)
    if current is None:
        return None
    previous = history_of(root, dataset, threat_model, model_name)
    target = Path(root, "history", dataset, threat_model, model_name, str(int(previous[-1].name) + 1 if previous else 1))
    evaluation = evaluation_path(root, dataset, threat_model, model_name)
    entry = read_json(current)
    if evaluation.is_file():
        write_json(target / "evaluation.json", read_json(evaluation))
        entry["evaluation"]["file"] = (target / "evaluation.json").relative_to(root).as_posix()
    write_json(target / "entry.json", entry)
    current.unlink()
    if evaluation.is_file():
        evaluation.unlink()
    return target
