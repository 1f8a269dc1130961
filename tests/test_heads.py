"""Heads against hand-coded numpy formulas (Kanai et al. eq. 5, Thm 3, App. D; LCAT eq. 7)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from robustbench_logits.errors import ModelError
from robustbench_logits.heads import (
    BLF_ARGMAX,
    BLF_MAX,
    HEADS,
    BoundedLogitFunction,
    IdentityHead,
    LearnableBoundedLogitFunction,
    LogitHead,
    ScaledTanh,
    SigmoidHead,
    SineHead,
    SingleWaveHead,
    TanhHead,
    bounded_logit_function,
    create_head,
)

POINTS = np.array([-30.0, -5.0, -2.4, -1.0, -0.3, 0.0, 0.2, 1.0, 2.0, 3.7, 8.0, 30.0])
GOLDEN = (math.sqrt(5.0) + 1.0) / 2.0


def _np_sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _np_blf(z: np.ndarray) -> np.ndarray:
    """Kanai et al. eq. (5), literally, in float64."""
    s = _np_sigmoid(z)
    return 2.0 * (z * s + s - z * s**2) - 1.0


def _np_blf_derivative(z: np.ndarray) -> np.ndarray:
    """d/dz of eq. (5), derived by hand: g = 2[s + z s (1-s)] - 1 => g' = 2 s (1-s) [2 + z (1 - 2s)]."""
    s = _np_sigmoid(z)
    return 2.0 * s * (1.0 - s) * (2.0 + z * (1.0 - 2.0 * s))


def _np_single_wave(z: np.ndarray) -> np.ndarray:
    """Kanai et al. App. D: sin(z) / (e^z + e^-z)^2."""
    return np.sin(z) / (np.exp(z) + np.exp(-z)) ** 2


def _np_single_wave_derivative(z: np.ndarray) -> np.ndarray:
    d = np.exp(z) + np.exp(-z)
    return np.cos(z) / d**2 - 2.0 * np.sin(z) * (np.exp(z) - np.exp(-z)) / d**3


def _value_and_grad(head: torch.nn.Module, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    zt = torch.tensor(z, dtype=torch.float64, requires_grad=True)
    out = head(zt.reshape(2, -1)).reshape(-1)
    (grad,) = torch.autograd.grad(out.sum(), zt)
    return out.detach().numpy(), grad.numpy()


def test_blf_matches_equation_5_and_its_derivative():
    value, grad = _value_and_grad(BoundedLogitFunction(gamma=1.0), POINTS)
    np.testing.assert_allclose(value, _np_blf(POINTS), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grad, _np_blf_derivative(POINTS), rtol=1e-10, atol=1e-12)


def test_blf_functional_is_odd_zero_at_origin_unit_slope_and_tends_to_plus_minus_one():
    z = torch.tensor([0.0, 0.7, 2.0, 5.0, 40.0], dtype=torch.float64, requires_grad=True)
    g = bounded_logit_function(z)
    np.testing.assert_allclose(bounded_logit_function(-z).detach(), -g.detach(), atol=1e-15)
    assert g[0].item() == 0.0
    (slope,) = torch.autograd.grad(g[0], z)
    assert slope[0].item() == pytest.approx(1.0, abs=1e-12)  # the paper's "= z" is a typo for 1
    assert g[-1].item() == pytest.approx(1.0, abs=1e-12)
    big = torch.tensor([-60.0, 60.0])  # float32: no NaN, right limits
    np.testing.assert_allclose(bounded_logit_function(big).numpy(), [-1.0, 1.0], atol=1e-6)


def test_blf_extrema_satisfy_theorem_3():
    grid = np.linspace(-6.0, 6.0, 1_200_001)
    g = _np_blf(grid)
    z_max, z_min = grid[np.argmax(g)], grid[np.argmin(g)]
    assert 2.0 < z_max < math.sqrt(5.0) + 1.0
    assert -(math.sqrt(5.0) + 1.0) < z_min < -2.0
    assert BLF_ARGMAX == pytest.approx(z_max, abs=1e-5)
    assert BLF_MAX == pytest.approx(g.max(), abs=1e-9)
    gamma = 0.8
    head = BoundedLogitFunction(gamma=gamma)
    for z_star in (z_max, z_min):
        logit = abs(head(torch.tensor([z_star], dtype=torch.float64)).item())
        assert gamma < logit < gamma * GOLDEN
    assert head.bound == pytest.approx(gamma * g.max(), abs=1e-9)


def test_blf_gamma_scales_the_output():
    z = torch.tensor(POINTS).reshape(3, 4)
    np.testing.assert_allclose(BoundedLogitFunction(gamma=3.5)(z).numpy(), 3.5 * _np_blf(POINTS).reshape(3, 4), rtol=1e-12)


def test_lblf_starts_at_softplus_minus_one_and_learns_gamma():
    head = LearnableBoundedLogitFunction()
    assert head.gamma_tilde.item() == -1.0
    softplus_minus_one = math.log1p(math.exp(-1.0))
    assert head.gamma.item() == pytest.approx(softplus_minus_one, abs=1e-7)
    z = torch.tensor([[0.5, -1.5, 2.4], [3.0, 0.0, -0.2]])
    out = head(z)
    expected = softplus_minus_one * _np_blf(z.double().numpy())
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-6)
    out.sum().backward()
    # d softplus(t) / dt = sigmoid(t), so d sum(out) / d gamma_tilde = sigmoid(-1) * sum g(z)
    expected_grad = _np_sigmoid(np.array(-1.0)) * _np_blf(z.double().numpy()).sum()
    assert head.gamma_tilde.grad.item() == pytest.approx(expected_grad, rel=1e-5)
    torch.optim.SGD(head.parameters(), lr=1.0).step()
    assert head.gamma_tilde.item() == pytest.approx(-1.0 - expected_grad, rel=1e-5)
    assert list(head.state_dict()) == ["gamma_tilde"]
    rebuilt = create_head(**head.config())
    np.testing.assert_allclose(rebuilt(z).detach().numpy(), head(z).detach().numpy(), rtol=1e-6)
    assert head.bound == pytest.approx(math.log1p(math.exp(head.gamma_tilde.item())) * BLF_MAX, rel=1e-6)


