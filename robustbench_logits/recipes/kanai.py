"""Kanai et al. (AAAI 2021): logit regularisation and bounded logit heads, standard and adversarial.

Label smoothing (eq. 2 targets, = Summers eq. 8), logit squeezing (eq. 3), BLF (eq. 5) with fixed
gamma, L-BLF (gamma = softplus(gamma~), gamma~ initialised to -1), tanh head (Thm 2), and
label smoothing, logit squeezing and BLF with PGD adversarial training (the AT rows of sec. 5). Kanai keeps the epoch with the best clean accuracy (App. B).
"""

from __future__ import annotations

from dataclasses import replace

from robustbench_logits.recipes._base import Recipe, Setup
from robustbench_logits.recipes._settings import CIFAR_PGD7, KANAI, MNIST_PGD40, kanai_cifar, kanai_mnist


def _grid_note(name: str, grid: str, value: float) -> str:
    return f"{name} picked from Kanai's grid {grid} (the selected value is only in Figs. 3-4): {value}"


def _noted(setup: Setup, note: str) -> Setup:
    return replace(setup, notes=setup.notes + (note,))


def _standard_setups(name: str, mnist_grid: str, cifar_grid: str, value: float) -> tuple[Setup, ...]:
    """Kanai's standard-training settings for 2C2F, 4C3F (MNIST), RN18 and WRN (CIFAR-10)."""
    return (
        _noted(kanai_mnist("cnn2c2f"), _grid_note(name, mnist_grid, value)),
        _noted(kanai_mnist("cnn4c3f"), _grid_note(name, mnist_grid, value)),
        _noted(kanai_cifar("resnet18_cifar", adversarial=False), _grid_note(name, cifar_grid, value)),
        _noted(kanai_cifar("wide_resnet34_10", adversarial=False), _grid_note(name, cifar_grid, value)),
    )


_CHECKPOINT = "the epoch with the best clean accuracy (Kanai et al. App. B)"

LABEL_SMOOTHING = Recipe(
    name="label-smoothing",
    title="Label smoothing: targets 1 - a (true), a / (C - 1) (others) (Summers eq. 8, Kanai sec. 2.1)",
    paper=f"{KANAI} (LSM)",
    objective="label_smoothing",
    hyperparameters={"smoothing": 0.1},
    setups=_standard_setups("alpha", "[0.05, 0.1, 0.3, 0.5, 0.7]", "[0.05, 0.1, 0.3, 0.5, 0.7]", 0.1),
    checkpoint=_CHECKPOINT,
)

LOGIT_SQUEEZING = Recipe(
    name="logit-squeezing",
    title="Logit squeezing: CE + lambda / 2 ||z||^2 (Kanai eq. 3)",
    paper=f"{KANAI} (LSQ)",
    objective="logit_squeezing",
    hyperparameters={"weight": 0.05},
    setups=_standard_setups("lambda", "[0.01, 0.05, 0.1, 0.3, 0.5]", "[0.01, 0.05, 0.1, 0.3, 0.5]", 0.05),
    checkpoint=_CHECKPOINT,
)

BLF = Recipe(
    name="blf",
    title="Bounded logit function head gamma g(z) before softmax, fixed gamma (Kanai eq. 5, Thm 3)",
    paper=f"{KANAI} (BLF)",
    objective="cross_entropy",
    head="blf",
    head_kwargs={"gamma": 1.0},
    hyperparameters={"on": "clean"},
    setups=_standard_setups("gamma", "[0.5, 0.8, 1.0, 1.5, 3.5]", "[0.1, 0.5, 0.8, 1.0, 1.2]", 1.0),
    checkpoint=_CHECKPOINT,
)

L_BLF = Recipe(
    name="l-blf",
    title="Learnable BLF: gamma = softplus(gamma~), gamma~ initialised to -1 (Kanai sec. 4, App. B.2)",
    paper=f"{KANAI} (L-BLF)",
    objective="cross_entropy",
    head="lblf",
    head_kwargs={"gamma_tilde_init": -1.0},
    hyperparameters={"on": "clean"},
    setups=(
        kanai_mnist("cnn2c2f"),
        kanai_mnist("cnn4c3f"),
        kanai_cifar("resnet18_cifar", adversarial=False),
        kanai_cifar("wide_resnet34_10", adversarial=False),
    ),
    checkpoint=_CHECKPOINT,
)

TANH = Recipe(
    name="tanh",
    title="tanh head gamma tanh(z) before softmax (Kanai sec. 3.1, Thm 2)",
    paper=f"{KANAI} (tanh, sec. 3.2 / App. B.1)",
    objective="cross_entropy",
    head="tanh",
    head_kwargs={"gamma": 1.0},
    hyperparameters={"on": "clean"},
    setups=_standard_setups("gamma", "[0.1, ..., 1.2] (App. B.1)", "[0.1, ..., 1.2] (App. B.1)", 1.0),
    checkpoint=_CHECKPOINT,
)

def _adversarial_setups(name: str, grid: str, value: float) -> tuple[Setup, ...]:
    """Kanai's adversarial-training settings (PGD-40 on MNIST, PGD-7 on CIFAR-10, sec. 5.1)."""
    return tuple(
        _noted(setup, _grid_note(name, grid, value))
        for setup in (
            kanai_mnist("cnn2c2f", attack=MNIST_PGD40),
            kanai_mnist("cnn4c3f", attack=MNIST_PGD40),
            kanai_cifar("resnet18_cifar", adversarial=True, attack=CIFAR_PGD7),
            kanai_cifar("wide_resnet34_10", adversarial=True, attack=CIFAR_PGD7),
        )
    )


LABEL_SMOOTHING_AT = Recipe(
    name="label-smoothing-at",
    title="Label smoothing on PGD examples (Kanai sec. 5, AT setting: LSM + AT)",
    paper=f"{KANAI} (LSM, AT)",
    objective="label_smoothing",
    hyperparameters={"smoothing": 0.1, "on": "perturbed"},
    setups=_adversarial_setups("alpha", "[0.05, 0.1, 0.3, 0.5, 0.7]", 0.1),
    checkpoint=_CHECKPOINT,
)

LOGIT_SQUEEZING_AT = Recipe(
    name="logit-squeezing-at",
    title="Logit squeezing on PGD examples (Kanai sec. 5, AT setting: LSQ + AT)",
    paper=f"{KANAI} (LSQ, AT)",
    objective="logit_squeezing",
    hyperparameters={"weight": 0.05, "on": "perturbed"},
    setups=_adversarial_setups("lambda", "[0.01, 0.05, 0.1, 0.3, 0.5]", 0.05),
    checkpoint=_CHECKPOINT,
)

BLF_AT = Recipe(
    name="blf-at",
    title="BLF head with PGD adversarial training (Kanai sec. 5, AT setting)",
    paper=f"{KANAI} (BLF, AT)",
    objective="cross_entropy",
    head="blf",
    head_kwargs={"gamma": 1.0},
    hyperparameters={"on": "perturbed"},
    setups=_adversarial_setups("gamma", "[0.5, 0.8, 1.0, 1.5, 3.5] / [0.1, 0.5, 0.8, 1.0, 1.2]", 1.0),
    checkpoint=_CHECKPOINT,
)

RECIPES = (LABEL_SMOOTHING, LOGIT_SQUEEZING, BLF, L_BLF, TANH, LABEL_SMOOTHING_AT, LOGIT_SQUEEZING_AT, BLF_AT)
