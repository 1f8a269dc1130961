"""The papers' training protocols, written once and shared by the recipes that use them.

Each function returns the :class:`Setup` a paper states for a dataset/architecture; recipes
add their hyperparameters. ``source`` cites the section the numbers come from.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from robustbench_logits.recipes._base import InnerMax, Setup

KANAI = "Kanai et al., Constraining Logits by Bounded Function (AAAI 2021)"
SUMMERS = "Summers & Dinneen, Improved Adversarial Robustness via Logit Regularization Methods (2019)"
LCAT = "Logits Constant Amplitude Training (LCAT)"
LMA = "LMA-AT: margin loss + moving-average logits"
PCLC = "Li et al., Probabilistically Compact Loss with Logit Constraints (AAAI 2021)"

# Threat models used in training.
MNIST_PGD40 = InnerMax(eps=0.3, step_size=0.01, steps=40)  # Kanai sec. 5.1 (after Madry et al.)
CIFAR_PGD7 = InnerMax(eps=8 / 255, step_size=2 / 255, steps=7)  # Kanai sec. 5.1
CIFAR_PGD10 = InnerMax(eps=8 / 255, step_size=2 / 255, steps=10)  # Kanai sec. 5.1 (TRADES); LMA-AT sec. 5.1

# Data augmentation: what each paper states, and what we take from its reference code. No paper
# states augmentation for MNIST (nor does the TRADES MNIST code use any): MNIST settings have none.
CROP_FLIP = "crop_flip"  # random crop after 4-pixel zero padding, then horizontal flip
KANAI_AUGMENTATION = (
    "augmentation not stated in the paper: crop_flip (random crop after 4-pixel zero padding, horizontal "
    "flip) from the code it builds on (pytorch-cifar, App. B; TRADES, sec. 5.1 and App. B.2 WRN)"
)
SUMMERS_AUGMENTATION = (
    "augmentation: random crops and horizontal flips (stated, sec. 5.1); the 4-pixel padding is stated "
    "only for SVHN, we use it on CIFAR too"
)
LMA_AUGMENTATION = (
    "augmentation not stated in the paper: crop_flip (random crop after 4-pixel zero padding, horizontal "
    "flip) from the TRADES and MART code whose settings sec. 5.1 runs its baselines with"
)
LCAT_AUGMENTATION = (
    "augmentation stated only for Tiny-ImageNet (RandomAffine, RandomGrayscale, sec. 4.1): on CIFAR-10 "
    "crop_flip, part of the common ResNet-18 CIFAR setting we assume (our choice); none on MNIST"
)
PCLC_AUGMENTATION = (
    "augmentation not stated: the stated preprocessing is scaling pixels to [0, 1] only, so none (our "
    "reading; the 90% clean accuracy of VGG-13 in Table 1 may hint at crop/flip, unstated)"
)

_LAST_EPOCH = "selection not stated in the paper: we keep the last epoch"

MNIST_ADAPTED = (
    "the paper has no MNIST setting: MNIST threat model of Kanai et al. sec. 5.1 "
    "(eps 0.3, step 0.01, 40 steps) and their 2C2F optimiser (App. B.2); hyperparameters as on CIFAR-10"
)


def kanai_mnist(arch: str, attack: InnerMax | None = None, **hp: Any) -> Setup:
    """Kanai et al. App. B.2, small CNNs on MNIST: SGD momentum 0.5, lr 0.01, 100 epochs, batch 64.

    2C2F: weight decay 0.01, constant lr. 4C3F: no weight decay, lr / 10 after epochs 55, 75, 90.
    Both keep the epoch with the best clean accuracy. No augmentation (none stated; the TRADES
    MNIST code has none).
    """
    is_4c3f = arch == "cnn4c3f"
    return Setup(
        dataset="mnist",
        arch=arch,
        source=f"{KANAI}, App. B.2 ({'4C3F' if is_4c3f else '2C2F'}) and sec. 5.1",
        optimizer="sgd",
        lr=0.01,
        momentum=0.5,
        weight_decay=0.0 if is_4c3f else 0.01,
        epochs=100,
        batch_size=64,
        lr_milestones=(55, 75, 90) if is_4c3f else (),
        attack=attack,
        hyperparameters=hp,
        selection="best_clean",
    )


def adapted_mnist(arch: str, attack: InnerMax, **hp: Any) -> Setup:
    """For methods whose paper has no MNIST setting: Kanai's MNIST protocol with the method's attack loss."""
    base = kanai_mnist(arch, attack=attack, **hp)
    return replace(base, source=f"adapted ({base.source})", notes=(MNIST_ADAPTED,))


def kanai_cifar(arch: str, adversarial: bool, attack: InnerMax | None = None, **hp: Any) -> Setup:
    """Kanai et al. App. B.2, RN18 / WRN on CIFAR-10: SGD momentum 0.9, lr 0.1, wd 5e-4, batch 128.

    Standard training: 350 epochs, lr / 10 after 150 and 250. Adversarial training: 120 epochs,
    lr / 10 after 50 and 100 (RN18) or 75 and 100 (WRN, after the TRADES code). Best clean epoch.
    Augmentation is not stated: crop_flip, as in the pytorch-cifar and TRADES code they build on.
    """
    is_wrn = arch == "wide_resnet34_10"
    if adversarial:
        epochs, milestones = 120, ((75, 100) if is_wrn else (50, 100))
    else:
        epochs, milestones = 350, (150, 250)
    return Setup(
        dataset="cifar10",
        arch=arch,
        source=f"{KANAI}, App. B.2 ({'WRN' if is_wrn else 'RN18'}, {'adversarial' if adversarial else 'standard'} training)",
        optimizer="sgd",
        lr=0.1,
        momentum=0.9,
        weight_decay=5e-4,
        epochs=epochs,
        batch_size=128,
        lr_milestones=milestones,
        attack=attack,
        augmentation=CROP_FLIP,
        hyperparameters=hp,
        selection="best_clean",
        notes=(KANAI_AUGMENTATION,),
    )


def summers_cifar(dataset: str, adversarial: bool, **fields: Any) -> Setup:
    """Summers & Dinneen sec. 5.1, ResNet-18 on CIFAR-10/100: SGD momentum 0.9, wd 2e-4, batch 128.

    5 warm-up epochs to lr 0.1, lr / 10 at epochs 100 and 150; 200 epochs (101 with adversarial
    training). PGD: L-inf 0.03, step 0.0078. Random crops and horizontal flips (crop_flip).
    """
    notes = [_LAST_EPOCH, SUMMERS_AUGMENTATION]
    attack = None
    if adversarial:
        attack = InnerMax(eps=0.03, step_size=0.0078, steps=7)
        notes.append("training PGD steps not stated: we use 7 (Madry et al.'s CIFAR setting)")
    return Setup(
        dataset=dataset,
        arch="resnet18_cifar",
        source=f"{SUMMERS}, sec. 5.1",
        optimizer="sgd",
        lr=0.1,
        momentum=0.9,
        weight_decay=2e-4,
        epochs=101 if adversarial else 200,
        batch_size=128,
        lr_milestones=(100, 150),
        warmup_epochs=5,
        attack=attack,
        augmentation=CROP_FLIP,
        selection="last",
        notes=tuple(notes),
        **fields,
    )


def lma_cifar(dataset: str, arch: str, **hp: Any) -> Setup:
    """LMA-AT sec. 5.1: SGD momentum 0.9, lr 0.01 (/10 at 75 and 90), 130 epochs, batch 100, wd 3.5e-3.

    PGD-10, eps 8/255, step 2/255, random start. Selection is not stated: we keep the last epoch.
    Augmentation is not stated: crop_flip, as in the TRADES and MART code.
    """
    return Setup(
        dataset=dataset,
        arch=arch,
        source=f"{LMA}, sec. 5.1",
        optimizer="sgd",
        lr=0.01,
        momentum=0.9,
        weight_decay=3.5e-3,
        epochs=130,
        batch_size=100,
        lr_milestones=(75, 90),
        attack=CIFAR_PGD10,
        augmentation=CROP_FLIP,
        hyperparameters=hp,
        selection="last",
        notes=(_LAST_EPOCH, LMA_AUGMENTATION),
    )


def pclc(dataset: str, arch: str, warm_up: bool, **hp: Any) -> Setup:
    """Li et al. (PC-LC) Experiments: Adam, lr 0.01, batch 256; 2T epochs, T = 50 (K/F/MNIST) or 150.

    The CE baseline trains 2T epochs with CE; PC-LC (``warm_up``) trains T epochs of CE, then
    T of PC + LC, so ``ce_warmup_epochs = T`` joins the hyperparameters. No augmentation: the
    paper states only scaling to [0, 1] as preprocessing.
    """
    grayscale = dataset in ("mnist", "fashion_mnist")
    t = 50 if grayscale else 150
    if warm_up:
        hp = {**hp, "ce_warmup_epochs": t}
    return Setup(
        dataset=dataset,
        arch=arch,
        source=f"{PCLC}, Experiments (datasets and models)",
        optimizer="adam",
        lr=0.01,
        momentum=0.0,
        weight_decay=0.0,
        epochs=2 * t,
        batch_size=256,
        hyperparameters=hp,
        selection="last",
        notes=(_LAST_EPOCH,) if grayscale else (_LAST_EPOCH, PCLC_AUGMENTATION),
    )


def lcat(dataset: str, arch: str, attack: InnerMax | None = None, noise: float | None = None, **hp: Any) -> Setup:
    """LCAT sec. 4.1-4.7: ResNet-18 on MNIST / CIFAR-10, noise 0.8 (MNIST) or 20/255, lambda 15.

    The paper states neither optimiser, schedule, epochs nor batch size: we use the common
    ResNet-18 schedule (SGD momentum 0.9, lr 0.1 (0.01 on MNIST), wd 5e-4, batch 128,
    100 epochs, lr / 10 at 50 and 75) and keep the last epoch. Augmentation is stated only for
    Tiny-ImageNet: crop_flip on CIFAR-10 (our choice, with that schedule), none on MNIST.
    """
    cifar = dataset != "mnist"
    schedule = (
        "optimiser, schedule, epochs and batch size not stated in the paper: SGD 0.9, "
        "wd 5e-4, batch 128, 100 epochs, lr / 10 at 50 and 75 (our choice)"
    )
    return Setup(
        dataset=dataset,
        arch=arch,
        source=f"{LCAT}, sec. 4.1, 4.2, 4.7 (Table 2)",
        optimizer="sgd",
        lr=0.01 if dataset == "mnist" else 0.1,
        momentum=0.9,
        weight_decay=5e-4,
        epochs=100,
        batch_size=128,
        lr_milestones=(50, 75),
        attack=attack,
        noise=noise,
        augmentation=CROP_FLIP if cifar else None,
        hyperparameters=hp,
        selection="last",
        notes=(schedule, LCAT_AUGMENTATION) if cifar else (schedule,),
    )
