"""A cell written by a user runs through the sequence module unchanged: masking, reversal, stacking."""

from dataclasses import dataclass

import autograd.numpy as anp
import numpy as np
import pytest
from autograd.test_util import check_grads

import rnngrad
from rnngrad.cells import affine


@dataclass(frozen=True)
class MinimalGatedUnit(rnngrad.Cell):
    r"""Minimal gated unit (Zhou et al. 2016): one forget gate.

    f = sigmoid(x W_if^T + b_if + h W_hf^T + b_hf);
    n = tanh(x W_in^T + b_in + (f * h) W_hn^T + b_hn); h' = (1 - f) h + f n.
    """

    def param_shapes(self):
        H, D = self.hidden_size, self.input_size
        return {"weight_ih": (2 * H, D), "weight_hf": (H, H), "weight_hn": (H, H), "bias": (2 * H,)}

    def step(self, params, x, state):
        (h,) = state
        gi_f, gi_n = anp.split(affine(x, params["weight_ih"], params["bias"]), 2, axis=-1)
        forget_gate = rnngrad.sigmoid(gi_f + anp.dot(h, params["weight_hf"].T))
        candidate = rnngrad.tanh(gi_n + anp.dot(forget_gate * h, params["weight_hn"].T))
        h_new = (1.0 - forget_gate) * h + forget_gate * candidate
        return h_new, (h_new,)


def hand_loop(cell, params, xs, h, length, reverse=False):
    """An explicit loop over one sequence's valid steps, no mask at all."""
    steps = range(length - 1, -1, -1) if reverse else range(length)
    outputs = np.zeros((xs.shape[0], cell.output_size))
    for t in steps:
        _, (h,) = cell.step(params, xs[t][None], (h,))
        outputs[t] = h[0]
    return outputs, h


def test_custom_cell_bidirectional_stack_matches_hand_loop():
    net = rnngrad.Recurrent(lambda d: MinimalGatedUnit(d, 3), input_size=2, num_layers=2, bidirectional=True)
    rng = np.random.default_rng(0)
    params = net.init(rng)
    x = rng.normal(size=(5, 3, 2))
    lengths = [5, 2, 0]
    out, h_n = net(params, x, lengths=lengths)
    assert out.shape == (5, 3, 6) and h_n.shape == (4, 3, 3)
    split = net.split_params(params)
    for b, length in enumerate(lengths):
        layer_input = x[:, b]
        for k in range(2):
            halves = []
            for d in range(2):
                outputs, h = hand_loop(net.cells[k][d], split[k][d], layer_input, np.zeros((1, 3)), length, d == 1)
                halves.append(outputs)
                np.testing.assert_allclose(h_n[2 * k + d, b], h[0], rtol=1e-12, atol=1e-14)
            layer_input = np.concatenate(halves, axis=-1)
        np.testing.assert_allclose(out[:, b], layer_input, rtol=1e-12, atol=1e-14)


def test_custom_cell_gradients_match_finite_differences():
    net = rnngrad.Recurrent(lambda d: MinimalGatedUnit(d, 2), input_size=2, bidirectional=True)
    rng = np.random.default_rng(1)
    params = net.init(rng)
    x = rng.normal(size=(4, 2, 2))
    mask = np.array([[1, 0], [1, 1], [0, 1], [1, 0]], bool)
    check_grads(lambda p: net(p, x, mask=mask)[0], modes=["rev", "fwd"])(params)
    check_grads(lambda p: net(p, x, mask=mask)[1], modes=["rev", "fwd"])(params)


def test_custom_cell_has_no_fused_path():
    net = rnngrad.Recurrent(lambda d: MinimalGatedUnit(d, 2), input_size=2)
    with pytest.raises(ValueError, match="impl"):
        net(net.init(0), np.zeros((3, 1, 2)), impl="fused")
