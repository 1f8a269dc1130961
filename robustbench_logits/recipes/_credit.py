"""Who gets the credit for each recipe: a key of the papers table, the keyword of model names,
and whether the recipe is a baseline rather than a method a paper proposed.

The paper is the one that proposed the method (Madry et al. for PGD-AT, Zhang et al. for TRADES,
Wang et al. for MART, Kannan et al. for ALP and logit squeezing, Wong et al. for fast AT); a
baseline (standard training, label smoothing, ICE) names the paper whose protocol it follows.
Zoo records, and through them timm tags, leaderboard entries and cards, read the paper from here
by key; titles, authors and venues are only in :mod:`robustbench_logits.papers`.
"""

from __future__ import annotations

from robustbench_logits.errors import UserError
from robustbench_logits.papers import Paper, get_paper

__all__ = ["ARCH_NAMES", "CREDIT", "credit"]

CREDIT: dict[str, tuple[str, str, bool]] = {
    "standard": ("kanai2021", "Standard", True), "label-smoothing": ("kanai2021", "LSM", True),
    "logit-squeezing": ("kannan2018", "LSQ", False), "blf": ("kanai2021", "BLF", False),
    "l-blf": ("kanai2021", "LBLF", False), "tanh": ("kanai2021", "Tanh", False),
    "blf-at": ("kanai2021", "BLFAT", False), "alp": ("kannan2018", "ALP", False),
    "lrm": ("summers2019", "LRM", False), "lcat": ("lcat", "LCAT", False), "lcat-ice": ("lcat", "ICE", True),
    "pc": ("li2021", "PC", False), "pc-lc": ("li2021", "PCLC", False), "pgd-at": ("madry2018", "PGDAT", False),
    "trades": ("zhang2019", "TRADES", False), "mart": ("wang2020", "MART", False), "fast-at": ("wong2020", "FastAT", False),
    "lma-at": ("lma", "LMAAT", False), "at-ours": ("lma", "ATOurs", False), "trades-ours": ("lma", "TRADESOurs", False),
    "mart-ours": ("lma", "MARTOurs", False),
    "label-smoothing-at": ("kanai2021", "LSMAT", True), "logit-squeezing-at": ("kanai2021", "LSQAT", True),
    # LCAT's Table 2 ablation rows: the LCAT paper's own variants
    "lcat-ce-noi": ("lcat", "CENOI", True), "lcat-ce-tanh": ("lcat", "CETanh", True),
    "lcat-ce-noi-tanh": ("lcat", "CENOITanh", True), "lcat-laa-adv-tanh": ("lcat", "LAAADVTanh", False),
    "lcat-ice-tanh": ("lcat", "ICETanh", True), "lcat-ice-noi": ("lcat", "ICENOI", True),
    "lcat-ice-noi-tanh": ("lcat", "ICENOITanh", True),
}
ARCH_NAMES: dict[str, str] = {"cnn2c2f": "2C2F", "cnn4c3f": "4C3F", "lenet5": "LeNet5", "resnet18_cifar": "RN18"}
"""timm architecture -> the ``<arch>`` part of a RobustBench-style model name."""


def credit(recipe: str) -> tuple[Paper, bool]:
    """(the paper credited for ``recipe``, whether the recipe is a baseline following that paper's protocol)."""
    if recipe not in CREDIT:
        raise UserError(f"recipe {recipe!r} has no entry in the credit table (robustbench_logits/recipes/_credit.py)")
    key, _, baseline = CREDIT[recipe]
    return get_paper(key), baseline
