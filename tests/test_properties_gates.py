"""Gates and gradients: why gated cells exist, and that every derivative is right.

Saturating a gate (its bias at +-1e3, where the stable sigmoid returns
exactly 0 or 1 and its derivative exactly 0) turns a cell's equations into
simple identities that must hold exactly: the LSTM's constant error carousel,
the GRU's copy of its state. A vanilla tanh RNN, by contrast, multiplies its
gradient by diag(tanh') W_hh at every step, which bounds it by a geometric
sequence. Last, every gradient agrees with finite differences.
"""

import warnings
from contextlib import contextmanager

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad, jacobian
from autograd.test_util import check_grads
from hypothesis import given
from hypothesis import strategies as st
from property_support import impl_for, impl_param, saturate, scaled, with_edge_cases

import rnngrad
from rnngrad.testing import model_states, probe_loss, problems

pytestmark = pytest.mark.filterwarnings("ignore:Output seems independent of input")

SATURATED = 1e3
LSTM_INPUT, LSTM_FORGET, LSTM_CANDIDATE, LSTM_OUTPUT = range(4)
GRU_RESET, GRU_UPDATE, GRU_CANDIDATE = range(3)


@contextmanager
def no_overflow():
    """Saturated gates must compute exact 0 and 1 without a warning (a naive sigmoid overflows here)."""
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error", RuntimeWarning)
        yield


def lstm_problems():
    return problems(kinds=("lstm",), bias=True, initial_state=True, max_steps=6)


def state_jacobian(problem, params, index, impl=None):
    """d final[index] / d initial_state[index] as an (L*N*B*S, L*N*B*S) matrix."""
    states = problem.initial_state if isinstance(problem.initial_state, tuple) else (problem.initial_state,)

    def final_of(start):
        changed = tuple(start if i == index else s for i, s in enumerate(states))
        _, final = problem.run(params, initial_state=changed if len(changed) > 1 else changed[0], impl=impl)
        return (final if isinstance(final, tuple) else (final,))[index]

    size = states[index].size
    return jacobian(final_of)(states[index]).reshape(size, size)


def expected_identity_on_empty_sequences(problem, index):
    """The Jacobian of a state that is cut at every valid step: identity on length-0 sequences, zero elsewhere."""
    states = problem.initial_state if isinstance(problem.initial_state, tuple) else (problem.initial_state,)
    empty = ~problem.valid.any(axis=0)  # (B,)
    keep = np.broadcast_to(empty[None, :, None], states[index].shape).astype(float).ravel()
    return np.diag(keep)


@impl_param()
@with_edge_cases(kinds=("lstm",), initial_state=True)
@given(problem=lstm_problems())
def test_lstm_open_forget_gate_and_shut_input_gate_carry_the_cell_state_unchanged(problem, impl):
    """f = 1, i = 0: c' = f c + i g = c exactly, at every step of every layer and direction, for any T."""
    impl = impl_for(problem.model, impl)
    params = saturate(
        saturate(problem.params, problem.model, LSTM_FORGET, SATURATED), problem.model, LSTM_INPUT, -SATURATED
    )
    with no_overflow():
        _, (_, c_n) = problem.run(params, impl=impl)
    np.testing.assert_array_equal(c_n, problem.initial_state[1])


@impl_param()
@with_edge_cases(kinds=("lstm",), initial_state=True)
@scaled(0.5)
@given(problem=lstm_problems())
def test_lstm_constant_error_carousel_has_identity_jacobian(problem, impl):
    """f = 1, i = 0: d c_T / d c_0 = I exactly, so the error flows back through any number of steps undamped."""
    impl = impl_for(problem.model, impl)
    params = saturate(
        saturate(problem.params, problem.model, LSTM_FORGET, SATURATED), problem.model, LSTM_INPUT, -SATURATED
    )
    with no_overflow():
        J = state_jacobian(problem, params, 1, impl)
    np.testing.assert_array_equal(J, np.eye(len(J)))


@impl_param()
@with_edge_cases(kinds=("lstm",), initial_state=True)
@scaled(0.5)
@given(problem=lstm_problems())
def test_lstm_shut_forget_gate_cuts_the_gradient_to_the_first_cell_state(problem, impl):
    """f = 0: c_1 = i g forgets c_0, so d c_T / d c_0 = 0 exactly for every sequence with a valid step."""
    impl = impl_for(problem.model, impl)
    params = saturate(problem.params, problem.model, LSTM_FORGET, -SATURATED)
    with no_overflow():
        J = state_jacobian(problem, params, 1, impl)
    np.testing.assert_array_equal(J, expected_identity_on_empty_sequences(problem, 1))


