"""PC-LC (Li et al.): CE warm-up for T epochs, then the probabilistically compact loss (eq. 6)
with logit constraints (eq. 16) for T more; xi = 0.995, lambda = 0.05, Adam lr 0.01, batch 256.

T = 50 for K/F/MNIST (LeNet-5), 150 for CIFAR-10 (VGG-13).
"""

from __future__ import annotations

from robustbench_logits.recipes._base import Recipe
from robustbench_logits.recipes._settings import PCLC, pclc

PC_LC = Recipe(
    name="pc-lc",
    title="PC loss + logit constraints after a CE warm-up (eq. 6, 16)",
    paper=PCLC,
    objective="pc_lc",
    hyperparameters={"margin": 0.995, "weight": 0.05},
    setups=(
        pclc("mnist", "lenet5", warm_up=True),
        pclc("fashion_mnist", "lenet5", warm_up=True),
        pclc("cifar10", "vgg13_cifar", warm_up=True),
    ),
    checkpoint="the last epoch (the paper states no selection rule)",
)

PC = Recipe(
    name="pc",
    title="PC loss without logit constraints after a CE warm-up (eq. 6; the ablation 'PC w/o LC')",
    paper=f"{PCLC} (ablation: PC loss alone)",
    objective="pc_lc",
    hyperparameters={"margin": 0.995, "weight": 0.0},
    setups=PC_LC.setups,
    checkpoint="the last epoch (the paper states no selection rule)",
)

RECIPES = (PC_LC, PC)
