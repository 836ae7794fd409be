"""The stable activations: values, and every derivative in both modes, against their closed forms.

The reference and fused paths share these primitives, so a wrong derivative
rule would agree with itself there; here each rule is held to the
textbook derivative, in reverse mode, in forward mode and at second order.
"""

import numpy as np
import pytest
from autograd import elementwise_grad, grad, make_jvp
from hypothesis import given
from hypothesis import strategies as st

from rnngrad import sigmoid, tanh
from rnngrad.activations import relu

points = st.floats(-40, 40, allow_nan=False)


def logistic(x):
    return np.exp(-np.logaddexp(0.0, -x))


CASES = {
    # name: (function, value, first derivative, second derivative), all closed forms
    "sigmoid": (
        sigmoid,
        logistic,
        lambda x: logistic(x) * (1 - logistic(x)),
        lambda x: logistic(x) * (1 - logistic(x)) * (1 - 2 * logistic(x)),
    ),
    "tanh": (tanh, np.tanh, lambda x: 1 - np.tanh(x) ** 2, lambda x: -2 * np.tanh(x) * (1 - np.tanh(x) ** 2)),
}


@pytest.mark.parametrize("name", sorted(CASES))
@given(x=points)
def test_value_and_both_modes_and_second_order_equal_the_closed_forms(name, x):
    function, value, first, second = CASES[name]
    assert function(np.float64(x)) == pytest.approx(value(x), rel=1e-14, abs=1e-300)
    # the rules read the derivative off the answer (1 - ans cancels near saturation): absolute error ~ eps
    assert grad(function)(x) == pytest.approx(first(x), rel=1e-12, abs=1e-15)
    _, tangent = make_jvp(function)(np.array(x))(np.array(1.0))
    assert float(tangent) == pytest.approx(first(x), rel=1e-12, abs=1e-15)
    assert grad(grad(function))(x) == pytest.approx(second(x), rel=1e-10, abs=1e-15)
    forward_over_reverse = make_jvp(grad(function))(x)(1.0)[1]
    assert forward_over_reverse == pytest.approx(second(x), rel=1e-10, abs=1e-15)


@pytest.mark.parametrize("name", sorted(CASES))
def test_saturated_inputs_give_exact_limits_without_warnings(name):
    function = CASES[name][0]
    x = np.array([-1e4, -800.0, 800.0, 1e4])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        values = function(x)
        slopes = elementwise_grad(function)(x)
    low = 0.0 if name == "sigmoid" else -1.0
    np.testing.assert_array_equal(values, [low, low, 1.0, 1.0])
    np.testing.assert_array_equal(slopes, 0.0)


def test_float32_stays_float32():
    x = np.linspace(-5, 5, 7, dtype=np.float32)
    assert relu(x).dtype == np.float32
    for function in (sigmoid, tanh):
        assert function(x).dtype == np.float32
        assert elementwise_grad(function)(x).dtype == np.float32


def test_relu_is_max_with_zero_keeps_nan_and_has_slope_zero_at_zero():
    x = np.array([-2.0, 0.0, 3.0, np.nan])
    out = relu(x)
    np.testing.assert_array_equal(out[:3], [0.0, 0.0, 3.0])
    assert np.isnan(out[3])
    np.testing.assert_array_equal(elementwise_grad(relu)(np.array([-2.0, 0.0, 3.0])), [0.0, 0.0, 1.0])
    _, tangent = make_jvp(relu)(np.array([-2.0, 0.0, 3.0]))(np.ones(3))
    np.testing.assert_array_equal(tangent, [0.0, 0.0, 1.0])