@impl_param()
@with_edge_cases(kinds=("lstm",), initial_state=True)
@given(problem=lstm_problems())
def test_lstm_shut_output_gate_stops_every_gradient_through_h(problem, impl):
    """o = 0: h = o tanh(c) = 0 and do/dparams = 0, so a loss on h (output, h_n) has zero parameter gradient."""
    impl = impl_for(problem.model, impl)
    params = saturate(problem.params, problem.model, LSTM_OUTPUT, -SATURATED)
    with no_overflow():
        output, _ = problem.run(params, impl=impl)
        gradient = grad(lambda p: probe_loss(*_h_of(problem.run(p, impl=impl))))(params)
    assert not np.any(output)
    for key, value in gradient.items():
        np.testing.assert_array_equal(value, np.zeros_like(value), err_msg=key)


def _h_of(result):
    """(output, h_n) of an LSTM's (output, (h_n, c_n)): everything the loss may see through h."""
    output, (h_n, _) = result
    return output, h_n


def gru_problems():
    return problems(kinds=("gru",), bias=True, initial_state=True, max_steps=6)


@impl_param()
@with_edge_cases(kinds=("gru",), initial_state=True)
@scaled(0.5)
@given(problem=gru_problems())
def test_gru_update_gate_saturated_to_keep_copies_h_with_identity_jacobian(problem, impl):
    """z = 1: h' = (1 - z) n + z h = h, and d h_T / d h_0 = I exactly.

    The value is compared to rounding only: the fused kernel computes the
    same h' as ``n + z (h - n)`` (torch's form), which carries h to within an
    ulp per step rather than bit for bit.
    """
    impl = impl_for(problem.model, impl)
    params = saturate(problem.params, problem.model, GRU_UPDATE, SATURATED)
    with no_overflow():
        _, h_n = problem.run(params, impl=impl)
        J = state_jacobian(problem, params, 0, impl)
    np.testing.assert_allclose(h_n, problem.initial_state, rtol=1e-13, atol=1e-15)
    np.testing.assert_array_equal(J, np.eye(len(J)))


@impl_param()
@with_edge_cases(kinds=("gru",), initial_state=True)
@scaled(0.5)
@given(problem=gru_problems())
def test_gru_update_gate_saturated_to_replace_with_reset_shut_forgets_h0(problem, impl):
    """z = 0, r = 0: h' = n = tanh(W_in x + b_in) ignores h, so d h_T / d h_0 = 0 for every non-empty sequence.

    (With the reset gate open, h_0 still reaches the first candidate through r * (W_hn h + b_hn).)
    """
    impl = impl_for(problem.model, impl)
    params = saturate(problem.params, problem.model, GRU_UPDATE, -SATURATED)
    params = saturate(params, problem.model, GRU_RESET, -SATURATED)
    with no_overflow():
        J = state_jacobian(problem, params, 0, impl)
    np.testing.assert_array_equal(J, expected_identity_on_empty_sequences(problem, 0))


def layer_outputs(problem, k):
    """The (T, B, N*H) outputs of layer k (masked steps zero)."""
    model = problem.model
    states = model_states(model, problem.initial_state, problem.batch, problem.x.dtype)
    split = model.split_params(problem.params)
    output, _ = rnngrad.stack(model.cells[: k + 1], split[: k + 1], problem.x, states[: k + 1], mask=problem.valid)
    return output


@with_edge_cases(kinds=("rnn",), nonlinearity="tanh", initial_state=True)
@scaled(0.5)
@given(problem=problems(kinds=("rnn",), nonlinearity="tanh", initial_state=True, max_steps=6))
def test_tanh_rnn_state_jacobian_is_bounded_by_weight_norm_and_tanh_derivatives(problem):
    """|| d h_T / d h_0 ||_2 <= prod over valid t of ||W_hh||_2 max_i (1 - h_t,i^2), per layer, direction, sequence."""
    model, H, N = problem.model, problem.model.hidden_size, problem.model.num_directions
    J = state_jacobian(problem, problem.params, 0).reshape(model.num_layers * N, problem.batch, H, -1, problem.batch, H)
    split = model.split_params(problem.params)
    for k in range(model.num_layers):
        derivatives = 1.0 - layer_outputs(problem, k) ** 2  # (T, B, N*H)
        for d in range(N):
            norm = np.linalg.norm(split[k][d]["weight_hh"], 2)
            for b in range(problem.batch):
                steps = problem.valid[:, b]
                bound = np.prod(norm * derivatives[steps, b, d * H : (d + 1) * H].max(axis=-1))
                block = J[k * N + d, b, :, k * N + d, b, :]
                assert np.linalg.norm(block, 2) <= bound * (1 + 1e-10) + 1e-300


