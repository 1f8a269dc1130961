"""attacks.py: the CW margin loss and its PGD, model views for adaptive attacks, specs, presets."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn as nn
import torchattacks

from robustbench_logits.attacks import (
    PRESETS,
    AttackSpec,
    MarginPGD,
    adaptive_attacks,
    attack_parameters,
    cw_margin_loss,
    model_view,
    preset,
    project_to_threat_model,
)
from robustbench_logits.errors import UserError
from robustbench_logits.heads import BoundedLogitFunction, ScaledTanh
from robustbench_logits.models import LogitHeadModel


def _linear(seed: int = 0, classes: int = 3) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(4, classes)).eval()


def test_cw_margin_loss_values_and_gradient_match_the_cw_formula() -> None:
    logits = torch.tensor([[1.0, 5.0, 2.0], [3.0, 0.0, -60.0], [-40.0, 30.0, 0.0]], requires_grad=True)
    labels = torch.tensor([1, 0, 0])
    loss = cw_margin_loss(logits, labels, kappa=50.0)
    # min(max_{i!=y} z_i - z_y, kappa), by hand: 2-5, 0-3, min(30+40, 50)
    assert loss.tolist() == [-3.0, -3.0, 50.0]
    loss.sum().backward()
    # d/dz = +1 at the best other class, -1 at the true class; 0 where the kappa clamp is active.
    assert logits.grad.tolist() == [[0.0, -1.0, 1.0], [-1.0, 1.0, 0.0], [0.0, 0.0, 0.0]]


def test_margin_pgd_stays_in_budget_and_raises_the_margin_loss() -> None:
    model = _linear()
    torch.manual_seed(1)
    x = torch.rand(16, 1, 2, 2)
    y = model(x).argmax(1)
    adv = MarginPGD(model, eps=0.1, alpha=0.02, steps=10, kappa=50.0)(x, y)
    assert (adv - x).abs().max() <= 0.1 + 1e-6
    assert adv.min() >= 0 and adv.max() <= 1
    with torch.no_grad():
        assert (cw_margin_loss(model(adv), y) > cw_margin_loss(model(x), y)).all()


def test_projection_onto_linf_and_l2_balls() -> None:
    x = torch.full((1, 1, 1, 2), 0.5)
    far = torch.tensor([[[[0.9, 0.0]]]])
    assert project_to_threat_model(far, x, 0.1, "Linf").flatten().tolist() == pytest.approx([0.6, 0.4])
    # L2: delta (0.4, -0.5) has norm sqrt(0.41); rescaled to norm 0.1.
    scale = 0.1 / math.sqrt(0.41)
    expected = [0.5 + 0.4 * scale, 0.5 - 0.5 * scale]
    assert project_to_threat_model(far, x, 0.1, "L2").flatten().tolist() == pytest.approx(expected)
    inside = torch.tensor([[[[0.55, 0.5]]]])
    assert torch.equal(project_to_threat_model(inside, x, 0.1, "L2"), inside)


def test_views_strip_or_replace_the_head_and_leave_the_model_alone() -> None:
    torch.manual_seed(0)
    backbone = nn.Sequential(nn.Flatten(), nn.Linear(4, 3))
    model = LogitHeadModel(backbone, ScaledTanh(s=100.0)).eval()
    x = torch.rand(5, 1, 2, 2)
    with torch.no_grad():
        z = backbone(x)
        assert torch.allclose(model(x), torch.tanh(100 * z))
        assert torch.allclose(model_view(model, "prehead")(x), z)
        assert torch.allclose(model_view(model, "stanh_s1")(x), torch.tanh(z))  # LCAT eq. 7 with s = 1
        assert model.head.s == 100.0 and torch.allclose(model(x), torch.tanh(100 * z))
        blf_model = LogitHeadModel(backbone, BoundedLogitFunction(gamma=2.0)).eval()
        assert torch.allclose(model_view(blf_model, "tanh_head")(x), 2.0 * torch.tanh(z))  # Kanai sec. 5.2
    with pytest.raises(UserError, match="LogitHeadModel"):
        model_view(backbone, "prehead")


def test_adaptive_attacks_depend_on_the_head() -> None:
    backbone = nn.Sequential(nn.Flatten(), nn.Linear(4, 3))
    stanh = [s.name for s in adaptive_attacks(LogitHeadModel(backbone, ScaledTanh()))]
    blf = [s.name for s in adaptive_attacks(LogitHeadModel(backbone, BoundedLogitFunction()))]
    assert stanh == ["adaptive/prehead-pgd", "adaptive/stanh-s1-pgd", "adaptive/prehead-apgd-dlr"]
    assert blf == ["adaptive/prehead-pgd", "adaptive/tanh-pgd", "adaptive/prehead-apgd-dlr"]
    assert adaptive_attacks(backbone) == []


def test_specs_build_torchattacks_and_reject_bad_input() -> None:
    model = _linear()
    pgd = AttackSpec("pgd-5", "pgd", {"steps": 5}).build(model, 0.1, "Linf")
    assert isinstance(pgd, torchattacks.PGD) and pgd.steps == 5 and pgd.alpha == pytest.approx(2.5 * 0.1 / 5)
    assert isinstance(AttackSpec("r", "pgd", {"restarts": 3}).build(model, 0.1, "Linf"), torchattacks.MultiAttack)
    assert isinstance(AttackSpec("p", "pgd").build(model, 0.5, "L2"), torchattacks.PGDL2)
    assert AttackSpec("f", "fgsm").category == "single_step" and AttackSpec("s", "spsa").category == "black_box"
    with pytest.raises(UserError, match="unknown attack"):
        AttackSpec("x", "deepfool-ish")
    with pytest.raises(UserError, match="L-inf only"):
        AttackSpec("f", "fgsm").build(model, 0.5, "L2")
    with pytest.raises(UserError, match="bad parameters"):
        AttackSpec("p", "pgd", {"stepz": 3}).build(model, 0.1, "Linf")


def test_a_users_torchattacks_instance_runs_as_built() -> None:
    model = _linear()
    mine = torchattacks.PGD(model, eps=0.05, alpha=0.01, steps=7)
    spec = AttackSpec.from_instance(mine, name="my-pgd")
    assert spec.build(_linear(seed=1), 0.3, "Linf") is mine
    assert spec.category == "user" and spec.describe()["params"]["steps"] == 7
    with pytest.raises(UserError, match="torchattacks.Attack"):
        AttackSpec.from_instance(model)  # type: ignore[arg-type]


def test_presets_carry_the_papers_settings() -> None:
    model = _linear()
    assert preset("summers-pgd1000").build(model, 0.03, "Linf").steps == 1000
    spsa = preset("kanai-spsa-mnist").build(model, PRESETS["kanai-spsa-mnist"][1], "Linf")
    assert (spsa.eps, spsa.delta, spsa.lr, spsa.nb_iter, spsa.nb_sample) == (0.15, 0.01, 0.01, 40, 2048)
    assert preset("lma-cw").build(model, 8 / 255, "Linf").kappa == 50.0
    for name in PRESETS:
        assert preset(name) is not PRESETS[name][0]  # a copy: editing it cannot change the preset
    with pytest.raises(UserError, match="unknown attack preset"):
        preset("nope")


def test_projection_leaves_points_inside_the_threat_model_bitwise_unchanged() -> None:
    # x + (x_adv - x) rounds to a different float32 here (checked below), so a projection that
    # recomputes every point would move this in-budget example by one ulp.
    x = torch.tensor([0.0007638633251190186, 0.5]).view(1, 1, 1, 2)
    x_adv = torch.tensor([0.6039488911628723, 0.5]).view(1, 1, 1, 2)
    assert not torch.equal((x + (x_adv - x)).clamp(0, 1), x_adv)
    assert torch.equal(project_to_threat_model(x_adv, x, 1.0, "Linf"), x_adv)
    assert torch.equal(project_to_threat_model(x_adv, x, 1.0, "L2"), x_adv)
    # NaN coordinates of a broken attack fall back to the clean value, never get scored.
    broken = torch.tensor([float("nan"), 0.55]).view(1, 1, 1, 2)
    assert project_to_threat_model(broken, x, 0.1, "Linf").flatten().tolist() == pytest.approx([x[0, 0, 0, 0].item(), 0.55])


def test_attacks_that_reseed_themselves_get_the_callers_seed() -> None:
    model = _linear()
    torch.manual_seed(2)
    x = torch.rand(8, 1, 2, 2)
    y = model(x).argmax(1)

    def square(seed: int | None, params: dict | None = None) -> torch.Tensor:
        attack = AttackSpec("sq", "square", {"n_queries": 3, **(params or {})}).build(model, 0.2, "Linf", seed=seed)
        torch.manual_seed(123)  # torch's global state is the same for every call: only `seed` differs
        return attack(x, y)

    assert AttackSpec("a", "apgd").build(model, 0.1, "Linf", seed=11).seed == 11
    assert AttackSpec("a", "apgd", {"seed": 4}).build(model, 0.1, "Linf", seed=11).seed == 4  # params win
    assert torch.equal(square(1), square(1))
    assert not torch.equal(square(1), square(2))  # torchattacks' Square reseeds with its own `seed`


def test_attack_parameters_are_the_resolved_settings() -> None:
    from robustbench_logits.attacks import attack_parameters

    restarted = AttackSpec("p", "pgd", {"steps": 8, "restarts": 3}).build(_linear(), 0.2, "Linf")
    params = attack_parameters(restarted)
    assert params["alpha"] == pytest.approx(2.5 * 0.2 / 8) and params["steps"] == 8 and params["restarts"] == 3


def test_default_spsa_can_reach_the_edge_of_the_budget() -> None:
    # Adam moves a pixel by about lr per step: with lr fixed at 0.01, 5 steps could not leave a
    # 0.05 box, so SPSA at eps = 0.3 was capped far inside the threat model.
    model = _linear()
    torch.manual_seed(0)
    x = torch.full((4, 1, 2, 2), 0.5)
    y = model(x).argmax(1)
    spsa = AttackSpec("s", "spsa", {"nb_iter": 5, "nb_sample": 8}).build(model, 0.3, "Linf")
    assert spsa.lr == pytest.approx(2 * 0.3 / 5)
    assert (spsa(x, y) - x).abs().max().item() == pytest.approx(0.3, abs=1e-6)
    assert AttackSpec("s", "spsa", {"nb_iter": 40}).build(model, 8 / 255, "Linf").lr == 0.01  # the papers' lr kept


# --- AutoAttack's components in the registry, the one run helper, pass counting -----------------------


def test_each_autoattack_component_is_a_registry_attack_with_standard_settings() -> None:
    from robustbench_logits.attacks import AUTOATTACK_SETTINGS, AutoAttackComponent, PassCounter, run_attack

    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 10)).eval()
    x = torch.rand(6, 1, 4, 4)
    y = model(x).argmax(1)
    for kind in ("aa_apgd_ce", "aa_apgd_dlr", "aa_apgd_t", "aa_fab_t", "aa_square"):
        params = {"n_queries": 50} if kind == "aa_square" else {"n_iter": 5}
        spec = AttackSpec(kind, kind, params)
        built = spec.build(model, 0.1, "Linf", seed=7)
        assert isinstance(built, AutoAttackComponent) and isinstance(built, torchattacks.attack.Attack)
        read = attack_parameters(built)
        assert read["seed"] == 7 and read["eps"] == 0.1
        assert {k: read[k] for k in AUTOATTACK_SETTINGS[built.component] if k in read and k not in params} == {
            k: v for k, v in AUTOATTACK_SETTINGS[built.component].items() if k in read and k not in params}
        counter = PassCounter()
        adv = run_attack(spec, model, x, y, 0.1, "Linf", seed=0, counter=counter)
        assert (adv - x).abs().max() <= 0.1 + 1e-7 and adv.min() >= 0 and adv.max() <= 1
        assert counter.forward > 0 and (counter.backward > 0) == (kind != "aa_square")  # Square only queries
        assert not model.training
    with pytest.raises(UserError, match="no setting"):
        AttackSpec("x", "aa_square", {"n_iter": 3}).build(model, 0.1, "Linf")
