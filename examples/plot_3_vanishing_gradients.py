r"""
Vanishing gradients: how far back a loss reaches
================================================

A loss on the last step of a sequence reaches the input at step :math:`t`
through :math:`T - t` Jacobians of the recurrence. In a tanh RNN each one
is :math:`\operatorname{diag}(1 - h_s^2)\, W_{hh}`, and their product shrinks
geometrically; in an LSTM the cell state's Jacobian is
:math:`\operatorname{diag}(f_s)`, so a forget gate held open carries the
gradient across many steps. :mod:`rnngrad.diagnostics` measures the norm of
the gradient with respect to each step's hidden state.
"""

# %%
# Measure the gradient per step
# -----------------------------
# For each cell, :func:`~rnngrad.diagnostics.hidden_gradient_norms` returns
# :math:`\|\partial L / \partial h_t\|` for a loss reading the last output,
# averaged over a batch of random inputs. The LSTM is measured twice: at
# torch's initialization, where forget gates sit near 0.5, and with the
# forget gates' bias at 1 (:meth:`rnngrad.Cell.init`), which opens them.
import autograd.numpy as anp
import matplotlib.pyplot as plt
import numpy as np

import rnngrad
from rnngrad.diagnostics import hidden_gradient_norms

T, B, D, H = 100, 8, 4, 32
x = np.random.default_rng(0).normal(size=(T, B, D))


def last_step_loss(outputs):
    return anp.sum(outputs[-1])


cells = {
    "tanh RNN": (rnngrad.RNN(D, H), {}),
    "LSTM": (rnngrad.LSTM(D, H), {}),
    "LSTM, forget bias 1": (rnngrad.LSTM(D, H), {"forget_bias": 1.0}),
    "GRU": (rnngrad.GRU(D, H), {}),
}
norms = {}
for name, (model, options) in cells.items():
    cell = model.cells[0][0]
    params = cell.init(0, **options)
    norms[name] = hidden_gradient_norms(cell, params, x, last_step_loss)
    print(f"{name:<20} ||dL/dh_t|| at t = 0: {norms[name][0]:.2e}, at t = T-1: {norms[name][-1]:.2e}")

# %%
# On a log scale the tanh RNN's gradient falls along a straight line (a
# geometric decay); the gated cells at initialization fall too, only the
# LSTM whose forget gates start open keeps a usable gradient a hundred steps
# back. Training can open the gates as well; this is the starting point.
fig, ax = plt.subplots(figsize=(7, 3.8))
for name, values in norms.items():
    ax.semilogy(range(T), values, label=name)
ax.set_xlabel("step t")
ax.set_ylabel(r"$\|\partial L / \partial h_t\|$")
ax.set_title("gradient of a loss on the last step, per step")
ax.legend()
fig.tight_layout()
plt.show()
