"""What an evaluation runs: AutoAttack's components, the torchattacks suite, thresholds, default eps."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from torchattacks.attack import Attack

from robustbench_logits.attacks import CATEGORIES, AttackSpec
from robustbench_logits.errors import UserError

__all__ = ["AUTOATTACK_STANDARD", "DEFAULT_EPS", "DiagnosticThresholds", "EvaluationSuite", "autoattack_specs"]

#: AutoAttack version="standard" for Linf/L2, in pyautoattack's order (Croce & Hein 2020).
AUTOATTACK_STANDARD = ("apgd-ce", "apgd-t", "fab-t", "square")
#: Target classes of APGD-T and FAB-T in version="standard" (L-inf and L2).
AUTOATTACK_TARGET_CLASSES = 9

#: eps RobustBench and the papers use when none is given.
DEFAULT_EPS = {
    ("mnist", "Linf"): 0.3, ("fashion_mnist", "Linf"): 0.1, ("cifar10", "Linf"): 8 / 255,
    ("cifar100", "Linf"): 8 / 255, ("cifar10", "L2"): 0.5, ("cifar100", "L2"): 0.5,
    ("mnist", "L2"): 2.0, ("fashion_mnist", "L2"): 1.5,
}


@dataclass
class DiagnosticThresholds:
    """When each indicator fires (docs/evaluation.md, "Indicator catalogue").

    ``alpha``: level of the exact tests (McNemar on discordant examples; the sign test that
    decides whether an escalation round broke more than sampling noise allows; the binomial test
    that a share is above its threshold share, for the ``*_share`` / ``large_eps_max_acc`` rules).
    ``zero_grad_share``: share of clean-correct examples with an exactly zero input gradient.
    ``large_eps`` / ``large_eps_max_acc`` / ``large_eps_steps``: PGD at this eps (None: 1.0 L-inf,
    the [0,1]-cube's diameter for L2) must bring accuracy to at most this share.
    ``unstable_share``: share of clean-correct examples whose prediction flips under uniform noise
    of ``noise_scale`` x eps (``noise_draws`` draws). ``incomplete_share``: share of examples the
    trace probe leaves robust whose best loss still rose by more than ``incomplete_rise`` (relative)
    in its last ``incomplete_tail`` steps of ``trace_steps``.
    """

    alpha: float = 0.05
    zero_grad_share: float = 0.01
    large_eps: float | None = None
    large_eps_max_acc: float = 0.05
    large_eps_steps: int = 40
    noise_scale: float = 0.1
    noise_draws: int = 8
    unstable_share: float = 0.05
    trace_steps: int = 50
    incomplete_tail: int = 10
    incomplete_rise: float = 0.05
    incomplete_share: float = 0.1
    batch_probe_examples: int = 16
    batch_tolerance: float = 1e-4


def autoattack_specs(overrides: dict[str, dict[str, Any]] | None = None) -> list[AttackSpec]:
    """AutoAttack standard as four registry entries, each seeded with the base seed (as AutoAttack is).

    ``overrides``: component -> settings replacing the standard ones (tests shorten them; the
    result records the settings read back from pyautoattack, so such a run cannot pass as standard).
    """
    overrides = overrides or {}
    unknown = set(overrides) - set(AUTOATTACK_STANDARD)
    if unknown:
        raise UserError(f"autoattack_overrides names {', '.join(sorted(unknown))}: use {', '.join(AUTOATTACK_STANDARD)}")
    return [AttackSpec(f"autoattack/{name}", "aa_" + name.replace("-", "_"), dict(overrides.get(name, {})),
                       category="black_box" if name == "square" else "white_box", seed_rule="base")
            for name in AUTOATTACK_STANDARD]


@dataclass
class EvaluationSuite:
    """What :func:`benchmark` runs: AutoAttack or not, the attack specs, adaptive attacks, thresholds."""

    name: str
    attacks: list[AttackSpec] = field(default_factory=list)
    autoattack: bool = True
    adaptive: bool = True
    adaptive_steps: int = 40
    thresholds: DiagnosticThresholds = field(default_factory=DiagnosticThresholds)
    autoattack_overrides: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def standard(cls) -> "EvaluationSuite":
        """RobustBench's protocol: AutoAttack standard; adaptive attacks and probes when they apply."""
        return cls("standard")

    @classmethod
    def full(cls, threat_model: str = "Linf") -> "EvaluationSuite":
        """AutoAttack plus the torchattacks suite at CPU-friendly settings (papers' ones: attacks.PRESETS)."""
        if threat_model == "Linf":
            attacks = [
                AttackSpec("pgd-40", "pgd", {"steps": 40}),
                AttackSpec("mim-40", "mim", {"steps": 40}),
                AttackSpec("cw50-pgd-40", "cw_margin_pgd", {"steps": 40, "kappa": 50.0}),
                AttackSpec("pgd-200x2", "pgd", {"steps": 200, "restarts": 2}, category="long"),
                AttackSpec("fgsm", "fgsm"),
                AttackSpec("spsa", "spsa", {"nb_iter": 20, "nb_sample": 128}),
            ]
        else:
            attacks = [
                AttackSpec("pgd-40", "pgd", {"steps": 40}),
                AttackSpec("cw-l2", "cw_l2", {"steps": 100}),
                AttackSpec("pgd-200x2", "pgd", {"steps": 200, "restarts": 2}, category="long"),
                AttackSpec("fgm", "pgd", {"steps": 1, "random_start": False}, category="single_step"),
            ]
        # No torchattacks APGD-T: AutoAttack's APGD-T (100 iterations, every other class a target) already runs
        # first in the cascade; a second one on its survivors was a restart costing 12 % of the suite.
        return cls("full", attacks)

    def add(self, attack: Attack | AttackSpec, name: str | None = None) -> "EvaluationSuite":
        """Append an attack (any ``torchattacks.Attack`` instance, or a spec); returns self."""
        spec = attack if isinstance(attack, AttackSpec) else AttackSpec.from_instance(attack, name)
        if any(s.name == spec.name for s in self.attacks):
            raise UserError(f"the suite already has an attack named {spec.name!r}; pass another name")
        self.attacks.append(spec)
        return self

    def ordered(self) -> list[AttackSpec]:
        """The suite's own attacks in cascade order (by category, then as given); AutoAttack's come first."""
        return sorted(self.attacks, key=lambda s: CATEGORIES.index(s.category))

    def cascade(self) -> list[AttackSpec]:
        """Every attack of the cascade: AutoAttack's four (when on), then :meth:`ordered`."""
        return (autoattack_specs(self.autoattack_overrides) if self.autoattack else []) + self.ordered()
