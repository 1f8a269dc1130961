"""The package's jinja2 templates (``robustbench_logits/templates``), strict about missing values.

Templates get two helpers: the ``cell`` filter (text safe in a Markdown table cell) and
``meaning(name)``, what an indicator means, read from the evaluation's own catalogue
(:data:`robustbench_logits.evaluation.indicators.CATALOGUE`), so the leaderboard never restates it.
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from robustbench_logits.evaluation.indicators import CATALOGUE
from robustbench_logits.leaderboard.fields import FLAG_MEANINGS, markdown_cell

__all__ = ["indicator_meaning", "render_template"]


def _environment(autoescape: bool) -> Environment:
    environment = Environment(loader=PackageLoader("robustbench_logits", "templates"), autoescape=autoescape,
                              undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    environment.filters["cell"] = markdown_cell
    environment.globals["meaning"] = indicator_meaning
    return environment


def indicator_meaning(name: str) -> str:
    """What an indicator (or a flag of an evaluation recorded before indicators) means."""
    if name in CATALOGUE:
        return CATALOGUE[name].meaning
    return FLAG_MEANINGS.get(name, "see docs/evaluation.md, Indicators")


def render_template(name: str, **context: Any) -> str:
    """Render one of the package's jinja2 templates (HTML ones autoescaped)."""
    return _environment(autoescape=name.endswith(".html.j2")).get_template(name).render(**context)
