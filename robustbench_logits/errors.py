"""Errors a user can cause. Each message is one line that says what to do next.

The CLI prints ``str(error)`` for these and exits with status 2; anything else is a bug and
keeps its traceback.
"""

from __future__ import annotations


class UserError(Exception):
    """Bad input from the user: data, model, weights, submission or arguments."""


class DatasetError(UserError):
    """A dataset is missing, incomplete or fails its checksum."""


class ModelError(UserError):
    """A model name is unknown, or a model's outputs or shapes are unusable."""


class WeightsError(UserError):
    """Weights are corrupted, mismatched (sha256), or in a refused format (pickle)."""
