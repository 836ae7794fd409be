r"""
The cell unrolled: one weight shared by every step
==================================================

A recurrent network applies the same cell at every step: unrolled over
:math:`T` steps it is a deep feed-forward network whose :math:`T` layers
share one set of weights. The chain rule then says that the gradient of a
shared weight is the sum, over time, of the gradients each step's copy
would get if it were a weight of its own:

.. math::

    \frac{\partial L}{\partial W} = \sum_{t=1}^{T} \frac{\partial L}{\partial W_t}
    \Big|_{W_1 = \dots = W_T = W}.

This example checks that numerically: it unrolls an Elman RNN cell by hand
with one *untied* copy of the weights per step, takes the gradient with
respect to every copy, and compares their sum with the gradient of the
ordinary (tied) model.
"""

# %%
# The tied model and its gradient
# -------------------------------
# An Elman RNN (:math:`h_t = \tanh(x_t W_{ih}^\top + b_{ih} + h_{t-1} W_{hh}^\top + b_{hh})`)
# on 12 steps, with a loss that reads the last hidden state only.
import autograd.numpy as anp
import matplotlib.pyplot as plt
import numpy as np
from autograd import grad

import rnngrad

T, B, D, H = 12, 4, 3, 5
rnn = rnngrad.RNN(D, H)
params = rnn.init(seed=0)
x = np.random.default_rng(0).normal(size=(T, B, D))
target = np.random.default_rng(1).normal(size=(B, H))


def tied_loss(params):
    _, h_n = rnn(params, x)
    return anp.sum((h_n[0] - target) ** 2)


tied = grad(tied_loss)(params)
print("dL/dW_hh of the tied model, norm", np.linalg.norm(tied["weight_hh_l0"]))

# %%
# The same network, untied
# ------------------------
# The model's single cell, ``rnn.cells[0][0]``, computes one step from a
# parameter dict without the layer suffix (``weight_hh``, ...). Calling it
# in a Python loop with a *different* dict at each step unrolls the network
# by hand; with every copy equal to the shared weights, its value is the
# model's.
cell = rnn.cells[0][0]
shared = {name[: -len("_l0")]: value for name, value in params.items()}


def untied_loss(copies):
    h = anp.zeros((B, H))
    for t in range(T):
        h, _ = cell.step(copies[t], x[t], (h,))
    return anp.sum((h - target) ** 2)


copies = [dict(shared) for _ in range(T)]
print("same value:", np.isclose(untied_loss(copies), tied_loss(params)))
per_step = grad(untied_loss)(copies)

# %%
# The sum over time is the shared gradient
# ----------------------------------------
# Each copy gets its own gradient :math:`\partial L / \partial W_t`; their
# sum equals the tied model's gradient to rounding, for every parameter.
for name in shared:
    total = sum(step[name] for step in per_step)
    error = np.abs(total - tied[name + "_l0"]).max()
    print(f"{name:<10} max |sum_t dL/dW_t - dL/dW| = {error:.1e}")

# %%
# How much each step contributes
# ------------------------------
# The loss reads the last state, so the last step's copy gets the largest
# gradient, and earlier copies get less and less: the gradient reaching
# step :math:`t` has passed through :math:`T - t` Jacobians of the tanh
# recurrence (see the next example, on vanishing gradients).
norms = [np.linalg.norm(step["weight_hh"]) for step in per_step]
fig, ax = plt.subplots(figsize=(7, 3.5))
ax.bar(range(1, T + 1), norms, color="tab:blue")
ax.set_xlabel("step t")
ax.set_ylabel(r"$\|\partial L / \partial W_{hh,t}\|$")
ax.set_title("the shared weight's gradient, split by step (their sum is the tied gradient)")
fig.tight_layout()
plt.show()
