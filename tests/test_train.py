"""Training helpers: clipping, batching, truncated BPTT, the fit loop and its reproducibility."""

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad

import rnngrad
from rnngrad import nn
from rnngrad.train import (
    clip_by_global_norm,
    fit,
    global_norm,
    minibatches,
    pad_sequences,
    stop_gradient,
    stream_batches,
    truncated_bptt,
)


def test_clip_by_global_norm_caps_the_length_and_keeps_the_direction():
    tree = {"a": np.array([3.0, 0.0]), "b": [np.array([[4.0]])]}
    clipped, norm = clip_by_global_norm(tree, 1.0)
    assert norm == 5.0 and global_norm(clipped) == pytest.approx(1.0)
    np.testing.assert_allclose(clipped["a"], [0.6, 0.0])
    np.testing.assert_allclose(clipped["b"][0], [[0.8]])
    same, _ = clip_by_global_norm(tree, 10.0)
    assert same is tree
    with pytest.raises(ValueError, match="max_norm"):
        clip_by_global_norm(tree, 0.0)


def test_minibatches_cover_every_example_once_and_repeat_by_seed():
    batches = list(minibatches(10, 4, seed=3))
    assert [len(b) for b in batches] == [4, 4, 2]
    assert sorted(np.concatenate(batches)) == list(range(10))
    assert all(np.array_equal(a, b) for a, b in zip(batches, minibatches(10, 4, seed=3)))
    assert [len(b) for b in minibatches(10, 4, seed=3, drop_last=True)] == [4, 4]


def test_pad_sequences_is_time_major_with_lengths():
    padded, lengths = pad_sequences([np.array([1, 2, 3]), np.array([4]), np.array([], dtype=int)])
    np.testing.assert_array_equal(lengths, [3, 1, 0])
    np.testing.assert_array_equal(padded, [[1, 4, 0], [2, 0, 0], [3, 0, 0]])
    features, _ = pad_sequences([np.ones((2, 5)), np.ones((1, 5))])
    assert features.shape == (2, 2, 5)


def test_stream_batches_continue_each_column_from_chunk_to_chunk():
    stream = np.arange(41)
    chunks = stream_batches(stream, batch_size=4, num_steps=3)
    inputs = np.concatenate([x for x, _ in chunks])
    targets = np.concatenate([y for _, y in chunks])
    np.testing.assert_array_equal(inputs[:, 1], np.arange(10, 20))
    np.testing.assert_array_equal(targets, inputs + 1)
    assert [len(x) for x, _ in chunks] == [3, 3, 3, 1]


def test_truncated_bptt_carries_the_state_and_cuts_the_gradient():
    lstm = rnngrad.LSTM(2, 3)
    params = lstm.init(0)
    x = np.random.default_rng(0).normal(size=(6, 2, 2))
    chunks = [x[:3], x[3:]]

    def chunk_loss(p, chunk, state):
        out, final = lstm(p, chunk, initial_state=state)
        return anp.sum(out**2), final

    loss_fn, batches = truncated_bptt(chunk_loss, chunks)
    first = next(batches)
    loss_fn(params, first)
    second = next(batches)
    _, whole_state = lstm(params, x[:3])
    np.testing.assert_array_equal(second.state[0], whole_state[0])
    # The second chunk's gradient treats the carried state as a constant.
    expected = grad(lambda p: chunk_loss(p, x[3:], whole_state)[0])(params)
    got = grad(loss_fn)(params, second)
    for key in params:
        np.testing.assert_allclose(got[key], expected[key], rtol=1e-13)
    # The forward pass over the chunks equals one pass over the whole stream.
    out_whole, _ = lstm(params, x)
    out_second, _ = lstm(params, x[3:], initial_state=stop_gradient(whole_state))
    np.testing.assert_allclose(out_second, out_whole[3:], rtol=1e-13)
    # A new pass over the chunks starts again from the initial state.
    assert next(batches).state is None


def _regression(seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(64, 3))
    y = x @ np.array([[1.0], [-2.0], [0.5]]) + 0.1
    return x, y


