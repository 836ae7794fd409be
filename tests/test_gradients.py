"""Gradients agree with finite differences (autograd's check_grads), every cell and the models."""

import numpy as np
import pytest
from autograd.builtins import tuple as traced_tuple
from autograd.test_util import check_grads

import rnngrad

CELLS = [
    rnngrad.RNNCell(3, 4),
    rnngrad.RNNCell(3, 4, nonlinearity="relu"),
    rnngrad.LSTMCell(3, 4),
    rnngrad.LSTMCell(3, 4, proj_size=2),
    rnngrad.GRUCell(3, 4),
    rnngrad.GRUCell(3, 4, bias=False),
]


@pytest.mark.parametrize("cell", CELLS, ids=repr)
def test_cell_step_gradients_match_finite_differences(cell):
    rng = np.random.default_rng(0)
    params = cell.init(rng)
    x = rng.normal(size=(2, 3))
    state = tuple(rng.normal(size=(2, s)) for s in cell.state_sizes)

    def step(params, x, state):
        new = cell(params, x, state if len(state) > 1 else state[0])
        # a plain tuple of boxes is invisible to forward mode: wrap it in autograd's tuple
        return traced_tuple(new) if isinstance(new, tuple) else new

    check_grads(step, modes=["rev", "fwd"], order=2)(params, x, state)


@pytest.mark.parametrize(
    "model",
    [
        rnngrad.RNN(2, 3, num_layers=2, bidirectional=True),
        rnngrad.LSTM(2, 3, num_layers=2, bidirectional=True, proj_size=2),
        rnngrad.GRU(2, 3, num_layers=2, bidirectional=True, batch_first=True),
    ],
    ids=repr,
)
def test_model_gradients_match_finite_differences_with_lengths(model):
    rng = np.random.default_rng(1)
    params = model.init(rng)
    x = rng.normal(size=(3, 4, 2) if model.batch_first else (4, 3, 2))

    def run(params, x):
        output, final = model(params, x, lengths=[4, 0, 2], impl="reference")
        return traced_tuple((output, traced_tuple(final) if isinstance(final, tuple) else final))

    check_grads(run, modes=["rev", "fwd"], order=2)(params, x)
