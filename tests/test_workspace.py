"""The kernels' workspace reuses a buffer only when nothing refers to it any more.

A buffer handed out twice while in use would overwrite a saved residual, an
output the caller kept or a gradient in the caller's hands, and return wrong
numbers silently. These tests hold such arrays across later calls and check
they are unchanged, and check the bound on the memory held.
"""

import threading

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad, make_vjp

import rnngrad
from rnngrad.kernels import workspace
from rnngrad.kernels._workspace import Workspace

SIZE = (100, 200)  # 160 kB in float64: above the threshold
CELLS = [
    pytest.param(lambda: rnngrad.RNN(6, 24), id="rnn"),
    pytest.param(lambda: rnngrad.LSTM(6, 24), id="lstm"),
    pytest.param(lambda: rnngrad.LSTM(6, 24, proj_size=5), id="lstm-proj"),
    pytest.param(lambda: rnngrad.GRU(6, 24), id="gru"),
]


def address(array):
    return array.__array_interface__["data"][0]


@pytest.fixture
def fresh():
    return Workspace(limit=10 * 2**20, threshold=0)


@pytest.fixture
def every_buffer():
    """The kernels' workspace takes every buffer, however small, as it does the large ones."""
    threshold = workspace.threshold
    workspace.threshold = 0
    yield
    workspace.threshold = threshold


def test_a_released_buffer_is_reused_and_a_held_one_is_not(fresh):
    first = fresh.empty(SIZE, np.float64)
    held = fresh.empty(SIZE, np.float64)
    assert address(first) != address(held)
    where = address(first)
    del first
    again = fresh.empty(SIZE[::-1], np.float64)  # same bytes, any shape
    assert address(again) == where
    assert fresh.nbytes == 2 * again.nbytes


def test_a_smaller_request_takes_an_idle_buffer_up_to_twice_its_size(fresh):
    where = address(fresh.empty(SIZE, np.float64))  # released at once
    assert address(fresh.empty((100, 101), np.float64)) == where  # 1.98x: taken
    assert fresh.nbytes == 160_000
    assert address(fresh.empty((100, 99), np.float64)) != where  # 2.02x: too wasteful, a new buffer
    assert fresh.nbytes == 160_000 + 79_200


def test_a_view_keeps_its_buffer_busy(fresh):
    first = fresh.empty(SIZE, np.float64)
    view = first[10:, ::3].T
    where = address(first)
    del first
    assert all(address(fresh.empty(SIZE, np.float64)) != where for _ in range(3))
    del view
    assert address(fresh.empty(SIZE, np.float64)) == where


def test_dtype_and_shape_of_what_is_handed_out(fresh):
    array = fresh.empty((3, 4, 5), np.float32)
    assert array.shape == (3, 4, 5) and array.dtype == np.float32 and array.flags.c_contiguous


def test_the_limit_bounds_what_is_held(fresh):
    fresh.limit = 3 * 160_000
    kept = [fresh.empty(SIZE, np.float64) for _ in range(5)]  # two of them past the limit: plain arrays
    assert fresh.nbytes == 3 * 160_000
    assert all(array.shape == SIZE for array in kept)
    del kept
    fresh.empty((50, 50), np.float64)  # a new size: idle buffers make room for it
    assert fresh.nbytes <= fresh.limit


def test_clear_drops_idle_buffers_only(fresh):
    busy = fresh.empty(SIZE, np.float64)
    fresh.empty(SIZE, np.float64)
    assert fresh.clear() == 160_000
    assert fresh.nbytes == 160_000
    busy[...] = 1.0
    assert fresh.empty(SIZE, np.float64) is not busy


def test_limit_zero_turns_reuse_off(fresh):
    fresh.limit = 0
    fresh.empty(SIZE, np.float64)
    assert fresh.nbytes == 0


def test_lowering_the_limit_drops_idle_buffers_at_once(fresh):
    busy = fresh.empty(SIZE, np.float64)
    for _ in range(3):
        fresh.empty((50, 400), np.float64)  # 160 kB, released at once: one idle buffer, reused
    fresh.empty((300, 100), np.float64)  # 240 kB, idle
    assert fresh.nbytes == 160_000 + 160_000 + 240_000
    fresh.limit = 200_000
    assert fresh.nbytes == 160_000  # what is busy stays, over the limit until it is released
    fresh.limit = 0
    assert fresh.nbytes == 160_000
    del busy
    fresh.clear()
    assert fresh.nbytes == 0


def test_shapes_and_dtypes_as_numpy_empty_takes_them(fresh):
    assert fresh.empty(30_000, np.float64).shape == (30_000,)
    assert fresh.empty(np.int64(30_000), "f4").dtype == np.float32
    objects = fresh.empty((30_000,), object)  # never pooled: a buffer of references cannot be reinterpreted
    assert objects.dtype == object and fresh.nbytes == 240_000


