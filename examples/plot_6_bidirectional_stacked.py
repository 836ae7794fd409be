r"""
Bidirectional and stacked networks on a task that needs the future
==================================================================

A forward RNN's output at step :math:`t` has read :math:`x_1, \dots, x_t`
only. Some questions about step :math:`t` need what comes after it. Here
each step's target is the sum of its two neighbours modulo 3,

.. math::

    y_t = (x_{t-1} + x_{t+1}) \bmod 3,

so a tagger must see one step back *and* one step ahead. This example
trains three taggers on it: a forward LSTM, a bidirectional LSTM (a forward
and a reverse direction, their outputs side by side), and a stack of two
bidirectional layers.
"""

# %%
# The task
# --------
# Sequences of 12 symbols from {0, 1, 2}; the first and last steps (with a
# missing neighbour) take 0 for it.
import matplotlib.pyplot as plt
import numpy as np

import rnngrad
from rnngrad import nn
from rnngrad.nets import RecurrentNet
from rnngrad.train import fit

T, K = 12, 3


def draw(batch, rng):
    x = rng.integers(0, K, size=(T, batch))
    padded = np.pad(x, ((1, 1), (0, 0)))
    return x, (padded[:-2] + padded[2:]) % K


rng = np.random.default_rng(0)
x_test, y_test = draw(1000, rng)
print("x:", x_test[:, 0])
print("y:", y_test[:, 0])

# %%
# Three taggers
# -------------
# Each embeds the symbols, runs its core and reads every step's output
# (``readout="steps"``) into 3 classes.
cores = {
    "forward": rnngrad.LSTM(8, 24),
    "bidirectional": rnngrad.LSTM(8, 24, bidirectional=True),
    "bidirectional, 2 layers": rnngrad.LSTM(8, 24, num_layers=2, bidirectional=True),
}
curves = {}
for name, core in cores.items():
    net = RecurrentNet(core, K, vocab_size=K, readout="steps")

    def loss(params, batch, net=net):
        x, y = batch
        return nn.cross_entropy(net(params, x)[0], y)

    def batches(seed=1):
        rng = np.random.default_rng(seed)
        while True:
            yield draw(32, rng)

    def test_accuracy(params, net=net):
        return nn.accuracy(net(params, x_test)[0], y_test)

    result = fit(loss, net.init(0), batches(), num_steps=300, step_size=0.01, evaluate=test_accuracy, eval_every=50)
    curves[name] = result.evaluations
    print(f"{name:<24} test accuracy per step after 300 steps: {result.evaluations[-1][1]:.3f}")

# %%
# The forward LSTM cannot know :math:`x_{t+1}`: it guesses among three
# answers. The bidirectional layer has both neighbours, but in two halves
# of its output, and a linear readout can only add evidence from the two
# halves, not combine them by a sum modulo 3. A second layer reads both
# directions of the first at every step and can compute the combination.
fig, ax = plt.subplots(figsize=(7, 3.5))
for name, evaluations in curves.items():
    steps, accuracies = zip(*evaluations)
    ax.plot(steps, accuracies, "o-", label=name)
ax.axhline(1 / K, color="0.5", ls=":", label="chance (1/3)")
ax.set_xlabel("training step")
ax.set_ylabel("test accuracy per step")
ax.set_ylim(0, 1.02)
ax.legend()
fig.tight_layout()
plt.show()