@pytest.mark.parametrize(
    ("head", "formula", "derivative"),
    [
        (TanhHead(gamma=0.5), lambda z: 0.5 * np.tanh(z), lambda z: 0.5 / np.cosh(z) ** 2),
        (SigmoidHead(gamma=2.0), lambda z: 2.0 * _np_sigmoid(z), lambda z: 2.0 * _np_sigmoid(z) * (1 - _np_sigmoid(z))),
        (SineHead(), np.sin, np.cos),
        (SingleWaveHead(), _np_single_wave, _np_single_wave_derivative),
        (SingleWaveHead(gamma=3.0), lambda z: 3.0 * _np_single_wave(z), lambda z: 3.0 * _np_single_wave_derivative(z)),
    ],
    ids=["tanh", "sigmoid", "sine", "single_wave", "single_wave_gamma"],
)
def test_fixed_heads_match_their_formulas(head, formula, derivative):
    value, grad = _value_and_grad(head, POINTS)
    np.testing.assert_allclose(value, formula(POINTS), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(grad, derivative(POINTS), rtol=1e-10, atol=1e-14)


def test_single_wave_is_finite_with_finite_gradients_at_huge_logits():
    z = torch.tensor([-200.0, -100.0, 100.0, 200.0], requires_grad=True)
    out = SingleWaveHead()(z)
    out.sum().backward()
    assert torch.isfinite(out).all() and torch.isfinite(z.grad).all()
    assert out.abs().max().item() < 1e-30


def test_scaled_tanh_is_tanh_in_training_and_tanh_of_s_z_in_eval():
    z = torch.tensor([[-0.3, -0.01, 0.0, 0.004, 0.05, 2.0]], dtype=torch.float64)
    head = ScaledTanh()
    assert head.s == 100.0 and head.training
    np.testing.assert_allclose(head(z).numpy(), np.tanh(z.numpy()), rtol=1e-12)
    head.eval()
    np.testing.assert_allclose(head(z).numpy(), np.tanh(100.0 * z.numpy()), rtol=1e-12)
    head.train()
    np.testing.assert_allclose(head(z).numpy(), np.tanh(z.numpy()), rtol=1e-12)
    assert ScaledTanh(s=10.0).eval()(z)[0, 4].item() == pytest.approx(math.tanh(0.5))


def test_bounds_hold_and_are_tight():
    grid = torch.linspace(-40.0, 40.0, 800_001, dtype=torch.float64).reshape(1, -1)
    heads = [
        BoundedLogitFunction(gamma=1.5),
        LearnableBoundedLogitFunction(gamma_tilde_init=0.3),
        TanhHead(gamma=0.7),
        SigmoidHead(gamma=1.2),
        SineHead(gamma=2.0),
        SingleWaveHead(gamma=1.0),
        ScaledTanh().eval(),
    ]
    for head in heads:
        peak = head(grid).detach().abs().max().item()
        assert peak <= head.bound + 1e-9, head
        assert peak == pytest.approx(head.bound, rel=1e-6), head
    assert IdentityHead().bound is None


def test_every_head_maps_n_by_c_to_n_by_c_and_round_trips_through_config():
    z = torch.randn(5, 7)
    for name, cls in HEADS.items():
        head = create_head(name)
        assert isinstance(head, cls) and isinstance(head, LogitHead) and head.name == name
        assert head(z).shape == (5, 7)
        rebuilt = create_head(**head.config())
        torch.testing.assert_close(rebuilt.eval()(z), head.eval()(z))
        # and with settings other than the defaults, which a config() that dropped them would lose; small
        # logits too, where S-Tanh's steep eval form tanh(s z) has not saturated whatever s is
        changed = {k: 1.7 * v + 0.3 for k, v in head.config().items() if k != "name"}
        if changed:
            other, wide = create_head(name, **changed).eval(), torch.cat([z, z / 1000])
            assert not torch.allclose(other(wide), head(wide)), name  # the setting changes the function
            torch.testing.assert_close(create_head(**other.config()).eval()(wide), other(wide))
    torch.testing.assert_close(create_head("identity")(z), z)


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [("nope", {}), ("blf", {"gamma": 0.0}), ("tanh", {"gamma": -1.0}), ("blf", {"gamma": float("inf")}),
     ("scaled_tanh", {"s": 0}), ("blf", {"s": 3.0}), ("lblf", {"gamma_tilde_init": float("nan")})],
)
def test_bad_head_arguments_raise_a_one_line_model_error(name, kwargs):
    with pytest.raises(ModelError) as error:
        create_head(name, **kwargs)
    assert "\n" not in str(error.value)


