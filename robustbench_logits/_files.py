"""File primitives shared by data, training, evaluation and the zoo: checksums, safe weight
loading, atomic JSON. Weights load as safetensors or ``torch.load(weights_only=True)``; pickles
are refused, because unpickling runs code."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

import torch

from robustbench_logits.errors import WeightsError

__all__ = ["load_state_dict", "load_weights", "package_versions", "sha256_file", "state_dict_mismatch", "write_json", "write_text"]

VERSIONED_PACKAGES = (
    "robustbench-logits", "torch", "torchvision", "timm", "torchattacks", "pyautoattack", "robustbench", "numpy", "safetensors",
)

_PICKLE_SUFFIXES = {".pkl", ".pickle", ".p"}


def sha256_file(path: str | os.PathLike) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_state_dict(path: str | os.PathLike, expected_sha256: str | None = None) -> dict[str, torch.Tensor]:
    """A state dict from ``.safetensors`` (preferred) or a weights-only torch file.

    ``expected_sha256`` is checked first, so a corrupted or replaced file never reaches the model.
    """
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"weights file {path} does not exist")
    if path.suffix in _PICKLE_SUFFIXES:
        raise WeightsError(f"refusing to load pickle file {path}: save model.state_dict() with safetensors instead")
    if expected_sha256 is not None:
        actual = sha256_file(path)
        if actual != expected_sha256:
            raise WeightsError(
                f"{path} has sha256 {actual[:12]}..., expected {expected_sha256[:12]}...: the file is corrupted"
                " or not these weights; restore it (reinstall the package or re-download)"
            )
    if path.suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            return load_file(str(path))
        except (SafetensorError, OSError, ValueError) as error:
            raise WeightsError(f"{path} is not a readable safetensors file ({error}); re-export it") from None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # weights_only refuses arbitrary objects with an UnpicklingError
        raise WeightsError(
            f"cannot read {path} as weights-only ({type(error).__name__}): it may hold pickled code;"
            " save model.state_dict() as .safetensors"
        ) from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise WeightsError(f"{path} does not hold a state dict of tensors; save model.state_dict()")
    return state


def load_weights(model: torch.nn.Module, path: str | os.PathLike, expected_sha256: str | None = None) -> torch.nn.Module:
    """Load a weights file into ``model`` (strict), with a one-line error when it does not fit."""
    state = load_state_dict(path, expected_sha256)
    try:
        model.load_state_dict(state)
    except RuntimeError as error:
        raise WeightsError(f"{Path(path).name} does not fit {type(model).__name__}: {state_dict_mismatch(error)}") from None
    return model


def state_dict_mismatch(error: RuntimeError) -> str:
    """torch's multi-line ``load_state_dict`` error in one line, the key names kept (its first line names none)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    text = " ".join(lines[1:] or lines)
    return text if len(text) <= 400 else text[:397] + "..."


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write a text file atomically: a temporary file unique to this writer, then one rename.

    An interruption never leaves half a file, and two processes writing the same path never share
    a temporary file (each gets its own from :func:`tempfile.mkstemp`); the last rename wins whole.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(temporary, 0o644)  # mkstemp makes 0600; a published file is readable like any other
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_json(path: str | os.PathLike, payload: Any) -> None:
    """Write JSON atomically (see :func:`write_text`): an interruption never leaves half a file."""
    write_text(path, json.dumps(payload, indent=2, sort_keys=False, default=str) + "\n")


def package_versions() -> dict[str, str]:
    """Python and the pinned stack's versions, for provenance in every result and checkpoint."""
    found = {"python": platform.python_version()}
    for package in VERSIONED_PACKAGES:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "not installed"
    return found
