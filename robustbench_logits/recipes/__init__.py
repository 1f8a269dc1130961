"""One declarative recipe per method: the paper's settings per dataset/architecture, plus a CPU preset.

``get_recipe(name)`` returns a :class:`Recipe`; ``recipe.setup(dataset, arch, preset)`` the
:class:`Setup` the trainer runs. ``list_recipes()`` lists them all (``rbl train --list``).
docs/training.md shows how to add one.
"""

from __future__ import annotations

from robustbench_logits.recipes import baselines, kanai, lcat, lma_at, pc_lc, summers
from robustbench_logits.recipes._base import CPU_BUDGET, InnerMax, Recipe, RecipeError, Setup, cheaper_pgd
from robustbench_logits.recipes._credit import ARCH_NAMES, CREDIT, credit

__all__ = ["ARCH_NAMES", "CPU_BUDGET", "CREDIT", "RECIPES", "InnerMax", "Recipe", "RecipeError", "Setup", "cheaper_pgd", "credit", "get_recipe", "list_recipes"]

RECIPES: dict[str, Recipe] = {
    recipe.name: recipe
    for module in (baselines, kanai, summers, lcat, pc_lc, lma_at)
    for recipe in module.RECIPES
}
"""Recipe name -> recipe, in the order ``rbl train --list`` shows them."""


def get_recipe(name: str) -> Recipe:
    """The recipe called ``name`` (see ``list_recipes``)."""
    if name not in RECIPES:
        raise RecipeError(f"unknown recipe {name!r}: run `rbl train --list` to see them all")
    return RECIPES[name]


def list_recipes() -> list[Recipe]:
    """Every recipe, baselines first, then by paper."""
    return list(RECIPES.values())
