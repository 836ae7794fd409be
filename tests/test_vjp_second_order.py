"""Second order through the cotangent: differentiating a VJP by what enters only through its cotangent.

The fused primitive's backward pass is hand-written NumPy; it may run only
on plain arrays. When the cotangent it receives is itself traced (an outer
``grad`` differentiates a function of the VJP with respect to something the
cotangent depends on), the primitive must fall back to the reference loop,
just as it does for traced primal arguments. Here the primal arguments are
plain and only the cotangent is traced, so a fallback that looks only at the
primal arguments runs the NumPy backward on a box.
"""

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad, make_vjp

import rnngrad
from rnngrad.testing import random_params

MODELS = {"rnn": rnngrad.RNN, "lstm": rnngrad.LSTM, "gru": rnngrad.GRU}


def _flat_run(model, params, lengths, impl):
    """The model's output and final states as one flat vector, a function of ``x``."""

    def run(inputs):
        output, final = model(params, inputs, lengths=lengths, impl=impl)
        parts = [output] + list(final if isinstance(final, tuple) else (final,))
        return anp.concatenate([anp.ravel(part) for part in parts])

    return run


def _cotangent(weight, size, split):
    """A cotangent depending nonlinearly on ``weight``: one scale on the output's entries, another on the states'."""
    rng = np.random.default_rng(4)
    base = rng.normal(size=size)
    head = (anp.tanh(anp.sum(weight * weight)) + anp.sum(weight[0])) * base[:split]
    tail = anp.cos(anp.sum(weight)) * base[split:]
    return anp.concatenate([head, tail])


def _second_order_through_cotangent(model, params, x, lengths, impl, wrt):
    """d/dtheta of <r, VJP_x(c(theta))>, where the forward runs at fixed params and theta enters only c."""
    vjp, flat = make_vjp(_flat_run(model, params, lengths, impl))(x)
    split = int(np.prod(model(params, x, lengths=lengths)[0].shape))
    readout = np.random.default_rng(5).normal(size=x.shape)

    def outer(theta):
        return anp.sum(vjp(_cotangent(theta[wrt], flat.size, split)) * readout)

    return grad(outer)(params)


@pytest.mark.parametrize("kind", sorted(MODELS))
@pytest.mark.parametrize("bidirectional", [False, True])
def test_grad_through_a_fused_vjps_cotangent_equals_the_reference(kind, bidirectional):
    model = MODELS[kind](3, 4, num_layers=2, bidirectional=bidirectional)
    params = random_params(model.param_shapes(), np.random.default_rng(0), scale=0.6)
    x = np.random.default_rng(1).normal(size=(5, 2, 3))
    lengths = np.array([5, 3])
    fused = _second_order_through_cotangent(model, params, x, lengths, "fused", "weight_hh_l1")
    reference = _second_order_through_cotangent(model, params, x, lengths, "reference", "weight_hh_l1")
    assert np.any(reference["weight_hh_l1"] != 0)
    for key in params:
        np.testing.assert_allclose(fused[key], reference[key], rtol=1e-10, atol=1e-12, err_msg=key)


def test_grad_through_a_fused_vjps_cotangent_matches_finite_differences():
    model = rnngrad.LSTM(2, 3)
    params = random_params(model.param_shapes(), np.random.default_rng(0), scale=0.6)
    x = np.random.default_rng(1).normal(size=(4, 2, 2))
    lengths = np.array([4, 2])
    got = _second_order_through_cotangent(model, params, x, lengths, "fused", "weight_hh_l0")["weight_hh_l0"]

    def value(weight):
        vjp, flat = make_vjp(_flat_run(model, params, lengths, "reference"))(x)
        split = int(np.prod(model(params, x, lengths=lengths)[0].shape))
        readout = np.random.default_rng(5).normal(size=x.shape)
        return np.sum(vjp(_cotangent(weight, flat.size, split)) * readout)

    weight = params["weight_hh_l0"]
    step = 1e-6
    for index in [(0, 0), (1, 2), (11, 1)]:
        plus, minus = weight.copy(), weight.copy()
        plus[index] += step
        minus[index] -= step
        estimate = (value(plus) - value(minus)) / (2 * step)
        np.testing.assert_allclose(got[index], estimate, rtol=1e-6, atol=1e-8)
