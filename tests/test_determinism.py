"""Determinism and threads: a seed fixes everything, a call is pure, threads change nothing.

Equality here is bit for bit: the same inputs on the same machine give the
same bits, whether the calls run one after another or at once in threads.
"""

from concurrent.futures import ThreadPoolExecutor

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad

import rnngrad

IMPLS = ["fused", "reference"]
MODELS = [
    rnngrad.RNN(3, 5, num_layers=2, nonlinearity="relu"),
    rnngrad.LSTM(3, 5, num_layers=2, bidirectional=True, proj_size=2),
    rnngrad.GRU(3, 5, num_layers=2, bidirectional=True, batch_first=True),
]
MODEL_IDS = ["rnn", "lstm", "gru"]


def assert_same_bits(got, want):
    if isinstance(want, dict):
        assert list(got) == list(want)
        for key in want:
            assert_same_bits(got[key], want[key])
    elif isinstance(want, (tuple, list)):
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert_same_bits(g, w)
    else:
        assert got.dtype == want.dtype and got.shape == want.shape and got.tobytes() == want.tobytes()


def problem(model, seed):
    """Params, x, lengths for ``model``; every seed gives a different problem."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(6, 4, 3))
    if model.batch_first:
        x = np.swapaxes(x, 0, 1)
    return model.init(seed=seed), x, rng.integers(0, 7, size=4)


def loss_and_gradient(model, params, x, lengths, impl, rng=None):
    def loss(params):
        output, _ = model(params, x, lengths=lengths, impl=impl, train=rng is not None, rng=rng)
        return anp.sum(anp.tanh(output))

    return loss(params), grad(loss)(params)


@pytest.mark.parametrize("model", MODELS, ids=MODEL_IDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_same_seed_gives_the_same_params(model, dtype):
    options = {"dtype": dtype, "recurrent_init": "orthogonal"}
    assert_same_bits(model.init(seed=7, **options), model.init(seed=7, **options))
    assert_same_bits(model.init(seed=np.random.default_rng(7), **options), model.init(seed=7, **options))
    different = model.init(seed=8, **options)
    assert any(not np.array_equal(different[k], v) for k, v in model.init(seed=7, **options).items())


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("model", MODELS, ids=MODEL_IDS)
def test_a_call_leaves_its_arguments_unchanged(model, impl):
    params, x, lengths = problem(model, 0)
    rows = model.num_layers * model.num_directions
    initial = np.ones((rows, 4, model.cells[0][0].state_sizes[0]))
    state = initial if not isinstance(model, rnngrad.LSTM) else (initial, np.ones((rows, 4, 5)))
    state_copy = tuple(s.copy() for s in state) if isinstance(state, tuple) else state.copy()
    copies = [{k: v.copy() for k, v in params.items()}, x.copy(), lengths.copy(), state_copy]
    loss_and_gradient(model, params, x, lengths, impl)
    model(params, x, lengths=lengths, initial_state=state, impl=impl)
    assert_same_bits([params, x, lengths, state], copies)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("model", MODELS, ids=MODEL_IDS)
def test_repeated_calls_give_the_same_bits(model, impl):
    """No hidden state or cache: the tenth call is the first."""
    params, x, lengths = problem(model, 1)
    first = loss_and_gradient(model, params, x, lengths, impl)
    for _ in range(9):
        assert_same_bits(loss_and_gradient(model, params, x, lengths, impl), first)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("model", MODELS, ids=MODEL_IDS)
def test_concurrent_calls_from_threads_match_sequential_ones(model, impl):
    problems = [problem(model, seed) for seed in range(12)]
    sequential = [loss_and_gradient(model, *p, impl) for p in problems]
    with ThreadPoolExecutor(max_workers=4) as pool:
        concurrent = list(pool.map(lambda p: loss_and_gradient(model, *p, impl), problems))
    assert_same_bits(concurrent, sequential)


def test_concurrent_training_steps_with_their_own_generators_match_sequential_ones():
    """Dropout draws from the generator passed in, never from a global one, so threads cannot disturb it."""
    model = rnngrad.LSTM(3, 5, num_layers=3, dropout=0.4, weight_dropout=0.2, variational_dropout=0.1)
    params, x, lengths = problem(model, 2)

    def step(seed):
        return loss_and_gradient(model, params, x, lengths, None, rng=np.random.default_rng(seed))

    sequential = [step(seed) for seed in range(8)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        assert_same_bits(list(pool.map(step, range(8))), sequential)


def test_the_same_seed_gives_the_same_training_run():
    """Init, dropout masks and updates all follow from the seeds: two runs end in the same bits."""

    def train(seed):
        model = rnngrad.GRU(3, 5, num_layers=2, dropout=0.3, bidirectional=True)
        params = model.init(seed=seed)
        data = np.random.default_rng(seed)
        noise = np.random.default_rng(seed + 1)
        for _ in range(5):
            x = data.normal(size=(6, 4, 3))
            _, gradient = loss_and_gradient(model, params, x, data.integers(0, 7, size=4), None, rng=noise)
            params = {key: value - 0.1 * gradient[key] for key, value in params.items()}
        return params

    assert_same_bits(train(3), train(3))
    assert not np.array_equal(train(3)["weight_ih_l0"], train(4)["weight_ih_l0"])
