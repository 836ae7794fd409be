"""A one-unit GRU with hand-set weights: the update gate holds or replaces, the reset gate hides the past.

The input has three features: a value v, a write flag and an add flag. The
update gate z is near 1 (keep h) unless write or add is on; then it is near
0 and h takes the candidate n. The reset gate r is near 0 for a write (the
candidate sees only v: overwrite) and near 1 for an add (the candidate sees
h too: accumulate). h comes from rnngrad; the gates are recomputed from the
same parameters with the torch layout (rows r, z, n) and checked against it.
"""

import matplotlib.pyplot as plt
import numpy as np
from drawing import COLOURS

import rnngrad

k = 8.0
cell = rnngrad.GRUCell(input_size=3, hidden_size=1)
params = {
    #                         v   write   add
    "weight_ih": np.array([[0.0, -k, 2 * k], [0.0, -2 * k, -2 * k], [1.0, 0.0, 0.0]]),
    "weight_hh": np.array([[0.0], [0.0], [1.0]]),  # only the candidate reads h, through r
    "bias_ih": np.array([0.0, k, 0.0]),  # r: from the flags alone; z: keep by default
    "bias_hh": np.zeros(3),
}
params["bias_ih"][0] = -k  # r is shut unless add is on

T = 32
value = np.round(0.6 * np.cos(np.arange(T) * 0.9), 2)
write = np.isin(np.arange(T), [2, 16])
add = np.isin(np.arange(T), [7, 9, 11, 22, 24])
x = np.stack([value, write, add], axis=-1)[:, None, :]

state = cell.initial_state(1)
rows = {name: [] for name in ("reset gate r", "update gate z", "h")}
for t in range(T):
    (h,) = state
    gi = x[t] @ params["weight_ih"].T + params["bias_ih"]
    gh = h @ params["weight_hh"].T + params["bias_hh"]
    r, z = rnngrad.sigmoid(gi[:, 0] + gh[:, 0]), rnngrad.sigmoid(gi[:, 1] + gh[:, 1])
    n = np.tanh(gi[:, 2] + r * gh[:, 2])
    _, state = cell.step(params, x[t], state)
    np.testing.assert_allclose(state[0][:, 0], (1 - z) * n + z * h[:, 0], rtol=1e-12)  # the equation, checked
    for name, v in zip(rows, (r, z, state[0][:, 0])):
        rows[name].append(v[0])

fig, axes = plt.subplots(3, 1, figsize=(7.5, 5.0), sharex=True, height_ratios=[1.1, 1.2, 1.3], constrained_layout=True)
steps = np.arange(T)
axes[0].bar(steps, value, color=COLOURS["input"], width=0.6, label="value v")
axes[0].scatter(steps[write], np.full(write.sum(), 0.85), marker="v", color="black", label="write")
axes[0].scatter(steps[add], np.full(add.sum(), 0.85), marker="P", color=COLOURS["GRU"], label="add")
axes[0].set_ylim(-0.75, 1.0)
axes[0].set_ylabel("input")
gate_names = ("reset gate r", "update gate z")
for lane, (name, colour) in enumerate(zip(gate_names, ("#c44e52", "#4c72b0"))):
    axes[1].step(steps, lane + 0.8 * np.array(rows[name]), where="mid", color=colour)
    axes[1].axhline(lane, color=COLOURS["muted"], linewidth=0.5)
axes[1].set_yticks([0.4, 1.4], [f"{name.split()[0]} {name[-1]}" for name in gate_names])
axes[1].set_ylim(-0.15, 1.95)
axes[1].set_ylabel("gate (0 to 1)")
axes[1].tick_params(axis="y", length=0)
axes[2].step(steps, rows["h"], where="mid", color=COLOURS["state"], label="h")
axes[2].axhline(0, color=COLOURS["muted"], linewidth=0.6)
axes[2].set_ylabel("state")
axes[2].set_xlabel("step t")
for ax in axes[[0, 2]]:
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=9)