def test_heads_print_their_settings_but_not_their_name():
    assert repr(BoundedLogitFunction(gamma=1.5)) == "BoundedLogitFunction(gamma=1.5)"
    assert repr(ScaledTanh(s=10.0)) == "ScaledTanh(s=10.0)"
    assert repr(IdentityHead()) == "IdentityHead()"


def test_module_constants_are_theorem_3_and_app_d_values():
    # Computed at import by bisection (so a mutation tool that switches mutants at call time
    # cannot reach them; benchmarks/mutation.md applies those mutants by hand against this test).
    # Kanai et al. Thm 3: z tanh(z/2) = 2 at z*, g(z*) = z*/2; App. D single wave: tan z tanh z = 1/2.
    assert BLF_ARGMAX * math.tanh(BLF_ARGMAX / 2) == pytest.approx(2.0, abs=1e-12)
    assert 2.0 < BLF_ARGMAX < math.sqrt(5.0) + 1.0 and BLF_MAX == pytest.approx(BLF_ARGMAX / 2, abs=1e-12)
    assert BLF_MAX == pytest.approx(float(bounded_logit_function(torch.tensor(BLF_ARGMAX, dtype=torch.float64))), abs=1e-12)
    peak = SingleWaveHead().bound
    z = np.linspace(0.0, 1.5, 150_001)
    assert peak == pytest.approx(_np_single_wave(z).max(), abs=1e-10)


def test_bad_head_arguments_say_which_and_what_to_do():
    names = ", ".join(HEADS)
    with pytest.raises(ModelError, match=rf"^unknown logit head 'nope'; choose one of: {names}$"):
        create_head("nope")
    with pytest.raises(ModelError, match=r"^tanh head gamma must be a finite number > 0; got -1.0$"):
        create_head("tanh", gamma=-1.0)
    with pytest.raises(ModelError, match=r"^scaled_tanh head s must be a finite number > 0; got 0$"):
        create_head("scaled_tanh", s=0)


def test_a_head_with_several_settings_prints_them_comma_separated():
    # LogitHead is the public base class ("subclasses ... implement config"): its repr lists every
    # setting but the name, in config order, separated by ", " like torch's own modules.
    class TwoSettings(LogitHead):
        name = "two_settings"

        def config(self):
            return {"name": self.name, "gamma": 0.5, "s": 10.0}

    assert repr(TwoSettings()) == "TwoSettings(gamma=0.5, s=10.0)"


def test_a_non_finite_lblf_init_is_refused_naming_the_argument_and_value():
    with pytest.raises(ModelError, match=r"^lblf head gamma_tilde_init must be a finite number; got nan$"):
        create_head("lblf", gamma_tilde_init=float("nan"))
    with pytest.raises(ModelError, match=r"^lblf head gamma_tilde_init must be a finite number; got -inf$"):
        LearnableBoundedLogitFunction(gamma_tilde_init=float("-inf"))


def test_unknown_head_arguments_name_the_head_the_argument_and_the_class_to_read():
    # The TypeError of the head's constructor is wrapped in a one-line ModelError that says which head,
    # which argument, and which class documents the accepted ones.
    with pytest.raises(ModelError) as error:
        create_head("blf", s=3.0)
    message = str(error.value)
    assert message.startswith("bad arguments for logit head 'blf' (") and message.endswith("); see BoundedLogitFunction")
    assert "unexpected keyword argument 's'" in message
