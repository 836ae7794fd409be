"""Averaging word vectors forgets the order of the words; a recurrent state does not."""

import matplotlib.pyplot as plt
import numpy as np

import rnngrad

sentences = ["the dog bit the man", "the man bit the dog"]
vocabulary = sorted({word for sentence in sentences for word in sentence.split()})
D = H = 8
rng = np.random.default_rng(3)
embedding = {word: rng.normal(size=D) for word in vocabulary}

# (T, B, D): step t of sentence b is the vector of its t-th word
x = np.stack([[embedding[word] for word in sentence.split()] for sentence in sentences], axis=1)
bag = x.mean(axis=0)  # (B, D): the same for any order of the words

gru = rnngrad.GRU(input_size=D, hidden_size=H)
_, h_n = gru(gru.init(seed=0), x)
final = h_n[0]  # (B, H): the state after the last word

fig, axes = plt.subplots(1, 2, figsize=(7.5, 2.2), constrained_layout=True)
panels = [
    (axes[0], bag, "mean of the word vectors", np.abs(bag[0] - bag[1]).max()),
    (axes[1], final, "GRU state after the last word", np.abs(final[0] - final[1]).max()),
]
for ax, values, title, gap in panels:
    limit = np.abs(values).max()
    ax.imshow(values, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
    ax.set_yticks([0, 1], [f"“{s}”" for s in sentences])
    ax.set_xticks([])
    verdict = f"{gap:.2g}" if gap > 1e-12 else f"{gap:.0e}, rounding"
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(f"features; the rows differ by at most {verdict}", fontsize=9)
    ax.axhline(0.5, color="white", linewidth=3)
    for side in ("left", "bottom"):
        ax.spines[side].set_visible(False)
    ax.tick_params(length=0)
axes[1].set_yticks([])
