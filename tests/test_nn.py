"""Layers and losses: torch's values and gradients, stability, masking, named errors."""

import numpy as np
import pytest
from autograd import grad
from autograd.test_util import check_grads

from rnngrad import nn


def _torch():
    """torch, for the tests that compare with it; the others run without it."""
    return pytest.importorskip("torch")


def test_cross_entropy_matches_torch_value_and_gradient():
    torch = _torch()
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(5, 4, 7))
    targets = rng.integers(0, 7, size=(5, 4))
    t_logits = torch.tensor(logits, requires_grad=True)
    expected = torch.nn.functional.cross_entropy(t_logits.reshape(-1, 7), torch.tensor(targets).reshape(-1))
    expected.backward()
    np.testing.assert_allclose(nn.cross_entropy(logits, targets), expected.item(), rtol=1e-13)
    np.testing.assert_allclose(grad(nn.cross_entropy)(logits, targets), t_logits.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_cross_entropy_is_finite_for_huge_logits():
    logits = np.array([[1e4, -1e4, 0.0]])
    assert nn.cross_entropy(logits, np.array([0])) == 0.0
    np.testing.assert_allclose(nn.cross_entropy(logits, np.array([1])), 2e4)
    assert np.all(np.isfinite(grad(nn.cross_entropy)(logits, np.array([1]))))


def test_cross_entropy_lengths_ignore_padding_in_value_and_gradient():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(4, 3, 5))
    targets = rng.integers(0, 5, size=(4, 3))
    lengths = np.array([4, 1, 0])
    loss = nn.cross_entropy(logits, targets, lengths=lengths)
    kept = [(t, b) for b in range(3) for t in range(lengths[b])]
    manual = np.mean([nn.cross_entropy(logits[t, b][None], targets[t, b][None]) for t, b in kept])
    np.testing.assert_allclose(loss, manual, rtol=1e-13)
    g = grad(lambda z: nn.cross_entropy(z, targets, lengths=lengths))(logits)
    assert np.all(g[1:, 1] == 0) and np.all(g[:, 2] == 0)
    np.testing.assert_array_equal(loss, nn.cross_entropy(logits, targets, mask=np.arange(4)[:, None] < lengths))


def test_losses_have_exact_second_derivatives():
    rng = np.random.default_rng(2)
    targets = rng.integers(0, 3, size=(4,))
    check_grads(lambda z: nn.cross_entropy(z, targets), modes=["rev"], order=2)(rng.normal(size=(4, 3)))
    y = rng.normal(size=(4, 2))
    check_grads(lambda p: nn.mean_squared_error(p, y), modes=["rev", "fwd"], order=2)(rng.normal(size=(4, 2)))


def test_mean_squared_error_matches_torch():
    torch = _torch()
    rng = np.random.default_rng(3)
    p, y = rng.normal(size=(6, 2)), rng.normal(size=(6, 2))
    expected = torch.nn.functional.mse_loss(torch.tensor(p), torch.tensor(y)).item()
    np.testing.assert_allclose(nn.mean_squared_error(p, y), expected, rtol=1e-14)


def test_linear_and_embedding_match_torch_modules():
    torch = _torch()
    rng = np.random.default_rng(4)
    lin = nn.linear_init(5, 3, seed=0)
    module = torch.nn.Linear(5, 3).double()
    module.load_state_dict({k: torch.tensor(v) for k, v in lin.items()})
    x = rng.normal(size=(2, 4, 5))
    np.testing.assert_allclose(nn.linear(lin, x), module(torch.tensor(x)).detach().numpy(), rtol=1e-14)
    table = nn.embedding_init(10, 4, seed=0)
    ids = rng.integers(0, 10, size=(3, 2))
    np.testing.assert_array_equal(nn.embedding(table, ids), table["weight"][ids])
    counts = grad(lambda p: nn.embedding(p, ids).sum())(table)["weight"][:, 0]
    np.testing.assert_array_equal(counts, np.bincount(ids.ravel(), minlength=10))


def test_accuracy_counts_only_masked_positions():
    logits = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 0.0]])
    assert nn.accuracy(logits, np.array([1, 0, 1])) == pytest.approx(2 / 3)
    assert nn.accuracy(logits, np.array([1, 0, 1]), mask=np.array([True, True, False])) == 1.0


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: nn.cross_entropy(np.zeros((2, 3)), np.array([0, 3])), ValueError, r"targets: .*\[0, 3\)"),
        (lambda: nn.cross_entropy(np.zeros((2, 3)), np.array([0.0, 1.0])), TypeError, "targets: expected integers"),
        (lambda: nn.cross_entropy(np.zeros((2, 3)), np.array([0])), ValueError, r"targets: expected shape \(2,\)"),
        (lambda: nn.cross_entropy(np.zeros((2, 2, 3)), np.zeros((2, 2), int), lengths=[3, 1]), ValueError, "lengths"),
        (lambda: nn.mean_squared_error(np.zeros((2, 1)), np.zeros((2,))), ValueError, "targets: expected"),
        (lambda: nn.embedding(nn.embedding_init(4, 2, 0), np.array([4])), ValueError, r"ids: .*\[0, 4\)"),
        (lambda: nn.linear(nn.linear_init(3, 2, 0), np.zeros((1, 4))), ValueError, "in_features=3"),
        (lambda: nn.linear_init(0, 2), ValueError, "in_features"),
        (lambda: nn.embedding_init(3, 2, dtype=np.int32), TypeError, "dtype"),
    ],
)
def test_errors_name_the_argument(call, error, match):
    with pytest.raises(error, match=match):
        call()
