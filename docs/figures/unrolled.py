"""One cell, one parameter dict, applied at every step: the network unrolled over time."""

import matplotlib.pyplot as plt
import numpy as np
from drawing import COLOURS, arrow, blank, box

import rnngrad

fig = plt.figure(figsize=(8, 5.2), constrained_layout=True)
top, bottom = fig.subfigures(2, 1, height_ratios=[1.25, 1])

# -- the picture: a loop folded, then unrolled --------------------------------
ax = top.subplots()
blank(ax, (-0.6, 9.4), (-0.6, 2.7))
box(ax, 0.4, 1.05, "cell\n(params)", width=1.0, height=0.7)
box(ax, 0.4, -0.15, "$x_t$", colour="input", width=0.6, height=0.4)
box(ax, 0.4, 2.25, "$y_t$", colour="output", width=0.6, height=0.4)
arrow(ax, (0.4, 0.05), (0.4, 0.7), colour="input")
arrow(ax, (0.4, 1.4), (0.4, 2.05), colour="output")
arrow(ax, (0.9, 1.2), (0.9, 0.9), colour="state", rad=-2.2, label="$h$", label_offset=(0.45, 0.0))
ax.text(1.85, 1.05, "=", fontsize=20, ha="center", va="center")

steps = 4
xs = [3.2 + 1.75 * t for t in range(steps)]
box(ax, 2.45, 1.05, "$h_0$", colour="state", width=0.5, height=0.4)
for t, xc in enumerate(xs, start=1):
    box(ax, xc, 1.05, "step", width=0.9, height=0.7)
    box(ax, xc, -0.15, f"$x_{t}$", colour="input", width=0.6, height=0.4)
    box(ax, xc, 2.25, f"$y_{t}$", colour="output", width=0.6, height=0.4)
    arrow(ax, (xc, 0.05), (xc, 0.7), colour="input")
    arrow(ax, (xc, 1.4), (xc, 2.05), colour="output")
    start = 2.7 if t == 1 else xs[t - 2] + 0.45
    arrow(ax, (start, 1.05), (xc - 0.45, 1.05), colour="state", label=f"$h_{t - 1}$" if t > 1 else None)
ax.text(xs[-1] + 0.75, 1.05, "…", fontsize=16, ha="left", va="center")
ax.annotate(
    "",
    xy=(xs[0], 1.52),
    xytext=(xs[-1], 1.52),
    arrowprops=dict(arrowstyle="-", color=COLOURS["muted"], linestyle=":", linewidth=1),
)
ax.text(
    (xs[0] + xs[-1]) / 2, 1.6, "the same params dict at every step", ha="center", fontsize=9, color=COLOURS["muted"]
)

# -- the same thing computed: hidden units of an RNN over time -----------------
T, H = 60, 4
rnn = rnngrad.RNN(input_size=1, hidden_size=H)
params = rnn.init(seed=2)
t = np.arange(T)
x = np.sin(2 * np.pi * t / 20)[:, None, None]  # (T, B=1, D=1)
output, h_n = rnn(params, x)  # output (T, 1, H): h_t for every step

ax1, ax2 = bottom.subplots(2, 1, sharex=True, height_ratios=[1, 2])
ax1.plot(t, x[:, 0, 0], color=COLOURS["input"])
ax1.set_ylabel("$x_t$")
for unit in range(H):
    ax2.plot(t, output[:, 0, unit], label=f"unit {unit}")
ax2.set_ylabel("$h_t$")
ax2.set_xlabel("step $t$")
ax2.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5))
ax1.set_title("an RNN (D = 1, H = 4) run by rnngrad on a sine wave", fontsize=10)
