"""A two-layer bidirectional network: which box feeds which, and where h_n's rows come from."""

import matplotlib.pyplot as plt
from drawing import COLOURS, arrow, blank, box

fig, ax = plt.subplots(figsize=(8, 5.4))
blank(ax, (-1.7, 8.4), (-0.5, 6.4))
columns = [0.6 + 1.9 * t for t in range(4)]
rows = {"x": 0.0, (0, 0): 1.1, (0, 1): 2.0, "mid": 3.0, (1, 0): 4.0, (1, 1): 4.9, "y": 5.95}

for t, xc in enumerate(columns, start=1):
    box(ax, xc, rows["x"], f"$x_{t}$", colour="input", width=0.6, height=0.38)
    box(ax, xc, rows["y"], f"$y_{t}$", colour="output", width=0.9, height=0.38, fontsize=9)
    box(ax, xc, rows["mid"], "[ → ‖ ← ]", colour="muted", width=1.1, height=0.36, fontsize=9, alpha=0.08)
    for layer, below, above in ((0, "x", "mid"), (1, "mid", "y")):
        fwd, bwd = rows[(layer, 0)], rows[(layer, 1)]
        box(ax, xc - 0.3, fwd, "→", width=0.55, height=0.38)
        box(ax, xc + 0.3, bwd, "←", colour="reverse", width=0.55, height=0.38)
        arrow(ax, (xc - 0.3, rows[below] + 0.2), (xc - 0.3, fwd - 0.2), colour="input")
        arrow(ax, (xc + 0.42, rows[below] + 0.2), (xc + 0.42, bwd - 0.2), colour="input")
        arrow(ax, (xc - 0.45, fwd + 0.2), (xc - 0.45, rows[above] - 0.19), colour="cell")
        arrow(ax, (xc + 0.25, bwd + 0.2), (xc + 0.25, rows[above] - 0.19), colour="reverse")
for layer in (0, 1):
    fwd, bwd = rows[(layer, 0)], rows[(layer, 1)]
    for a, b in zip(columns[:-1], columns[1:]):
        arrow(ax, (a - 0.02, fwd), (b - 0.58, fwd), colour="cell")
        arrow(ax, (b + 0.02, bwd), (a + 0.58, bwd), colour="reverse")
    ax.text(columns[-1] + 0.75, fwd, f"$h_n$[{2 * layer}]", va="center", fontsize=9, color=COLOURS["cell"])
    ax.text(columns[0] - 0.75, bwd, f"$h_n$[{2 * layer + 1}]", va="center", ha="right", fontsize=9, color="#c44e52")
    ax.text(-1.65, (fwd + bwd) / 2, f"layer {layer}", va="center", fontsize=10, rotation=90)
ax.text(columns[-1] + 0.75, rows["mid"], "dropout\n(training only)", va="center", fontsize=8, color=COLOURS["muted"])
ax.text(columns[-1] + 0.75, rows["y"], "output\n(T, B, 2·H)", va="center", fontsize=8, color=COLOURS["muted"])
