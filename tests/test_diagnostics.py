"""Gradient norms per time step: exact against hand calculations, and the vanishing they exist to show."""

import autograd.numpy as anp
import numpy as np
from autograd import grad

import rnngrad
from rnngrad.diagnostics import hidden_gradient_norms, input_gradient_norms
from rnngrad.nets import RecurrentNet


def test_input_gradient_norms_are_the_per_step_gradient_norms():
    lstm = rnngrad.LSTM(2, 3)
    params = lstm.init(0)
    x = np.random.default_rng(0).normal(size=(4, 5, 2))

    def loss(inputs):
        return anp.sum(lstm(params, inputs)[0][-1])

    expected = np.linalg.norm(grad(loss)(x), axis=-1).mean(axis=1)
    np.testing.assert_array_equal(input_gradient_norms(loss, x), expected)


def test_hidden_gradient_norms_follow_the_chain_rule_of_a_tanh_rnn():
    cell = rnngrad.RNNCell(2, 3)
    params = cell.init(1)
    x = np.random.default_rng(1).normal(size=(3, 1, 2))
    readout = np.array([1.0, -2.0, 0.5])
    norms = hidden_gradient_norms(cell, params, x, lambda outputs: anp.sum(outputs[-1] * readout))
    outputs, _ = rnngrad.unroll(cell, params, x, cell.initial_state(1))
    h_last = outputs[-1, 0]
    # dL/dh_{T-1} = W_hh^T diag(1 - h_T^2) dL/dh_T
    previous = params["weight_hh"].T @ ((1 - h_last**2) * readout)
    np.testing.assert_allclose(norms[-1], np.linalg.norm(readout), rtol=1e-14)
    np.testing.assert_allclose(norms[-2], np.linalg.norm(previous), rtol=1e-12)


def test_gradient_vanishes_in_a_tanh_rnn_and_survives_an_open_forget_gate():
    x = np.random.default_rng(2).normal(size=(60, 4, 2))
    ratios = {}
    for name, core, forget_bias in (("rnn", rnngrad.RNN(2, 16), None), ("lstm", rnngrad.LSTM(2, 16), 8.0)):
        net = RecurrentNet(core, 1)
        params = net.init(0, forget_bias=forget_bias)
        norms = input_gradient_norms(lambda inputs, net=net, p=params: anp.sum(net(p, inputs)[0]), x)
        ratios[name] = norms[0] / norms[-1]
    assert ratios["rnn"] < 1e-6
    assert ratios["lstm"] > 1e-2