def test_the_idle_count_is_calibrated_on_this_interpreter():
    from rnngrad.kernels import _workspace as module

    held = [np.empty(3)]
    assert module._idle(held, 0)
    outside = held[0][1:]
    assert not module._idle(held, 0)
    del outside
    assert module._idle(held, 0)


def _problem(make, seed=0, steps=40, batch=6):
    model = make()
    rng = np.random.default_rng(seed)
    params = model.init(rng)
    x = rng.normal(size=(steps, batch, 6))
    return model, params, x


def _loss(model, x, lengths=None):
    def loss(params):
        output, final = model(params, x, lengths=lengths)
        finals = final if isinstance(final, tuple) else (final,)
        return anp.sum(output * output) + sum(anp.sum(f) for f in finals)

    return loss


@pytest.mark.parametrize("make", CELLS)
def test_outputs_kept_by_the_caller_survive_later_calls(every_buffer, make):
    model, params, x = _problem(make)
    output, final = model(params, x)
    saved = (np.copy(output), [np.copy(f) for f in (final if isinstance(final, tuple) else (final,))])
    for seed in range(3):
        model(params, np.random.default_rng(seed).normal(size=x.shape))
    np.testing.assert_array_equal(output, saved[0])
    for kept, copy in zip(final if isinstance(final, tuple) else (final,), saved[1]):
        np.testing.assert_array_equal(kept, copy)


@pytest.mark.parametrize("make", CELLS)
def test_gradients_kept_by_the_caller_survive_later_calls(every_buffer, make):
    """The gradient of one layer's unroll w.r.t. its inputs alone is the kernel's own array, not a copy."""
    model, params, x = _problem(make)
    cell, cell_params = model.cells[0][0], model.split_params(params)[0][0]
    state = tuple(np.zeros((x.shape[1], size)) for size in cell.state_sizes)

    def loss(inputs):
        output, _ = rnngrad.unroll(cell, cell_params, inputs, state)
        return anp.sum(output * output)

    first = grad(loss)(x)
    saved = np.copy(first)
    for seed in range(3):
        grad(loss)(np.random.default_rng(seed).normal(size=x.shape))
    np.testing.assert_array_equal(first, saved)


@pytest.mark.parametrize("make", CELLS)
@pytest.mark.parametrize("lengths", [None, [40, 3, 17, 0, 40, 25]])
def test_residuals_on_a_pending_tape_survive_other_calls(every_buffer, make, lengths):
    """Two forward passes, then the first backward: its saved forward arrays must be its own."""
    model, params, x = _problem(make)
    other = np.random.default_rng(1).normal(size=x.shape)
    expected = grad(_loss(model, x, lengths))(params)
    vjp_first, value_first = make_vjp(_loss(model, x, lengths))(params)
    vjp_other, _ = make_vjp(_loss(model, other, lengths))(params)
    vjp_other(1.0)
    got = vjp_first(1.0)
    assert value_first == _loss(model, x, lengths)(params)
    for name in expected:
        np.testing.assert_array_equal(got[name], expected[name], err_msg=name)


def test_threads_computing_at_once_get_the_numbers_they_would_alone(every_buffer):
    """A smoke test: four threads share the workspace; each gradient equals the one computed alone."""
    model, params, x = _problem(lambda: rnngrad.LSTM(6, 24), steps=60, batch=8)
    inputs = [np.random.default_rng(seed).normal(size=x.shape) for seed in range(4)]
    expected = [grad(_loss(model, xs))(params) for xs in inputs]
    results = [None] * len(inputs)

    def work(k):
        for _ in range(5):
            results[k] = grad(_loss(model, inputs[k]))(params)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(len(inputs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for got, want in zip(results, expected):
        for name in want:
            np.testing.assert_array_equal(got[name], want[name], err_msg=name)


def test_repeated_training_steps_hold_memory_steady(every_buffer):
    """The point of the workspace: a loop of same-shaped calls stops allocating after the first."""
    model, params, x = _problem(lambda: rnngrad.LSTM(6, 24), steps=200, batch=16)
    gradient = grad(_loss(model, x))
    workspace.clear()
    gradient(params)
    held = workspace.nbytes
    assert held > 0
    for _ in range(3):
        gradient(params)
    assert workspace.nbytes == held


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs fork")
def test_a_forked_child_starts_with_an_empty_workspace_and_a_free_lock():
    import os
    import signal

    kept = workspace.empty((200, 200), np.float64)  # noqa: F841 (held by the parent across the fork)
    with workspace._lock:  # as if another thread were inside empty() at the fork
        workspace._buckets[12345] = []  # and halfway through an update
        pid = os.fork()
        if pid == 0:  # the child: must not wait forever on the copied, held lock
            signal.alarm(10)  # if it does, SIGALRM ends the child and the parent sees it killed
            try:
                assert workspace.nbytes == 0 and not workspace._buckets
                workspace.empty((200, 200), np.float64)
                assert workspace.nbytes == 320_000
            except BaseException:
                os._exit(1)
            os._exit(0)
        del workspace._buckets[12345]
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
