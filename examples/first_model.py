"""
A first model: a bidirectional LSTM on padded sequences, and its gradient
=========================================================================

Build a two-layer bidirectional LSTM, run it on a batch of sequences of
different lengths (one of them empty), and differentiate a loss of its
output with respect to every parameter with autograd.
"""

# %%
# Build and run
# -------------
# The parameters are a plain dict with torch's ``state_dict`` names and
# shapes; ``lengths`` says how many steps of each sequence are real.
import matplotlib.pyplot as plt
import numpy as np
from autograd import grad

import rnngrad

lstm = rnngrad.LSTM(input_size=8, hidden_size=16, num_layers=2, bidirectional=True)
params = lstm.init(seed=0)  # a plain dict with torch's state_dict keys and shapes
x = np.random.default_rng(0).normal(size=(5, 3, 8))  # (T, B, D)
lengths = [5, 3, 0]  # the third sequence is empty: it keeps its initial state

output, (h_n, c_n) = lstm(params, x, lengths=lengths)
print("output", output.shape, "h_n", h_n.shape, "c_n", c_n.shape)


# %%
# Differentiate
# -------------
# Any scalar function of the output is differentiable with respect to the
# parameter dict; the gradient is a dict of the same keys and shapes.
def loss(p):
    out, _ = lstm(p, x, lengths=lengths)
    return (out**2).sum()


gradient = grad(loss)(params)
for key in list(gradient)[:4]:
    print(f"d loss / d {key:<22} shape {gradient[key].shape}  norm {np.linalg.norm(gradient[key]):.4f}")

# %%
# The output over time: the padded steps of the shorter sequences are zero,
# and the empty sequence has no valid step at all.
fig, axes = plt.subplots(1, 3, figsize=(9, 3), sharey=True)
for b, ax in enumerate(axes):
    ax.imshow(output[:, b].T, aspect="auto", cmap="RdBu_r", vmin=-0.5, vmax=0.5)
    ax.set_title(f"sequence {b}, length {lengths[b]}")
    ax.set_xlabel("step")
axes[0].set_ylabel("output unit (forward, then reverse)")
fig.tight_layout()
plt.show()
