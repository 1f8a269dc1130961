"""The package's jinja2 templates (``robustbench_logits/templates``), strict about missing values."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from robustbench_logits.leaderboard.fields import markdown_cell

__all__ = ["render_template"]


def _environment(autoescape: bool) -> Environment:
    environment = Environment(loader=PackageLoader("robustbench_logits", "templates"), autoescape=autoescape,
                              undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    environment.filters["cell"] = markdown_cell
    return environment


def render_template(name: str, **context: Any) -> str:
    """Render one of the package's jinja2 templates (HTML ones autoescaped)."""
    return _environment(autoescape=name.endswith(".html.j2")).get_template(name).render(**context)
