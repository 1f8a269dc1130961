"""The indicator catalogue: what each indicator measures per example, when it fires, its source,
what escalation does about it, and how severe it is afterwards.

Two severities (docs/evaluation.md, "Indicator catalogue"):

* ``note``: one attack family beat another, but the worst case already includes the stronger one
  and escalation converged.
* ``unreliable``: evidence that the reported number still overestimates robustness (escalation
  off or not converged, an unconstrained attack still fails, gradients are unavailable and nothing
  replaced them, the result depends on batching or does not re-score). A worst case of 0 robust
  examples cannot overestimate: there only the last two stay ``unreliable``.

A share threshold (zero gradients 1 %, unstable predictions 5 %, incomplete optimisation 10 %,
large-eps accuracy 5 %) fires when the measured share is significantly above it: the exact
one-sided binomial test at ``alpha`` (:func:`.statistics.share_exceeds_p`), so a single example
of a 16-example run does not start an escalation round, and at n = 1000 the 5 % rules fire from
63 examples on instead of 51.

Comparisons of two attacks use the exact McNemar test on their discordant examples
(:func:`.statistics.discordance_p`). In the cascade a later attack runs only on the examples the
earlier ones left robust, so the other direction ``c`` is unobserved and taken as 0 (the sign test);
the adaptive cascade and the noise probe run on every clean-correct example, so there ``c`` is observed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from robustbench_logits.attacks import AttackSpec
from robustbench_logits.evaluation.statistics import discordance_p, share_exceeds_p
from robustbench_logits.evaluation.suite import DiagnosticThresholds

__all__ = ["CATALOGUE", "SHARE_RULE", "Indicator", "Meaning", "compute_indicators", "grade"]


#: How a share threshold decides (written into every result's provenance; records before it used "share > threshold").
SHARE_RULE = "share significantly above the threshold: exact one-sided binomial test at alpha"


@dataclass(frozen=True)
class Meaning:
    """A catalogue entry: the per-example statistic, the threshold, the source, the remedy."""

    statistic: str
    threshold: str
    source: str
    meaning: str
    escalate: tuple[str, ...] = ()  # escalation families aimed at it (escalation.LADDERS)
    always_unreliable: bool = False


_PINTOR = "Pintor et al., Indicators of Attack Failure, NeurIPS 2022"
_CARLINI = "Carlini et al., On Evaluating Adversarial Robustness, 2019"

#: name -> meaning. docs/evaluation.md has one section per entry.
CATALOGUE: dict[str, Meaning] = {
    "zero_gradients": Meaning(
        "clean-correct examples whose CE input gradient is exactly zero", "share of n above zero_grad_share (1 %): exact one-sided binomial test p < alpha",
        f"{_PINTOR} (unavailable gradients); AutoAttack check_zero_gradients",
        "gradient-based attacks have nothing to follow", ("straight_through", "black_box")),
    "unstable_predictions": Meaning(
        "clean-correct examples whose prediction flips under uniform noise of 0.1 eps (8 draws)",
        "share of n above unstable_share (5 %): exact one-sided binomial test p < alpha", f"{_PINTOR} (unstable predictions); {_CARLINI} sec. 4.6",
        "the loss surface is noisy or shattered: single gradients mislead", ("eot", "straight_through")),
    "silent_success": Meaning(
        "examples every attack left robust but an iterate of the trace PGD was adversarial while its returned point was not",
        "exact sign test p < alpha (0.05)", f"{_PINTOR} (silent success)",
        "attacks lose adversarial points they passed; those iterates count in the worst case", ("white_box",)),
    "incomplete_optimisation": Meaning(
        "examples the trace PGD left robust whose best CE loss still rose by > 5 % in its last 10 of 50 steps",
        "share of those left robust above incomplete_share (10 %): exact one-sided binomial test p < alpha", f"{_PINTOR} (incomplete optimisation)",
        "more iterations would likely break more", ("white_box",)),
    "transfer_beats_white_box": Meaning(
        "examples a transfer attack (from a surrogate) broke that the white-box attacks left robust",
        "exact McNemar (sign) test p < alpha", f"{_PINTOR} (transfer failure); RobustBench Kang2021Stable",
        "the model's own gradients are worse than a surrogate's", ("transfer", "straight_through")),
    "large_eps_not_broken": Meaning(
        "clean-correct examples PGD cannot break at eps = 1 (L-inf; sqrt(d) L2), where every image is reachable",
        "accuracy above large_eps_max_acc (5 %): exact one-sided binomial test p < alpha", f"{_PINTOR} (unconstrained attack failure); {_CARLINI}; PC-LC",
        "the attack, not the model, is failing", ("straight_through", "eot", "log_probabilities")),
    "single_step_beats_iterative": Meaning(
        "examples FGSM broke that every iterative attack left robust", "exact McNemar (sign) test p < alpha",
        f"{_CARLINI} sec. 5.2; Athalye et al. 2018", "iterative attacks are stuck", ("white_box", "straight_through")),
    "more_iterations_still_lowering": Meaning(
        "examples a longer attack (more steps/restarts) broke that the shorter ones left robust",
        "exact McNemar (sign) test p < alpha", f"{_CARLINI} sec. 5.3; Summers & Dinneen Table 6",
        "accuracy has not converged in the attack budget", ("white_box",)),
    "black_box_beats_white_box": Meaning(
        "examples a black-box attack (Square, SPSA) broke that the white-box attacks left robust",
        "exact McNemar (sign) test p < alpha", f"{_CARLINI} sec. 5.2; AutoAttack check_square_sr; RobustBench Xiao2020",
        "gradients mislead where queries do not", ("black_box", "white_box", "straight_through")),
    "noise_beats_white_box": Meaning(
        "examples uniform noise at full eps broke that the attack cascade left robust (vs the reverse)",
        "exact McNemar test p < alpha", f"{_CARLINI} sec. 5.2", "random points beat optimised ones",
        ("eot", "black_box", "straight_through")),
    "adaptive_beats_standard": Meaning(
        "examples the head-aware adaptive attacks broke that the standard cascade left robust (vs the reverse)",
        "exact McNemar test p < alpha", "Tramer et al. 2020; Kanai et al. sec. 5.2",
        "the standard attacks are fooled by the head", ("adaptive", "straight_through")),
    "randomised_forward": Meaning(
        "examples whose logits differ between two forward passes (relative > 1e-5)", "any",
        "AutoAttack check_randomized; Athalye et al. 2018 (EOT)", "single-sample gradients are noisy", ("eot",)),
    "probabilities_output": Meaning(
        "examples whose outputs lie in [0, 1] and sum to 1", "share of n > 50 %",
        "AutoAttack check_range_output; Carlini & Wagner 2017", "the softmax saturates the attack's loss",
        ("log_probabilities",)),
    "batch_size_dependence": Meaning(
        "examples whose logits alone differ from their logits in the batch (relative > 1e-4)", "any",
        _CARLINI, "the verdict depends on how examples are batched", (), always_unreliable=True),
    "rescore_mismatch": Meaning(
        "examples whose worst case, re-scored by a fresh forward pass, disagrees with the recorded verdict", "any",
        _CARLINI, "a stateful or nondeterministic model, or a bug", (), always_unreliable=True),
    "escalation_not_converged": Meaning(
        "examples the last escalation round broke", "more than sampling noise allows (sign test) when the budget ran out",
        "this package", "stronger attacks were still lowering the accuracy", (), always_unreliable=True),
}


@dataclass
class Indicator:
    """One fired indicator with its evidence (the JSON record of docs/evaluation.md, "Result JSON")."""

    name: str
    statistic: float
    threshold: float
    examples: list[int]
    message: str
    p_value: float | None = None
    severity: str = "note"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def meaning(self) -> Meaning:
        return CATALOGUE[self.name]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: name, severity, statistic, threshold, p_value, examples, source, message."""
        record = asdict(self)
        record.pop("extra")
        return {**record, "source": self.meaning.source}


