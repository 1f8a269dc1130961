"""Attacks by name: adapters to torchattacks, the CW-margin PGD, and adaptive attacks on heads.

Every attack the evaluation runs is described by an :class:`AttackSpec` (a name, a kind from
:data:`ATTACKS`, its parameters, a category for the masking diagnostics, and which *view* of the
model it is crafted on) and built into a ``torchattacks.Attack`` on demand, so a suite is plain
data that can be written to the result JSON as provenance.

Written by hand, because no library provides them:

* :func:`cw_margin_loss` and :class:`MarginPGD`: torchattacks' ``PGD`` hard-codes cross-entropy
  and its ``CW`` is the L2 optimisation attack, so "PGD on the CW loss with kappa = 50"
  (LMA-AT sec. 5.2) has no library counterpart.
* the model *views* used by adaptive attacks (:func:`model_view`): the pre-head logits, the head
  replaced by tanh (Kanai et al. sec. 5.2), S-Tanh crafted with s = 1 (LCAT eq. 7).

Everything else (FGSM, PGD, MIM, CW-L2, SPSA, Square, APGD, APGD-T, restarts) is torchattacks,
and AutoAttack's four components (plus APGD-DLR, used by escalation) are pyautoattack's own
objects, each wrapped as one torchattacks-style :class:`AutoAttackComponent`, so every attack the
evaluation runs goes through one interface and one helper, :func:`run_attack`.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field
from typing import Any, Callable

import torch
import torch.nn as nn
import torchattacks
from torchattacks.attack import Attack

from robustbench_logits.errors import UserError

__all__ = [
    "ATTACKS",
    "AUTOATTACK_SETTINGS",
    "CATEGORIES",
    "PRESETS",
    "VIEWS",
    "AttackSpec",
    "AutoAttackComponent",
    "MarginPGD",
    "PassCounter",
    "adaptive_attacks",
    "attack_parameters",
    "cw_margin_loss",
    "has_logit_head",
    "model_view",
    "preset",
    "project_to_threat_model",
    "run_attack",
]

#: Categories the masking diagnostics compare (evaluate.py runs them in this order).
CATEGORIES = ("autoattack", "white_box", "long", "single_step", "black_box", "transfer", "user", "adaptive",
              "escalation")


# --- the CW margin loss and PGD on it -------------------------------------------------------


def cw_margin_loss(logits: torch.Tensor, labels: torch.Tensor, kappa: float = 50.0) -> torch.Tensor:
    """Per-example CW loss to *maximise*: ``min(max_{i != y} z_i - z_y, kappa)``.

    Carlini & Wagner (2017) objective f6, ``f(x') = max(z_y - max_{i != y} z_i, -kappa)``, which the
    attacker minimises; we return ``-f`` so that PGD ascends it. LMA-AT (sec. 5.2) evaluates
    "PGD optimized with CW loss, confidence level K = 50". Shape (N, C), (N) -> (N).
    """
    true_logit = logits.gather(1, labels[:, None]).squeeze(1)
    others = logits.masked_fill(nn.functional.one_hot(labels, logits.shape[1]).bool(), float("-inf"))
    return torch.clamp(others.amax(dim=1) - true_logit, max=kappa)


class MarginPGD(Attack):
    """L-inf PGD (Madry et al. 2018) ascending :func:`cw_margin_loss` — LMA-AT sec. 5.2's "CW" attack.

    Hand-written because torchattacks' PGD fixes the loss to cross-entropy. Same update as
    torchattacks.PGD: ``x <- clip_[0,1](Proj_eps(x + alpha * sign(grad)))``, uniform random start.
    """

    def __init__(self, model: nn.Module, eps: float = 8 / 255, alpha: float = 1 / 255, steps: int = 20,
                 kappa: float = 50.0, random_start: bool = True) -> None:
        super().__init__("MarginPGD", model)
        self.eps, self.alpha, self.steps, self.kappa, self.random_start = eps, alpha, steps, kappa, random_start

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:  # noqa: D102 - torchattacks hook
        images = images.clone().detach().to(self.device)
        labels = labels.clone().detach().to(self.device)
        adv = images.clone()
        if self.random_start:
            adv = torch.clamp(adv + torch.empty_like(adv).uniform_(-self.eps, self.eps), 0, 1)
        for _ in range(self.steps):
            adv.requires_grad_(True)
            loss = cw_margin_loss(self.get_logits(adv), labels, self.kappa).sum()
            grad = torch.autograd.grad(loss, adv)[0]
            adv = adv.detach() + self.alpha * grad.sign()
            adv = torch.clamp(images + torch.clamp(adv - images, -self.eps, self.eps), 0, 1).detach()
        return adv


# --- the registry: kind -> builder ------------------------------------------------------------


def _linf_only(kind: str, norm: str) -> None:
    if norm != "Linf":
        raise UserError(f"attack {kind!r} is L-inf only; drop it from the suite or use threat_model='Linf'")


def _pgd(model: nn.Module, eps: float, norm: str, steps: int = 40, alpha: float | None = None,
         restarts: int = 1, random_start: bool = True) -> Attack:
    alpha = 2.5 * eps / steps if alpha is None else alpha  # Madry et al.'s rule when not given
    cls = torchattacks.PGD if norm == "Linf" else torchattacks.PGDL2
    one = cls(model, eps=eps, alpha=alpha, steps=steps, random_start=random_start)
    # Restarts: torchattacks' MultiAttack re-runs the attack on the examples still robust.
    return one if restarts <= 1 else torchattacks.MultiAttack([one] * restarts)


def _fgsm(model: nn.Module, eps: float, norm: str) -> Attack:
    _linf_only("fgsm", norm)
    return torchattacks.FGSM(model, eps=eps)


def _mim(model: nn.Module, eps: float, norm: str, steps: int = 40, alpha: float | None = None,
         decay: float = 1.0) -> Attack:
    _linf_only("mim", norm)
    return torchattacks.MIFGSM(model, eps=eps, alpha=eps / steps if alpha is None else alpha, steps=steps, decay=decay)


def _cw_margin_pgd(model: nn.Module, eps: float, norm: str, steps: int = 20, alpha: float | None = None,
                   kappa: float = 50.0, random_start: bool = True) -> Attack:
    _linf_only("cw_margin_pgd", norm)
    alpha = 2.5 * eps / steps if alpha is None else alpha
    return MarginPGD(model, eps=eps, alpha=alpha, steps=steps, kappa=kappa, random_start=random_start)


def _cw_l2(model: nn.Module, eps: float, norm: str, c: float = 1.0, kappa: float = 0.0, steps: int = 100,
           lr: float = 0.01) -> Attack:
    # CW-L2 minimises the perturbation with no budget; evaluate.py projects its output onto the
    # threat model's eps-ball before scoring, so only in-budget successes count.
    return torchattacks.CW(model, c=c, kappa=kappa, steps=steps, lr=lr)


def _spsa(model: nn.Module, eps: float, norm: str, delta: float = 0.01, lr: float | None = None, nb_iter: int = 20,
          nb_sample: int = 128, max_batch_size: int = 64) -> Attack:
    _linf_only("spsa", norm)
    # Adam moves each pixel by about lr per iteration, so nb_iter * lr must exceed eps or SPSA cannot
    # reach the budget's edge (lr 0.01 x 20 iterations stops at 0.2 < 0.3 on MNIST). The papers' lr 0.01
    # (Uesato et al. 2018; Kanai; LMA-AT) is kept where it spans the ball twice, else raised to do so.
    lr = max(0.01, 2 * eps / nb_iter) if lr is None else lr
    return torchattacks.SPSA(model, eps=eps, delta=delta, lr=lr, nb_iter=nb_iter, nb_sample=nb_sample,
                             max_batch_size=max_batch_size)


def _square(model: nn.Module, eps: float, norm: str, n_queries: int = 5000, n_restarts: int = 1,
            p_init: float = 0.8, seed: int = 0) -> Attack:
    return torchattacks.Square(model, norm=norm, eps=eps, n_queries=n_queries, n_restarts=n_restarts,
                               p_init=p_init, loss="margin", seed=seed)


def _apgd(model: nn.Module, eps: float, norm: str, steps: int = 100, n_restarts: int = 1, loss: str = "ce",
          seed: int = 0) -> Attack:
    return torchattacks.APGD(model, norm=norm, eps=eps, steps=steps, n_restarts=n_restarts, loss=loss, seed=seed)


def _apgdt(model: nn.Module, eps: float, norm: str, steps: int = 100, n_restarts: int = 1, n_classes: int = 10,
           seed: int = 0) -> Attack:
    return torchattacks.APGDT(model, norm=norm, eps=eps, steps=steps, n_restarts=n_restarts, n_classes=n_classes,
                              seed=seed)


# --- AutoAttack's components, one attack each --------------------------------------------------

#: component -> the settings AutoAttack ``version="standard"`` gives it for L-inf and L2
#: (Croce & Hein 2020; read from pyautoattack's ``_set_version``). ``apgd-dlr`` is not in the
#: standard version; escalation uses it (it is in ``version="plus"``).
AUTOATTACK_SETTINGS: dict[str, dict[str, Any]] = {
    "apgd-ce": {"n_iter": 100, "n_restarts": 1, "rho": 0.75, "eot_iter": 1},
    "apgd-dlr": {"n_iter": 100, "n_restarts": 1, "rho": 0.75, "eot_iter": 1},
    "apgd-t": {"n_iter": 100, "n_restarts": 1, "rho": 0.75, "eot_iter": 1, "n_target_classes": 9},
    "fab-t": {"n_iter": 100, "n_restarts": 1, "n_target_classes": 9, "alpha_max": 0.1, "eta": 1.05, "beta": 0.9},
    "square": {"n_queries": 5000, "n_restarts": 1, "p_init": 0.8, "loss": "margin", "resc_schedule": False},
}

# pyautoattack logs its checks (ending "See flags_doc.md for details", a file nobody ships) to the
# logger it is given. Ours drops them: the evaluation's own indicators replace each check
# (docs/evaluation.md, "AutoAttack's messages").
_SILENT = logging.getLogger("robustbench_logits.attacks.pyautoattack")
_SILENT.addHandler(logging.NullHandler())
_SILENT.propagate = False
_SILENT.setLevel(logging.CRITICAL + 1)  # not even created: a handler on the root (pytest's, an app's) sees nothing


class AutoAttackComponent(Attack):
    """One pyautoattack component as a torchattacks ``Attack``: ``attack(x, y) -> x_adv``.

    ``component`` is a key of :data:`AUTOATTACK_SETTINGS`; ``settings`` override its standard
    values (escalation asks for more iterations, restarts, queries or EOT samples). pyautoattack
    re-seeds torch with ``seed`` at every ``perturb``, as AutoAttack does before each attack.
    """

    def __init__(self, model: nn.Module, component: str, eps: float, norm: str = "Linf", seed: int = 0,
                 **settings: Any) -> None:
        if component not in AUTOATTACK_SETTINGS:
            raise UserError(f"unknown AutoAttack component {component!r}: choose one of {', '.join(AUTOATTACK_SETTINGS)}")
        unknown = set(settings) - set(AUTOATTACK_SETTINGS[component])
        if unknown:
            raise UserError(f"AutoAttack's {component} has no setting {', '.join(sorted(unknown))}: "
                            f"use {', '.join(AUTOATTACK_SETTINGS[component])}")
        super().__init__(f"AutoAttack/{component}", model)
        self.component, self.eps, self.norm, self.seed = component, eps, norm, seed
        self.settings = {**AUTOATTACK_SETTINGS[component], **settings}

    def _build(self) -> Any:
        from pyautoattack.autopgd_base import APGDAttack, APGDAttack_targeted
        from pyautoattack.fab_pt import FABAttack_PT
        from pyautoattack.square import SquareAttack

        device = self.device or torch.device("cpu")
        common = {"norm": self.norm, "eps": self.eps, "seed": self.seed, "device": device}
        s = self.settings
        if self.component in ("apgd-ce", "apgd-dlr"):
            return APGDAttack(self.get_logits, loss=self.component.split("-")[1], logger=_SILENT, **common, **s)
        if self.component == "apgd-t":
            return APGDAttack_targeted(self.get_logits, logger=_SILENT, **common, **s)
        if self.component == "fab-t":
            return FABAttack_PT(self.get_logits, targeted=True, **common, **s)
        return SquareAttack(self.get_logits, **common, **s)

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:  # noqa: D102 - torchattacks hook
        return self._build().perturb(images.clone().detach().to(self.device), labels.clone().detach().to(self.device))

    def parameters_run(self) -> dict[str, Any]:
        """The settings pyautoattack runs with, read back from its object (not assumed)."""
        built = self._build()
        names = {"n_iter", "n_restarts", "eot_iter", "n_target_classes", "alpha_max", "eta", "beta", "n_queries",
                 "p_init", "loss", "norm", "eps", "seed"}
        read = {k: v for k, v in vars(built).items() if k in names and isinstance(v, (int, float, str, bool))}
        if hasattr(built, "thr_decr"):
            read["rho"] = built.thr_decr
        if hasattr(built, "rescale_schedule"):
            read["resc_schedule"] = built.rescale_schedule
        return {"component": self.component, **read}


def _autoattack(component: str) -> Callable[..., Attack]:
    def build(model: nn.Module, eps: float, norm: str, seed: int = 0, **settings: Any) -> Attack:
        return AutoAttackComponent(model, component, eps, norm, seed=seed, **settings)

    build.__name__ = f"_autoattack_{component.replace('-', '_')}"
    return build


#: kind -> (builder(model, eps, norm, **params) -> Attack, default category)
ATTACKS: dict[str, tuple[Callable[..., Attack], str]] = {
    "fgsm": (_fgsm, "single_step"),
    "pgd": (_pgd, "white_box"),
    "mim": (_mim, "white_box"),
    "cw_margin_pgd": (_cw_margin_pgd, "white_box"),
    "cw_l2": (_cw_l2, "white_box"),
    "apgd": (_apgd, "white_box"),
    "apgd_t": (_apgdt, "white_box"),
    "spsa": (_spsa, "black_box"),
    "square": (_square, "black_box"),
    "aa_apgd_ce": (_autoattack("apgd-ce"), "white_box"),
    "aa_apgd_dlr": (_autoattack("apgd-dlr"), "white_box"),
    "aa_apgd_t": (_autoattack("apgd-t"), "white_box"),
    "aa_fab_t": (_autoattack("fab-t"), "white_box"),
    "aa_square": (_autoattack("square"), "black_box"),
}


# --- model views for adaptive attacks ---------------------------------------------------------


def has_logit_head(model: nn.Module) -> bool:
    """True if ``model`` is a LogitHeadModel-like wrapper (``head``, ``forward_logits``, ``with_head``)."""
    return all(hasattr(model, name) for name in ("head", "forward_logits", "with_head"))


class _PreHeadLogits(nn.Module):
    """The model with its head stripped: ``x -> model.forward_logits(x)`` (the logits z)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.forward_logits(x)


def _tanh_head_view(model: nn.Module) -> nn.Module:
    """Kanai et al. sec. 5.2: craft on a copy whose bounded head is replaced by tanh."""
    from robustbench_logits.heads import TanhHead

    # The paper does not say whether BLF's gamma carries over; we keep the head's scale
    # (gamma * tanh(z) for gamma * g(z)), so the replaced head has the same range.
    gamma = getattr(model.head, "gamma", 1.0)
    return model.with_head(TanhHead(gamma=float(gamma)))


def _stanh_s1_view(model: nn.Module) -> nn.Module:
    """LCAT eq. 7 with s = 1 (the training-time form tanh(z)) on a copy of the model's S-Tanh head."""
    head = copy.deepcopy(model.head)
    head.s = 1.0
    return model.with_head(head)


#: view name -> function(model) -> nn.Module the attack is crafted on. Examples are always scored on
#: the real model.
VIEWS: dict[str, Callable[[nn.Module], nn.Module]] = {
    "model": lambda model: model,
    "prehead": _PreHeadLogits,
    "tanh_head": _tanh_head_view,
    "stanh_s1": _stanh_s1_view,
}


def model_view(model: nn.Module, view: str) -> nn.Module:
    """The module an attack is crafted on: the model itself, or an adaptive view of its head."""
    if view not in VIEWS:
        raise UserError(f"unknown model view {view!r}: choose one of {', '.join(VIEWS)}")
    if view != "model" and not has_logit_head(model):
        raise UserError(f"view {view!r} needs a LogitHeadModel (a model with .head and .forward_logits)")
    return VIEWS[view](model).eval()


def attack_parameters(attack: Attack) -> dict[str, Any]:
    """The scalar settings a built torchattacks attack actually runs with (provenance).

    Resolved values, e.g. PGD's ``alpha`` when the spec left it to the default rule. For a
    ``MultiAttack`` (restarts): the first attack's settings plus ``restarts``.
    """
    if isinstance(attack, torchattacks.MultiAttack):
        return {**attack_parameters(attack.attacks[0]), "restarts": len(attack.attacks)}
    if isinstance(attack, AutoAttackComponent):
        return attack.parameters_run()
    return {k: v for k, v in vars(attack).items() if isinstance(v, (int, float, str, bool)) and not k.startswith("_")}


# --- the spec -----------------------------------------------------------------------------------


@dataclass
class AttackSpec:
    """One attack in a suite: ``kind`` from :data:`ATTACKS` with ``params``, or a user's instance.

    ``category`` drives the indicators; ``view`` says which module the attack is crafted on
    (:data:`VIEWS`); ``surrogate`` (a module) crafts it there instead (a transfer attack, or a
    straight-through / log-probability copy of the model during escalation). ``seed_rule``:
    ``"derived"`` seeds each (attack, chunk) on its own; ``"base"`` gives the attack the
    evaluation's base seed, as AutoAttack re-seeds each of its attacks with its one seed (this
    keeps our AutoAttack numbers identical to RobustBench's).
    """

    name: str
    kind: str
    params: dict[str, Any] = field(default_factory=dict)
    category: str | None = None
    view: str = "model"
    surrogate: nn.Module | None = field(default=None, repr=False)
    surrogate_name: str | None = None
    instance: Attack | None = field(default=None, repr=False)
    seed_rule: str = "derived"

    def __post_init__(self) -> None:
        if self.instance is None and self.kind not in ATTACKS:
            raise UserError(f"unknown attack {self.kind!r}: choose one of {', '.join(ATTACKS)} or pass a torchattacks.Attack")
        if self.category is None:
            self.category = "transfer" if self.surrogate is not None else (
                "user" if self.instance is not None else ATTACKS[self.kind][1])
        if self.category not in CATEGORIES:
            raise UserError(f"unknown category {self.category!r}: choose one of {', '.join(CATEGORIES)}")

    @classmethod
    def from_instance(cls, attack: Attack, name: str | None = None) -> "AttackSpec":
        """Wrap any ``torchattacks.Attack``; it runs as built (on the model it was built with)."""
        if not isinstance(attack, Attack):
            raise UserError(f"extra attacks must be torchattacks.Attack instances, got {type(attack).__name__}")
        return cls(name=name or attack.attack, kind=type(attack).__name__, params=attack_parameters(attack),
                   instance=attack)

    def build(self, model: nn.Module, eps: float, norm: str, seed: int | None = None,
              counter: "PassCounter | None" = None) -> Attack:
        """The torchattacks attack, crafted on ``surrogate`` or on :func:`model_view` of ``model``.

        ``seed``: for attacks that reset torch's RNG themselves (torchattacks' APGD, APGD-T and
        Square call ``manual_seed(self.seed)``, default 0), the seed they reset to, unless
        ``params`` fixes one. Without it a caller's seed would be silently ignored by them.
        ``counter``: counts the forward/backward passes the attack makes (escalation's cost).
        """
        if self.instance is not None:
            return self.instance
        target = self.surrogate.eval() if self.surrogate is not None else model_view(model, self.view)
        if counter is not None:
            target = counter.wrap(target)
        builder, _ = ATTACKS[self.kind]
        try:
            attack = builder(target, eps, norm, **self.params)
        except TypeError as error:
            raise UserError(f"bad parameters for attack {self.name!r} ({self.kind}): {error}") from None
        if seed is not None and "seed" not in self.params and hasattr(attack, "seed"):
            attack.seed = seed
        return attack

    def describe(self) -> dict[str, Any]:
        """JSON-ready provenance: name, kind, category, view, surrogate and parameters."""
        return {"name": self.name, "kind": self.kind, "category": self.category, "view": self.view,
                "surrogate": self.surrogate_name, "params": dict(self.params), "seed_rule": self.seed_rule}


def adaptive_attacks(model: nn.Module, steps: int = 40, alpha: float | None = None) -> list[AttackSpec]:
    """Adaptive attacks for a model carrying a bounded logit head (examples scored on the real model).

    * ``prehead-pgd``: PGD-CE on the pre-head logits z, head stripped (a bounded head's derivative
      can vanish, e.g. S-Tanh with s = 100, LCAT eq. 7).
    * ``tanh-pgd``: PGD-CE with the head replaced by tanh (Kanai et al. sec. 5.2, Fig. 5); for an
      S-Tanh head ``stanh-s1-pgd`` instead, S-Tanh crafted with s = 1, which is the same function.
    * ``prehead-apgd-dlr``: APGD on the DLR loss of z (Croce & Hein 2020), invariant to the
      logits' scale and shift, so large pre-head logits that saturate the softmax cannot mask it.
    """
    if not has_logit_head(model):
        return []
    from robustbench_logits.heads import ScaledTanh

    pgd = {"steps": steps, "alpha": alpha}
    specs = [AttackSpec("adaptive/prehead-pgd", "pgd", pgd, "adaptive", view="prehead")]
    if isinstance(model.head, ScaledTanh):
        specs.append(AttackSpec("adaptive/stanh-s1-pgd", "pgd", pgd, "adaptive", view="stanh_s1"))
    else:
        specs.append(AttackSpec("adaptive/tanh-pgd", "pgd", pgd, "adaptive", view="tanh_head"))
    specs.append(AttackSpec("adaptive/prehead-apgd-dlr", "apgd", {"steps": 100, "loss": "dlr"}, "adaptive",
                            view="prehead"))
    return specs


# --- running an attack: one helper for the cascade, probes, escalation and eps sweeps ----------------


class PassCounter:
    """Counts example passes through the modules it wraps: a forward of a batch of 250 is 250
    forward passes, a backward through that batch's output is 250 backward passes.

    Counted at the output of the module an attack is crafted on, so it works for any model and any
    attack library (pyautoattack, torchattacks, ours) without their cooperation.
    """

    def __init__(self) -> None:
        self.forward = 0
        self.backward = 0

    def wrap(self, module: nn.Module) -> nn.Module:
        """``module`` behind a counting front (eval mode, so torchattacks restores eval afterwards)."""
        return _Counted(module, self).eval()

    def as_dict(self) -> dict[str, int]:
        """JSON-ready totals."""
        return {"forward": self.forward, "backward": self.backward}


class _Counted(nn.Module):
    def __init__(self, module: nn.Module, counter: PassCounter) -> None:
        super().__init__()
        self.module = module
        self._counter = counter

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.module(x)
        n = int(x.shape[0])
        self._counter.forward += n
        if out.requires_grad:
            def count_backward(grad: torch.Tensor) -> torch.Tensor:
                self._counter.backward += n
                return grad

            out.register_hook(count_backward)
        return out


def run_attack(spec: AttackSpec, model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float, norm: str,
               seed: int, counter: PassCounter | None = None) -> torch.Tensor:
    """Adversarial examples for ``(x, y)`` from ``spec``, projected onto the threat model.

    Seeds torch with ``seed`` and gives it to attacks that re-seed themselves; puts ``model`` back
    in eval mode afterwards (torchattacks restores the mode it found on the module it holds).
    """
    torch.manual_seed(seed)
    attack = spec.build(model, eps, norm, seed=seed, counter=counter)
    x_adv = attack(x, y)
    model.eval()
    return project_to_threat_model(x_adv.to(x.device).detach(), x, eps, norm)


# --- presets: the papers' evaluation settings -----------------------------------------------------

#: name -> (spec, the eps the paper used, source). Heavy settings live only here, never in defaults.
PRESETS: dict[str, tuple[AttackSpec, float, str]] = {
    "summers-pgd1000": (AttackSpec("pgd-1000", "pgd", {"steps": 1000, "alpha": 0.0078}), 0.03,
                        "Summers & Dinneen sec. 5 / Table 6: CIFAR-10, eps .03, step .0078, 1000 steps"),
    "summers-spsa": (AttackSpec("spsa-uesato", "spsa", {"delta": 0.01, "lr": 0.01, "nb_iter": 100, "nb_sample": 8192}),
                     0.03, "Summers & Dinneen Table 6 defer to Uesato et al. 2018; our reading of its settings"),
    "kanai-pgd-mnist": (AttackSpec("pgd-40", "pgd", {"steps": 40, "alpha": 0.01}), 0.3,
                        "Kanai et al. sec. 5.1: MNIST, 40 iterations, step 0.01"),
    "kanai-pgd-cifar10": (AttackSpec("pgd-100", "pgd", {"steps": 100, "alpha": 2 / 255}), 8 / 255,
                          "Kanai et al. sec. 5.1: CIFAR-10, 100 iterations, step 2/255"),
    "kanai-spsa-mnist": (AttackSpec("spsa-kanai", "spsa", {"delta": 0.01, "lr": 0.01, "nb_iter": 40, "nb_sample": 2048}),
                         0.15, "Kanai et al. sec. 5.3 / Table 1: MNIST eps .15, delta .01, lr .01, 40 it, 2048"),
    "kanai-spsa-cifar10": (AttackSpec("spsa-kanai", "spsa", {"delta": 0.01, "lr": 0.01, "nb_iter": 10, "nb_sample": 2048}),
                           8 / 255, "Kanai et al. sec. 5.3 / Table 1: CIFAR-10 eps 8/255, 10 iterations"),
    "kanai-square": (AttackSpec("square-5000", "square", {"n_queries": 5000}), 0.15,
                     "Kanai et al. sec. 5.3: Square Attack, 5000 queries"),
    "lma-pgd20": (AttackSpec("pgd-20", "pgd", {"steps": 20, "alpha": 1 / 255}), 8 / 255,
                  "LMA-AT sec. 5.2: eps 8/255, step 1/255"),
    "lma-pgd100": (AttackSpec("pgd-100", "pgd", {"steps": 100, "alpha": 1 / 255}), 8 / 255,
                   "LMA-AT sec. 5.2: eps 8/255, step 1/255"),
    "lma-cw": (AttackSpec("cw50-pgd-20", "cw_margin_pgd", {"steps": 20, "alpha": 1 / 255, "kappa": 50.0}), 8 / 255,
               "LMA-AT sec. 5.2: PGD on the CW loss, K = 50 (20 steps: our reading, the paper gives none)"),
    "lma-spsa": (AttackSpec("spsa-lma", "spsa", {"delta": 0.001, "lr": 0.01, "nb_iter": 20, "nb_sample": 100}),
                 8 / 255, "LMA-AT sec. 5.2: delta .001, 100 samples, 20 iterations, lr .01"),
    "pclc-spsa": (AttackSpec("spsa-pclc", "spsa", {"delta": 0.01, "lr": 0.01, "nb_iter": 60, "nb_sample": 128}),
                  0.3, "Li et al. (PC-LC) black-box: lr .01, delta .01 (iterations/samples: our choice; 60 x .01 spans "
                       "eps .3 twice)"),
}


def preset(name: str) -> AttackSpec:
    """A copy of a preset attack (:data:`PRESETS`); its eps is the suite's, see ``PRESETS[name][1]``."""
    if name not in PRESETS:
        raise UserError(f"unknown attack preset {name!r}: choose one of {', '.join(PRESETS)}")
    return copy.deepcopy(PRESETS[name][0])


# --- the threat model -------------------------------------------------------------------------------


def project_to_threat_model(x_adv: torch.Tensor, x: torch.Tensor, eps: float, norm: str) -> torch.Tensor:
    """Project ``x_adv`` onto ``{x' in [0,1]^d : ||x' - x||_norm <= eps}`` (L-inf exactly; L2 by
    rescaling then clipping, which can only shrink the norm).

    Applied to every attack's output before scoring, so an unbounded (CW-L2) or buggy attack
    cannot count a success outside the threat model. Points already inside are returned
    bitwise unchanged: recomputing ``x + (x_adv - x)`` in float32 can move a point by one ulp,
    enough to flip a prediction that an attack (FAB) left right at the decision boundary, and
    then our verdict would differ from AutoAttack's on the same adversarial example. NaN
    coordinates (a broken attack) are reset to the clean value rather than scored.
    """
    x_adv = torch.where(torch.isnan(x_adv), x, x_adv)
    delta = x_adv - x
    in_range = (x_adv >= 0) & (x_adv <= 1)
    if norm == "Linf":
        inside = in_range & (delta.abs() <= eps)  # per coordinate: the L-inf ball is a box
        projected = (x + delta.clamp(-eps, eps)).clamp(0.0, 1.0)
    elif norm == "L2":
        norms = delta.flatten(1).norm(dim=1)
        shape = (-1, *([1] * (x.dim() - 1)))
        inside = in_range.flatten(1).all(dim=1).view(shape) & (norms <= eps).view(shape)
        scale = torch.clamp(eps / norms.clamp_min(1e-12), max=1.0).view(shape)
        projected = (x + delta * scale).clamp(0.0, 1.0)
    else:
        raise UserError(f"unknown threat model {norm!r}: use 'Linf' or 'L2'")
    return torch.where(inside, x_adv, projected)
