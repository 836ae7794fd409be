r"""
Your own cell, checked by the property battery
==============================================

A new recurrent cell is one method: what a step does. rnngrad supplies the
rest (masking, the reverse direction, stacking, the initial state), and
:func:`rnngrad.testing.check_cell` tests the properties any correct cell
must have, whatever its equations. This example writes a *leaky* RNN cell,
whose units move only part of the way towards a new value at each step,

.. math::

    h' = (1 - a) \odot h + a \odot \tanh(x W^\top + b + h U^\top),
    \qquad a = \sigma(\alpha),

with a learned rate :math:`\alpha` per unit; checks it; catches a planted
bug; and measures how far back its gradient reaches.
"""

# %%
# The cell
# --------
# A frozen dataclass deriving from :class:`rnngrad.Cell`: ``param_shapes``
# names the parameters, ``step`` computes one step for a batch with
# :mod:`autograd.numpy`, so autograd can differentiate it.
from dataclasses import dataclass

import autograd.numpy as anp
import hypothesis
import matplotlib.pyplot as plt
import numpy as np

import rnngrad
from rnngrad.diagnostics import hidden_gradient_norms
from rnngrad.testing import check_cell


@dataclass(frozen=True)
class LeakyCell(rnngrad.Cell):
    """h' = (1 - a) h + a tanh(x W^T + b + h U^T), a = sigmoid(rate): each unit moves part of the way."""

    def param_shapes(self):
        H, D = self.hidden_size, self.input_size
        return {"weight_ih": (H, D), "weight_hh": (H, H), "bias_ih": (H,), "rate": (H,)}

    def step(self, params, x, state):
        (h,) = state
        target = rnngrad.tanh(anp.dot(x, params["weight_ih"].T) + params["bias_ih"] + anp.dot(h, params["weight_hh"].T))
        a = rnngrad.sigmoid(params["rate"])
        h_new = (1 - a) * h + a * target
        return h_new, (h_new,)


cell = LeakyCell(input_size=3, hidden_size=4)
params = cell.init(seed=0)
print({name: value.shape for name, value in params.items()})

# %%
# Check it
# --------
# Each property is a Hypothesis test over drawn lengths (zero included),
# batches, masks, initial states and inputs. No output means every property
# held; the example keeps the number of draws small.
quick = hypothesis.settings(max_examples=5, deadline=None)
check_cell(lambda d: LeakyCell(d, 3), settings=quick)
print("LeakyCell: every property of", sorted(rnngrad.testing.CELL_PROPERTIES), "held")

# %%
# A planted bug: the rate computed from the batch (a mean over axis 0, the
# sequences, instead of a per-unit parameter), so that one sequence's
# result depends on the others in its batch. The battery names the property
# that fails.


@dataclass(frozen=True)
class BatchLeakyCell(LeakyCell):
    def step(self, params, x, state):
        (h,) = state
        target = rnngrad.tanh(anp.dot(x, params["weight_ih"].T) + params["bias_ih"] + anp.dot(h, params["weight_hh"].T))
        a = rnngrad.sigmoid(params["rate"] + anp.mean(target, axis=0))  # bug: mixes the sequences of a batch
        h_new = (1 - a) * h + a * target
        return h_new, (h_new,)


try:
    check_cell(lambda d: BatchLeakyCell(d, 3), properties=["batch"], settings=quick)
except AssertionError as error:
    print(str(error).splitlines()[0])

# %%
# Use it: how far back does its gradient reach?
# ---------------------------------------------
# With the rate's parameter at -3 (:math:`a \approx 0.05`) each unit keeps
# 95% of its value per step, so the Jacobian of a step is close to the
# identity and the gradient of a loss on the last step decays far more
# slowly than a tanh RNN's.
T, B, H = 60, 8, 16
x = np.random.default_rng(0).normal(size=(T, B, 3))
leaky = LeakyCell(3, H)
leaky_params = dict(leaky.init(0), rate=np.full(H, -3.0))
tanh_cell = rnngrad.RNN(3, H).cells[0][0]
norms = {
    "leaky cell, a = 0.05": hidden_gradient_norms(leaky, leaky_params, x, lambda out: anp.sum(out[-1])),
    "tanh RNN": hidden_gradient_norms(tanh_cell, tanh_cell.init(0), x, lambda out: anp.sum(out[-1])),
}
fig, ax = plt.subplots(figsize=(7, 3.5))
for name, values in norms.items():
    ax.semilogy(values, label=name)
    print(f"{name:<22} ||dL/dh_0|| = {values[0]:.2e}")
ax.set_xlabel("step t")
ax.set_ylabel(r"$\|\partial L / \partial h_t\|$")
ax.legend()
fig.tight_layout()
plt.show()
