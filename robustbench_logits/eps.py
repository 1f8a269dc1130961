"""The perturbation budget, parsed once for the API, the CLI and submissions.

RobustBench writes budgets as ``"8/255"`` in its model_info files and as floats in its API;
users type either. One parser accepts a number, an ``"a/b"`` string or a one-element tensor or
array (``torch.tensor(0.3)``) and returns a plain ``float``, so nothing downstream (JSON, tables)
ever sees a tensor or a string. Pure Python on purpose: the CLI parses eps before importing torch.
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any

from robustbench_logits.errors import UserError

__all__ = ["EpsError", "EpsRangeWarning", "check_eps", "format_eps", "parse_eps", "warn_if_beyond_range"]

_HOW = "give a positive number or a fraction 'a/b' (e.g. 0.3 or 8/255)"


class EpsError(UserError):
    """An eps that is not a positive finite number."""


class EpsRangeWarning(UserWarning):
    """An eps large enough to reach every image: the "robust" accuracy then measures nothing."""


def _number(text: str, whole: Any) -> float:
    try:
        return float(text)
    except ValueError:
        raise EpsError(f"eps {whole!r} is not a number: {_HOW}") from None


def parse_eps(eps: Any) -> float:
    """A budget as a float from a number, an ``"a/b"`` / ``"0.3"`` string, or a one-element tensor/array."""
    if isinstance(eps, bool) or eps is None:
        raise EpsError(f"eps {eps!r} is not a number: {_HOW}")
    if isinstance(eps, str):
        numerator, slash, denominator = eps.strip().partition("/")
        top = _number(numerator, eps)
        bottom = _number(denominator, eps) if slash else 1.0
        if bottom == 0:
            raise EpsError(f"eps {eps!r} divides by zero: {_HOW}")
        value = top / bottom
    elif isinstance(eps, numbers.Real):
        value = float(eps)
    elif hasattr(eps, "item"):
        # torch.Tensor, numpy arrays and scalars: only a single element is a budget
        count = eps.numel() if hasattr(eps, "numel") else int(getattr(eps, "size", 1))
        if count != 1:
            raise EpsError(f"eps is an array of {count} values, not one budget: {_HOW}")
        value = float(eps.item())
    else:
        raise EpsError(f"eps of type {type(eps).__name__} is not a number: {_HOW}")
    if not math.isfinite(value) or value <= 0:
        raise EpsError(f"eps {eps!r} is {value:g}, not a positive finite budget: {_HOW}")
    return value


def warn_if_beyond_range(eps: float, threat_model: str = "Linf", input_range: tuple[float, float] = (0.0, 1.0),
                         n_features: int | None = None) -> str | None:
    """Warn (and return the message) when eps reaches every input of the ``input_range`` box.

    Linf: eps at least the range's width. L2: eps at least the box's diagonal (needs
    ``n_features``, the number of input values per example). Below that nothing is said.
    """
    width = input_range[1] - input_range[0]
    if threat_model == "L2":
        if n_features is None:
            return None
        reach, what = width * math.sqrt(n_features), f"the diagonal of the [{input_range[0]:g}, {input_range[1]:g}] input box"
    else:
        reach, what = width, f"the [{input_range[0]:g}, {input_range[1]:g}] input range"
    if eps < reach:
        return None
    message = (f"eps {format_eps(eps)} ({threat_model}) exceeds {what}: every image is reachable, so robust accuracy "
               "measures nothing; did you mean a budget in image units (e.g. 0.3 or 8/255)?")
    warnings.warn(message, EpsRangeWarning, stacklevel=2)
    return message


def check_eps(eps: Any, threat_model: str = "Linf", input_range: tuple[float, float] = (0.0, 1.0),
              n_features: int | None = None) -> float:
    """:func:`parse_eps`, then :func:`warn_if_beyond_range`: what every entry point calls first."""
    value = parse_eps(eps)
    warn_if_beyond_range(value, threat_model, input_range, n_features)
    return value


def format_eps(eps: float) -> str:
    """eps as RobustBench writes it: "8/255" for k/255 budgets, else the plain decimal ("0.3")."""
    plain = f"{eps:g}"
    if "e" in plain:  # 1e-05: RobustBench's files write plain decimals
        plain = f"{eps:.12f}".rstrip("0").rstrip(".")
    steps = eps * 255
    # k/255 only when the decimal would be long (8/255 = 0.0313725...): 0.3 and 2 stay as they are.
    if len(plain.replace("0.", "").lstrip("0")) > 3 and abs(steps - round(steps)) < 1e-6:
        return f"{round(steps)}/255"
    return plain