def _cascade_comparison(name: str, categories: set[str], before_categories: set[str], cascade: list[AttackSpec],
                        broken_by: list[int], alpha: float) -> Indicator | None:
    """Later attacks of ``categories`` vs the earlier ``before_categories`` ones, in the cascade (c unobserved: 0)."""
    before: list[str] = []
    examples: list[int] = []
    evidence: list[str] = []
    for position, spec in enumerate(cascade):
        if spec.category in before_categories:
            before.append(spec.name)
        elif spec.category in categories and before:
            hits = [i for i, b in enumerate(broken_by) if b == position]
            if hits:
                examples += hits
                evidence.append(f"{spec.name} broke {len(hits)} left robust by {', '.join(before)}")
    if not examples:
        return None
    p = discordance_p(len(examples), 0)
    if p >= alpha:
        return None
    return Indicator(name, len(examples), alpha, sorted(examples),
                     f"{'; '.join(evidence)} (exact sign test p = {p:.2g} < {alpha:g})", p)


def _share_rule(name: str, hits: list[int], n: int, share: float, alpha: float, evidence: str) -> Indicator | None:
    """The indicator when ``len(hits) / n`` is significantly above ``share`` (exact one-sided binomial test)."""
    p = share_exceeds_p(len(hits), n, share)  # 1.0 without hits
    if p >= alpha:
        return None
    return Indicator(name, len(hits) / n, share, hits, f"{evidence} (above {share:.0%}: exact binomial p = {p:.2g} < {alpha:g})", p)


