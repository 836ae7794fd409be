"""A first rnngrad model: run a bidirectional LSTM on padded sequences and differentiate it."""

import numpy as np
from autograd import grad

import rnngrad

lstm = rnngrad.LSTM(input_size=8, hidden_size=16, num_layers=2, bidirectional=True)
params = lstm.init(seed=0)  # a plain dict with torch's state_dict keys and shapes
x = np.random.default_rng(0).normal(size=(5, 3, 8))  # (T, B, D)
lengths = [5, 3, 0]  # the third sequence is empty: it keeps its initial state

output, (h_n, c_n) = lstm(params, x, lengths=lengths)
print("output", output.shape, "h_n", h_n.shape, "c_n", c_n.shape)


def loss(p):
    out, _ = lstm(p, x, lengths=lengths)
    return (out**2).sum()


gradient = grad(loss)(params)
for key in list(gradient)[:4]:
    print(f"d loss / d {key:<22} shape {gradient[key].shape}  norm {np.linalg.norm(gradient[key]):.4f}")
