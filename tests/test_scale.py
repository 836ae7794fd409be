"""Long sequences and large batches: forward and backward without recursion errors, on both paths.

H is kept tiny so that the steps, not the arithmetic, dominate; the memory
figures (linear in T) come from ``benchmarks/memory_scaling.py``.
"""

import sys

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad

import rnngrad

pytestmark = pytest.mark.filterwarnings("error")

MODELS = {"rnn": rnngrad.RNN, "lstm": rnngrad.LSTM, "gru": rnngrad.GRU}


def gradients(model, params, x, impl, **kwargs):
    def loss(params, x):
        output, final = model(params, x, impl=impl, **kwargs)
        return anp.sum(output[-1] ** 2) + anp.sum(output[0])

    return grad(loss, (0, 1))(params, x)


def assert_finite(param_grads, x_grad):
    assert all(np.all(np.isfinite(g)) for g in param_grads.values())
    assert np.all(np.isfinite(x_grad))


@pytest.mark.parametrize("kind", MODELS)
def test_ten_thousand_steps_differentiate_on_the_fused_path(kind):
    model = MODELS[kind](2, 2)
    params = model.init(seed=0)
    x = np.random.default_rng(0).normal(size=(10_000, 1, 2))
    limit = sys.getrecursionlimit()
    assert_finite(*gradients(model, params, x, "fused", lengths=[9_000]))
    assert sys.getrecursionlimit() == limit  # nothing raised the limit to get through


def test_ten_thousand_steps_differentiate_on_the_reference_path():
    """The traced loop: 10,000 steps of autograd tape, walked backward without recursion (a few seconds)."""
    model = rnngrad.RNN(2, 2)  # the cell with the fewest primitives per step keeps this test short
    params = model.init(seed=0)
    x = np.random.default_rng(0).normal(size=(10_000, 1, 2))
    limit = sys.getrecursionlimit()
    param_grads, x_grad = gradients(model, params, x, "reference")
    assert_finite(param_grads, x_grad)
    assert sys.getrecursionlimit() == limit


@pytest.mark.parametrize("impl", ["fused", "reference"])
@pytest.mark.parametrize("kind", MODELS)
@pytest.mark.parametrize("batch", [1, 7, 512])
def test_batches_of_1_to_512_differentiate_on_both_paths(kind, batch, impl):
    model = MODELS[kind](2, 2, num_layers=2, bidirectional=True)
    params = model.init(seed=0)
    x = np.random.default_rng(0).normal(size=(50, batch, 2))
    lengths = np.random.default_rng(1).integers(0, 51, size=batch)
    param_grads, x_grad = gradients(model, params, x, impl, lengths=lengths)
    assert_finite(param_grads, x_grad)
    assert x_grad.shape == x.shape


def test_a_long_and_wide_run_gives_the_same_numbers_on_both_paths():
    """T = 300 and B = 64 with uneven lengths: the two implementations agree."""
    model = rnngrad.LSTM(2, 2, bidirectional=True)
    params = model.init(seed=0)
    x = np.random.default_rng(0).normal(size=(300, 64, 2))
    lengths = np.random.default_rng(1).integers(0, 301, size=64)
    fused = gradients(model, params, x, "fused", lengths=lengths)
    reference = gradients(model, params, x, "reference", lengths=lengths)
    for key in params:
        np.testing.assert_allclose(fused[0][key], reference[0][key], rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(fused[1], reference[1], rtol=1e-9, atol=1e-11)
