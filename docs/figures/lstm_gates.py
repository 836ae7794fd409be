"""A one-unit LSTM with hand-set weights: a memory that is written, held and read under gate control.

The input has three features: a value v, a write flag and a read flag. The
weights make the input gate open and the forget gate close when write is on
(replace the memory with v), keep the forget gate open otherwise (hold it),
and open the output gate only when read is on. The cell state and h come
from rnngrad; the gates are recomputed from the same parameters with the
torch layout (rows i, f, g, o), and checked against rnngrad's cell state.
"""

import matplotlib.pyplot as plt
import numpy as np
from drawing import COLOURS

import rnngrad

k = 8.0  # gate sharpness: sigmoid(+-8) is 0.9997 / 0.0003
cell = rnngrad.LSTMCell(input_size=3, hidden_size=1)
params = {
    #                         v    write   read
    "weight_ih": np.array([[0.0, 2 * k, 0.0], [0.0, -2 * k, 0.0], [1.5, 0.0, 0.0], [0.0, 0.0, 2 * k]]),
    "weight_hh": np.zeros((4, 1)),
    "bias_ih": np.array([-k, k, 0.0, -k]),  # i: shut, f: open, g: -, o: shut unless flagged
    "bias_hh": np.zeros(4),
}

T = 32
value = np.round(np.sin(np.arange(T) * 0.7) * 0.9, 2)
write = np.isin(np.arange(T), [3, 17])
read = np.isin(np.arange(T), [8, 9, 10, 23, 24, 25, 26])
x = np.stack([value, write, read], axis=-1)[:, None, :]  # (T, B=1, D=3)

state = cell.initial_state(1)
rows = {name: [] for name in ("input gate i", "forget gate f", "output gate o", "cell state c", "h")}
for t in range(T):
    h, c = state
    pre = x[t] @ params["weight_ih"].T + params["bias_ih"] + h @ params["weight_hh"].T + params["bias_hh"]
    i, f, g, o = rnngrad.sigmoid(pre[:, 0]), rnngrad.sigmoid(pre[:, 1]), np.tanh(pre[:, 2]), rnngrad.sigmoid(pre[:, 3])
    _, state = cell.step(params, x[t], state)
    np.testing.assert_allclose(state[1][:, 0], f * c[:, 0] + i * g, rtol=1e-12)  # the equation, checked
    for name, v in zip(rows, (i, f, o, state[1][:, 0], state[0][:, 0])):
        rows[name].append(v[0])

fig, axes = plt.subplots(3, 1, figsize=(7.5, 5.0), sharex=True, height_ratios=[1.1, 1.2, 1.3], constrained_layout=True)
steps = np.arange(T)
axes[0].bar(steps, value, color=COLOURS["input"], width=0.6, label="value v")
axes[0].scatter(steps[write], np.full(write.sum(), 1.15), marker="v", color="black", label="write")
axes[0].scatter(steps[read], np.full(read.sum(), 1.15), marker="o", color=COLOURS["output"], s=14, label="read")
axes[0].set_ylim(-1.1, 1.35)
axes[0].set_ylabel("input")
gate_names = ("output gate o", "forget gate f", "input gate i")
for lane, (name, colour) in enumerate(zip(gate_names, ("#8172b3", "#dd8452", "#4c72b0"))):
    axes[1].step(steps, lane + 0.8 * np.array(rows[name]), where="mid", color=colour)
    axes[1].axhline(lane, color=COLOURS["muted"], linewidth=0.5)
axes[1].set_yticks([0.4, 1.4, 2.4], [f"{name.split()[0]} {name[-1]}" for name in gate_names])
axes[1].set_ylim(-0.15, 2.95)
axes[1].set_ylabel("gate (0 to 1)")
axes[1].tick_params(axis="y", length=0)
axes[2].step(steps, rows["cell state c"], where="mid", color=COLOURS["state"], label="cell state c (memory)")
axes[2].step(steps, rows["h"], where="mid", color=COLOURS["output"], label="h = o tanh(c) (shown)")
axes[2].axhline(0, color=COLOURS["muted"], linewidth=0.6)
axes[2].set_ylabel("state")
axes[2].set_xlabel("step t")
for ax in axes[[0, 2]]:
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=9)
