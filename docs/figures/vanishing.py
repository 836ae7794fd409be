"""How much the state at step t still moves the state at step T: ||dh_T / ds_t|| for RNN, LSTM and GRU.

The state s_t after step t is perturbed by a bump b_t (all bumps zero, so the
run itself is unchanged) and autograd gives the Jacobian of h_T with respect
to every bump at once: its block for step t is dh_T / ds_t. For the LSTM, s_t
is the pair (h_t, c_t).
"""

import autograd.numpy as anp
import matplotlib.pyplot as plt
import numpy as np
from autograd import jacobian
from drawing import COLOURS

import rnngrad

T, D, H = 100, 4, 32


def sensitivity(cell, params, x):
    """The spectral norm of dh_T / ds_t for t = 0 .. T-1 (one sequence)."""
    sizes = cell.state_sizes
    splits = np.cumsum(sizes)[:-1]

    def final_h(bumps):  # bumps (T, 1, sum(sizes))
        state = cell.initial_state(1)
        for t in range(T):
            _, state = cell.step(params, x[t], state)
            state = tuple(s + b for s, b in zip(state, anp.split(bumps[t], splits, axis=-1)))
        return state[0][0]

    J = jacobian(final_h)(np.zeros((T, 1, sum(sizes))))  # (H, T, 1, sum(sizes))
    return np.array([np.linalg.norm(J[:, t, 0, :], 2) for t in range(T)])


def with_gate_bias(params, gate, value):
    """A copy of ``params`` whose hidden bias for gate rows ``gate`` (a slice) is raised by ``value``."""
    params = dict(params)
    params["bias_hh"] = params["bias_hh"].copy()
    params["bias_hh"][gate] += value
    return params


x = np.random.default_rng(0).normal(size=(T, 1, D))
rnn, lstm, gru = rnngrad.RNNCell(D, H), rnngrad.LSTMCell(D, H), rnngrad.GRUCell(D, H)
rnn_params, lstm_params, gru_params = rnn.init(1), lstm.init(1), gru.init(1)
forget, update = slice(H, 2 * H), slice(H, 2 * H)  # LSTM rows (i, f, g, o), GRU rows (r, z, n)
curves = [
    ("RNN, torch's initialization", rnn, rnn_params, "RNN", "-"),
    ("RNN, $W_{hh}$ scaled by 4", rnn, {**rnn_params, "weight_hh": 4 * rnn_params["weight_hh"]}, "RNN", "--"),
    ("LSTM, torch's initialization", lstm, lstm_params, "LSTM", "-"),
    ("LSTM, forget gate bias + 3", lstm, with_gate_bias(lstm_params, forget, 3.0), "LSTM", "--"),
    ("GRU, torch's initialization", gru, gru_params, "GRU", "-"),
    ("GRU, update gate bias + 3", gru, with_gate_bias(gru_params, update, 3.0), "GRU", "--"),
]

fig, ax = plt.subplots(figsize=(7.5, 4.0))
distance = T - 1 - np.arange(T)  # how many steps separate s_t from h_T
for label, cell, params, family, style in curves:
    ax.semilogy(distance, sensitivity(cell, params, x), style, color=COLOURS[family], label=label, linewidth=1.6)
ax.axhline(1.0, color=COLOURS["muted"], linewidth=0.8, linestyle=":")
ax.set_xlabel("steps between $s_t$ and $h_T$   ($T - 1 - t$)")
ax.set_ylabel(r"$\| \partial h_T / \partial s_t \|_2$")
ax.set_xlim(0, T - 1)
ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=9)
ax.set_title(f"gradient reaching back from the last step (D = {D}, H = {H}, T = {T})", fontsize=10)
