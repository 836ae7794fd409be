"""What the torch comparisons check, checked again without torch: each behaviour has a guard that runs everywhere.

The layers and losses of rnngrad.nn against their closed forms in NumPy, and
the torch conversions of rnngrad.io against a minimal stand-in for torch
(``from_numpy``, and tensors with ``detach``, ``cpu`` and ``numpy``).
"""

import sys
import types

import numpy as np
import pytest
from autograd import grad

from rnngrad import io, nn


def softmax_cross_entropy(logits, targets):
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    return -np.take_along_axis(log_probs, targets[..., None], axis=-1)[..., 0]


def test_cross_entropy_value_and_gradient_equal_the_closed_form():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(5, 4, 7)) * 3
    targets = rng.integers(0, 7, size=(5, 4))
    np.testing.assert_allclose(
        nn.cross_entropy(logits, targets), softmax_cross_entropy(logits, targets).mean(), rtol=1e-13
    )
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    expected = (probs - np.eye(7)[targets]) / targets.size  # d mean(-log p_y) / d z = (p - onehot) / N
    np.testing.assert_allclose(grad(nn.cross_entropy)(logits, targets), expected, rtol=1e-11, atol=1e-15)


def test_cross_entropy_and_mse_weight_positions_by_mask_and_lengths():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(4, 3, 5))
    targets = rng.integers(0, 5, size=(4, 3))
    weights = rng.uniform(0, 2, size=(4, 3))
    per_position = softmax_cross_entropy(logits, targets)
    np.testing.assert_allclose(
        nn.cross_entropy(logits, targets, mask=weights), (weights * per_position).sum() / weights.sum(), rtol=1e-13
    )
    lengths = np.array([4, 2, 0])
    valid = np.arange(4)[:, None] < lengths[None, :]
    np.testing.assert_allclose(
        nn.cross_entropy(logits, targets, lengths=lengths), per_position[valid].mean(), rtol=1e-13
    )
    predictions, values = rng.normal(size=(4, 3, 2)), rng.normal(size=(4, 3, 2))
    np.testing.assert_allclose(
        nn.mean_squared_error(predictions, values), ((predictions - values) ** 2).mean(), rtol=1e-14
    )
    np.testing.assert_allclose(
        nn.mean_squared_error(predictions, values, lengths=lengths),
        ((predictions - values) ** 2).mean(-1)[valid].mean(),
        rtol=1e-14,
    )
    logits[0, 0] = np.eye(5)[targets[0, 0]] * 10  # one position surely right
    expected = (logits.argmax(-1) == targets)[valid].mean()
    assert nn.accuracy(logits, targets, lengths=lengths) == pytest.approx(expected)


def test_linear_embedding_and_their_inits_as_documented():
    params = nn.linear_init(4, 3, seed=0)
    assert params["weight"].shape == (3, 4) and params["bias"].shape == (3,)
    assert np.abs(params["weight"]).max() <= 0.5 and np.abs(params["weight"]).max() > 0.3  # 1/sqrt(4)
    x = np.random.default_rng(1).normal(size=(2, 5, 4))
    np.testing.assert_allclose(nn.linear(params, x), x @ params["weight"].T + params["bias"], rtol=1e-14)
    assert "bias" not in nn.linear_init(4, 3, seed=0, bias=False)
    table = nn.embedding_init(6, 2, seed=0)
    assert table["weight"].shape == (6, 2) and table["weight"].std() > 0.3  # N(0, 1)
    ids = np.array([[0, 5], [5, 2]])
    np.testing.assert_array_equal(nn.embedding(table, ids), table["weight"][ids])
    gradient = grad(lambda t: nn.embedding(t, ids).sum())(table)["weight"]
    np.testing.assert_array_equal(gradient[:, 0], [1, 0, 1, 0, 0, 2])  # repeated ids accumulate


class _Tensor:
    def __init__(self, array):
        self.array = array

    def detach(self):
        return self

    def cpu(self):
        return self

    def numpy(self):
        return self.array


@pytest.fixture
def stand_in_torch(monkeypatch):
    torch = types.ModuleType("torch")
    torch.from_numpy = _Tensor
    monkeypatch.setitem(sys.modules, "torch", torch)
    return torch


def test_torch_state_dict_conversion_round_trips_with_dotted_names_and_copies(stand_in_torch):
    params = {"rnn": {"weight_ih_l0": np.arange(6.0).reshape(2, 3)}, "head": {"bias": np.ones(2)}}
    state = io.to_torch(params)
    assert sorted(state) == ["head.bias", "rnn.weight_ih_l0"]
    np.testing.assert_array_equal(state["rnn.weight_ih_l0"].array, params["rnn"]["weight_ih_l0"])
    state["rnn.weight_ih_l0"].array[0, 0] = 99.0
    assert params["rnn"]["weight_ih_l0"][0, 0] == 0.0  # the tensors own copies
    back = io.from_torch(io.to_torch(params))
    assert back["head"]["bias"].dtype == np.float64
    np.testing.assert_array_equal(back["rnn"]["weight_ih_l0"], params["rnn"]["weight_ih_l0"])