def _loss(p, batch):
    x, y = batch
    return nn.mean_squared_error(nn.linear(p, x), y)


def _batches(x, y, seed):
    rng = np.random.default_rng(seed)
    while True:
        for idx in minibatches(len(x), 16, rng):
            yield x[idx], y[idx]


def test_fit_is_reproducible_and_learns():
    x, y = _regression(0)
    runs = [
        fit(_loss, nn.linear_init(3, 1, seed=1), _batches(x, y, 2), num_steps=300, step_size=0.05, max_grad_norm=10)
        for _ in range(2)
    ]
    np.testing.assert_array_equal(runs[0].params["weight"], runs[1].params["weight"])
    assert runs[0].losses[-1] < 1e-3 < runs[0].losses[0]
    sgd = fit(_loss, nn.linear_init(3, 1, seed=1), _batches(x, y, 2), num_steps=300, optimizer="sgd", step_size=0.1)
    assert sgd.losses[-1] < 0.01


def test_fit_stops_early_and_keeps_the_best_parameters():
    x, y = _regression(1)
    metrics = iter([0.5, 0.9, 0.8, 0.7, 0.95])

    def evaluate(p):
        return next(metrics)

    result = fit(
        _loss,
        nn.linear_init(3, 1, seed=0),
        _batches(x, y, 0),
        num_steps=100,
        evaluate=evaluate,
        eval_every=5,
        patience=2,
    )
    assert result.stopped_early and result.best_step == 10 and result.best_metric == 0.9
    assert [step for step, _ in result.evaluations] == [5, 10, 15, 20]
    assert len(result.losses) == 21


def test_fit_errors_name_the_argument():
    with pytest.raises(ValueError, match="optimizer"):
        fit(_loss, {}, iter([]), num_steps=1, optimizer="lbfgs")
    with pytest.raises(ValueError, match="batches: ran out after 2"):
        fit(_loss, nn.linear_init(3, 1, seed=0), iter([_regression(0)] * 2), num_steps=5)


def test_truncated_bptt_loss_is_a_pure_function_of_params_and_batch():
    lstm = rnngrad.LSTM(2, 3)
    params = lstm.init(0)
    x = np.random.default_rng(1).normal(size=(6, 2, 2))

    def chunk_loss(p, chunk, state):
        out, final = lstm(p, chunk, initial_state=state)
        return anp.sum(out**2), final

    loss_fn, batches = truncated_bptt(chunk_loss, [x[:3], x[3:]])
    first = next(batches)
    loss_fn(params, first)
    second = next(batches)
    # a second evaluation of one batch (a line search, Hessian-free's CG) sees the same state
    values = [loss_fn(params, second) for _ in range(3)]
    assert values[0] == values[1] == values[2]


def test_truncated_bptt_refuses_to_carry_a_state_that_was_never_computed():
    loss_fn, batches = truncated_bptt(lambda p, chunk, state: (0.0, state), [1, 2])
    next(batches)
    with pytest.raises(RuntimeError, match="never evaluated"):
        next(batches)


@pytest.mark.parametrize("scale", [1e-30, 1.0, 1e19, 1e30, 3e38])
def test_clip_by_global_norm_caps_float32_gradients_of_any_size(scale):
    tree = {"w": np.full(4, scale, dtype=np.float32), "b": np.full(2, -scale / 2, dtype=np.float32)}
    exact = float(np.sqrt(4 * float(np.float32(scale)) ** 2 + 2 * float(np.float32(-scale / 2)) ** 2))
    clipped, norm = clip_by_global_norm(tree, 1e-3)
    assert norm == pytest.approx(exact, rel=1e-6)
    assert clipped["w"].dtype == np.float32
    assert global_norm(clipped) == pytest.approx(min(1e-3, exact), rel=1e-6)


def test_global_norm_of_float64_above_the_square_overflow_is_finite():
    assert global_norm({"w": np.array([3e200, 4e200])}) == pytest.approx(5e200, rel=1e-15)