@scaled(0.3)
@given(
    hidden_size=st.integers(1, 4),
    steps=st.integers(4, 25),
    radius=st.floats(0.2, 0.95),
    seed=st.integers(0, 2**16),
)
def test_tanh_rnn_gradient_vanishes_geometrically_while_the_lstm_carousel_keeps_norm_one(
    hidden_size, steps, radius, seed
):
    """Vanishing gradients: ||W_hh||_2 = rho < 1 gives ||d h_T / d h_0|| <= rho^T for the tanh RNN.

    An LSTM with f = 1, i = 0 run over the same inputs keeps ||d c_T / d c_0|| = 1.
    """
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, size=(steps, 1, 2))
    rnn = rnngrad.RNN(2, hidden_size)
    params = rnn.init(rng)
    params["weight_hh_l0"] *= radius / max(np.linalg.norm(params["weight_hh_l0"], 2), 1e-12)
    h_0 = rng.uniform(-1, 1, size=(1, 1, hidden_size))
    rnn_jacobian = jacobian(lambda h: rnn(params, x, initial_state=h)[1])(h_0).reshape(hidden_size, hidden_size)
    assert np.linalg.norm(rnn_jacobian, 2) <= radius**steps * (1 + 1e-10)

    lstm = rnngrad.LSTM(2, hidden_size)
    lstm_params = saturate(saturate(lstm.init(rng), lstm, LSTM_FORGET, SATURATED), lstm, LSTM_INPUT, -SATURATED)
    c_0 = rng.uniform(-1, 1, size=(1, 1, hidden_size))
    with no_overflow():
        lstm_jacobian = jacobian(lambda c: lstm(lstm_params, x, initial_state=(h_0, c))[1][1])(c_0)
    assert np.linalg.norm(lstm_jacobian.reshape(hidden_size, hidden_size), 2) == 1.0


def _flat_run(problem, impl):
    """(params, x, initial_state) -> every output and final state, one flat vector (forward mode needs one array)."""

    def run(params, x, state):
        output, final = problem.run(params, x, state, impl=impl)
        finals = [final[i] for i in range(len(final))] if isinstance(final, tuple) else [final]
        return anp.concatenate([anp.ravel(output)] + [anp.ravel(f) for f in finals])

    return run


def _arguments(problem):
    """(params, x, initial_state) as one tuple, so that check_grads perturbs all three, not only the first.

    x and the state are moved to a nearby generic point: Hypothesis loves exact zeros, where the relu RNN has
    its kink and finite differences disagree with any one-sided derivative.
    """
    rng = np.random.default_rng(0)
    state = problem.initial_state
    parts = state if isinstance(state, tuple) else (state,)
    parts = tuple(s + 1e-2 * rng.standard_normal(s.shape) for s in parts)
    x = problem.x + 1e-2 * rng.standard_normal(problem.x.shape)
    return (problem.params, x, parts if isinstance(state, tuple) else parts[0])


SMALL = {"max_steps": 3, "max_batch": 2, "max_input_size": 2, "max_hidden_size": 3, "initial_state": True}


@impl_param()
@with_edge_cases(initial_state=True)
@scaled(0.5)
@given(problem=problems(**SMALL))
def test_gradients_match_finite_differences_in_reverse_and_forward_mode(problem, impl):
    """autograd's check_grads: VJPs and JVPs of every parameter, input and initial state against finite differences."""
    run = _flat_run(problem, impl_for(problem.model, impl))
    check_grads(lambda args: run(*args), modes=["rev", "fwd"], order=1)(_arguments(problem))


@impl_param()
@scaled(0.2)
@given(problem=problems(max_layers=2, **SMALL))
def test_second_order_gradients_match_finite_differences(problem, impl):
    """Second derivatives (Hessian-vector products, both modes) agree with finite differences of the first."""
    run = _flat_run(problem, impl_for(problem.model, impl))
    check_grads(lambda args: run(*args), modes=["rev", "fwd"], order=2)(_arguments(problem))
