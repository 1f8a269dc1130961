import warnings

import numpy as np
import pytest
import torch

from robustbench_logits.eps import EpsError, EpsRangeWarning, check_eps, format_eps, parse_eps, warn_if_beyond_range


@pytest.mark.parametrize("given, value", [(0.3, 0.3), (1, 1.0), ("0.3", 0.3), ("8/255", 8 / 255), (" 2 / 255 ", 2 / 255),
                                          (torch.tensor(0.3), 0.3), (np.float64(0.1), 0.1), (np.array([0.5]), 0.5)])
def test_numbers_fractions_and_single_element_tensors_parse_to_a_float(given, value):
    parsed = parse_eps(given)
    assert type(parsed) is float and parsed == pytest.approx(value, rel=1e-6)


@pytest.mark.parametrize("given, message", [("1.2.3", "eps '1.2.3' is not a number"), ("8/0", "divides by zero"),
                                            ("a/b", "is not a number"), (-0.1, "not a positive finite budget"),
                                            (0, "not a positive"), (float("nan"), "not a positive"), (True, "not a number"),
                                            (None, "not a number"), (torch.tensor([0.1, 0.2]), "array of 2 values"),
                                            ([0.3], "type list")])
def test_bad_eps_is_one_line_saying_what_to_give(given, message):
    with pytest.raises(EpsError, match=message) as error:
        parse_eps(given)
    assert "\n" not in str(error.value) and "8/255" in str(error.value)


def test_eps_beyond_the_input_range_warns_and_small_eps_is_silent():
    with pytest.warns(EpsRangeWarning, match="eps 300 .Linf. exceeds the \\[0, 1\\] input range"):
        assert check_eps(300) == 300.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_eps("8/255") == pytest.approx(8 / 255)
        assert warn_if_beyond_range(0.99) is None
        assert warn_if_beyond_range(5.0, "L2", n_features=784) is None      # the diagonal is 28
    with pytest.warns(EpsRangeWarning, match="diagonal"):
        warn_if_beyond_range(30.0, "L2", n_features=784)


def test_format_eps_as_robustbench_writes_it():
    assert format_eps(8 / 255) == "8/255" and format_eps(0.3) == "0.3" and format_eps(2.0) == "2"
    assert format_eps(parse_eps(format_eps(8 / 255))) == "8/255"
    assert format_eps(1e-5) == "0.00001" and format_eps(parse_eps("1/7")) == "0.142857"
