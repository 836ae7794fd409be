"""What a mask does: the state is carried over masked steps and the output there is zero.

Top: one forward RNN, general mask with a hole. Bottom: the reverse direction
of a sequence of length 6 padded to T = 10. rnngrad starts it at step 5, its
own last valid step; running the reverse loop over the padded array instead
would first read four steps of padding.
"""

import matplotlib.pyplot as plt
import numpy as np
from drawing import COLOURS

import rnngrad

T, D, H = 10, 2, 3
rng = np.random.default_rng(4)
x = rng.normal(size=(T, 1, D))
rnn = rnngrad.RNN(input_size=D, hidden_size=H)
params = rnn.init(seed=5)
steps = np.arange(T)

fig, (top, bottom) = plt.subplots(2, 1, figsize=(7.5, 5.0), sharex=True, constrained_layout=True)

# -- top: state carried, zeros emitted -----------------------------------------
mask = np.array([1, 1, 1, 0, 0, 1, 1, 0, 1, 1], dtype=bool)[:, None]  # (T, B=1)
output, _ = rnn(params, x, mask=mask)
state_after = [rnn(params, x[: t + 1], mask=mask[: t + 1])[1][0, 0, 0] for t in range(T)]  # h after step t
for t in np.flatnonzero(~mask[:, 0]):
    top.axvspan(t - 0.5, t + 0.5, color=COLOURS["muted"], alpha=0.15, linewidth=0)
top.step(steps, state_after, where="mid", color=COLOURS["state"], label="state after step t (unit 0)")
top.plot(steps, output[:, 0, 0], "o", color=COLOURS["output"], label="output at step t (unit 0)")
top.axhline(0, color=COLOURS["muted"], linewidth=0.6)
top.set_title("forward, mask with a hole (grey: mask false)", fontsize=10)
top.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=9)

# -- bottom: the reverse direction and padding ---------------------------------
birnn = rnngrad.RNN(input_size=D, hidden_size=H, bidirectional=True)
biparams = birnn.init(seed=5)
length = 6
padded = x.copy()
padded[length:] = 0.0
output, _ = birnn(biparams, padded, lengths=[length])
reverse = output[:, 0, H:]  # the reverse half of the features
naive, _ = birnn(biparams, padded)  # no lengths: the reverse loop reads the padding first
bottom.axvspan(length - 0.5, T - 0.5, color=COLOURS["muted"], alpha=0.15, linewidth=0)
bottom.plot(steps, reverse[:, 0], "o-", color=COLOURS["reverse"], label="reverse output, lengths=[6]")
naive_label = "reverse output, no lengths\n(padding read first)"
bottom.plot(steps, naive[:, 0, H], "x--", color=COLOURS["muted"], label=naive_label)
bottom.annotate(
    "starts here",
    xy=(length - 1, reverse[length - 1, 0]),
    xytext=(length - 3.4, 0.3),
    arrowprops=dict(arrowstyle="->", color=COLOURS["reverse"]),
    fontsize=9,
    color=COLOURS["reverse"],
)
bottom.axhline(0, color=COLOURS["muted"], linewidth=0.6)
bottom.set_title("reverse direction, length 6 padded to T = 10 (grey: padding)", fontsize=10)
bottom.set_xlabel("step t")
bottom.set_xticks(steps)
bottom.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=9)