def compute_indicators(merged: dict[str, list[Any]], cascade: list[AttackSpec], adaptive: list[AttackSpec],
                       th: DiagnosticThresholds, large_eps: float) -> list[Indicator]:
    """Every indicator that fires on the base evaluation's per-example outcomes and probes."""
    correct = merged["correct"]
    n = len(correct)
    fired: list[Indicator] = []
    cascade_robust = [c and b == -1 for c, b in zip(correct, merged["broken_by"])]

    def where(flags: list[bool]) -> list[int]:
        return [i for i, f in enumerate(flags) if f]

    zero = where([c and z for c, z in zip(correct, merged["zero_grad"])])
    unstable = where(merged["unstable"])
    fired += [found for found in (
        _share_rule("zero_gradients", zero, n, th.zero_grad_share, th.alpha,
                    f"the CE loss has an exactly zero input gradient on {len(zero)}/{n} examples"),
        _share_rule("unstable_predictions", unstable, n, th.unstable_share, th.alpha,
                    f"uniform noise of {th.noise_scale:g} eps flips the prediction of {len(unstable)}/{n} examples"),
    ) if found is not None]
    robust_all = [r and a == -1 for r, a in zip(cascade_robust, merged["adaptive_broken_by"])]
    silent = where([r and e and not f for r, e, f in zip(robust_all, merged["trace_ever"], merged["trace_final"])])
    if silent and discordance_p(len(silent), 0) < th.alpha:
        p = discordance_p(len(silent), 0)
        fired.append(Indicator("silent_success", len(silent), th.alpha, silent,
                               f"on {len(silent)} examples every attack left robust, a trace-PGD iterate was adversarial "
                               f"and its returned point was not (p = {p:.2g}); those iterates count in the worst case", p))
    left = [c and not f for c, f in zip(correct, merged["trace_final"])]
    incomplete = where([lf and inc for lf, inc in zip(left, merged["incomplete"])])
    found = _share_rule("incomplete_optimisation", incomplete, sum(left), th.incomplete_share, th.alpha,
                        f"the trace PGD's best loss still rose by > {th.incomplete_rise:.0%} in its last "
                        f"{th.incomplete_tail} steps on {len(incomplete)}/{sum(left)} examples it left robust")
    if found is not None:
        fired.append(found)
    for name, categories, before in (
        ("single_step_beats_iterative", {"single_step"}, {"white_box"}),
        ("more_iterations_still_lowering", {"long"}, {"white_box"}),
        ("black_box_beats_white_box", {"black_box"}, {"white_box", "long", "single_step"}),
        ("transfer_beats_white_box", {"transfer"}, {"white_box", "long", "single_step"}),
    ):
        found = _cascade_comparison(name, categories, before, cascade, merged["broken_by"], th.alpha)
        if found is not None:
            fired.append(found)
    large_correct = where(merged["large_eps_correct"])
    found = _share_rule("large_eps_not_broken", large_correct, n, th.large_eps_max_acc, th.alpha,
                        f"accuracy {len(large_correct) / n:.1%} under PGD-{th.large_eps_steps} at eps = {large_eps:g} "
                        "(every image is reachable: should be near 0)")
    if found is not None:
        fired.append(found)
    noise_b = where([r and nb for r, nb in zip(cascade_robust, merged["noise_broken"])])
    noise_c = sum(1 for c, r, nb in zip(correct, cascade_robust, merged["noise_broken"]) if c and not r and not nb)
    if noise_b and discordance_p(len(noise_b), noise_c) < th.alpha:
        p = discordance_p(len(noise_b), noise_c)
        fired.append(Indicator("noise_beats_white_box", len(noise_b), th.alpha, noise_b,
                               f"uniform noise at eps broke {len(noise_b)} examples the attacks left robust, the attacks "
                               f"{noise_c} that noise did not (exact McNemar p = {p:.2g})", p))
    if adaptive:
        adaptive_robust = [c and a == -1 for c, a in zip(correct, merged["adaptive_broken_by"])]
        b = where([r and not a for r, a in zip(cascade_robust, adaptive_robust)])  # cascade_robust implies correct
        c_count = sum(1 for c, r, a in zip(correct, cascade_robust, adaptive_robust) if c and not r and a)
        if b and discordance_p(len(b), c_count) < th.alpha:
            p = discordance_p(len(b), c_count)
            names = ", ".join(s.name for s in adaptive)
            fired.append(Indicator("adaptive_beats_standard", len(b), th.alpha, b,
                                   f"adaptive attacks ({names}) broke {len(b)} examples the standard cascade left robust, "
                                   f"the cascade {c_count} they did not (exact McNemar p = {p:.2g})", p))
    randomised = where(merged["randomised"])
    if randomised:
        fired.append(Indicator("randomised_forward", len(randomised) / n, 0.0, randomised,
                               f"two forward passes differ on {len(randomised)}/{n} examples"))
    probabilities = where(merged["probabilities"])
    if len(probabilities) / n > 0.5:
        fired.append(Indicator("probabilities_output", len(probabilities) / n, 0.5, probabilities,
                               f"the outputs of {len(probabilities)}/{n} examples are probabilities (in [0, 1], summing "
                               "to 1), not logits"))
    batch = where(merged["batch_dependent"])
    if batch:
        fired.append(Indicator("batch_size_dependence", len(batch), 0.0, batch,
                               f"{len(batch)} examples get other logits alone than in their batch"))
    return fired


def grade(fired: list[Indicator], escalation_enabled: bool, converged: bool | None, replaced_gradients: bool,
          large_eps_fixed: bool, nothing_left: bool = False) -> None:
    """Set each indicator's severity once escalation has run (see the module docstring).

    ``nothing_left``: the worst case broke every example (0 robust): no indicator can make that
    number an overestimate, so only the always-unreliable ones (the result does not re-score, or
    depends on batching) keep ``unreliable``.
    """
    for indicator in fired:
        meaning = indicator.meaning
        if meaning.always_unreliable:
            indicator.severity = "unreliable"
        elif nothing_left:
            indicator.severity = "note"
        elif not escalation_enabled or not converged:
            indicator.severity = "unreliable"
        elif indicator.name == "zero_gradients" and not replaced_gradients:
            indicator.severity = "unreliable"
        elif indicator.name == "large_eps_not_broken" and not large_eps_fixed:
            indicator.severity = "unreliable"
        else:
            indicator.severity = "note"
