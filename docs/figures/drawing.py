"""Small drawing helpers shared by the figure scripts (boxes, arrows, colours)."""

import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

#: one colour per kind of thing, the same in every figure
COLOURS = {
    "input": "#4c72b0",
    "state": "#dd8452",
    "cell": "#55a868",
    "output": "#8172b3",
    "reverse": "#c44e52",
    "muted": "#8c8c8c",
    "RNN": "#4c72b0",
    "LSTM": "#dd8452",
    "GRU": "#55a868",
}


def box(ax, x, y, text, *, width=0.8, height=0.5, colour="cell", fontsize=10, alpha=0.18):
    """A rounded box centred at (x, y) with ``text`` inside; returns its patch."""
    edge = COLOURS.get(colour, colour)
    patch = FancyBboxPatch(
        (x - width / 2, y - height / 2),
        width,
        height,
        boxstyle="round,pad=0.02,rounding_size=0.08",
        linewidth=1.4,
        edgecolor=edge,
        facecolor=edge,
    )
    patch.set_facecolor((*plt.matplotlib.colors.to_rgb(edge), alpha))
    ax.add_patch(patch)
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize)
    return patch


def arrow(ax, start, end, *, colour="muted", style="-|>", width=1.3, rad=0.0, label=None, label_offset=(0, 0.12)):
    """An arrow from ``start`` to ``end`` (data coordinates), optionally labelled at its middle."""
    ax.add_patch(
        FancyArrowPatch(
            start,
            end,
            arrowstyle=style,
            mutation_scale=12,
            linewidth=width,
            color=COLOURS.get(colour, colour),
            connectionstyle=f"arc3,rad={rad}",
            shrinkA=2,
            shrinkB=2,
        )
    )
    if label:
        mx, my = (start[0] + end[0]) / 2 + label_offset[0], (start[1] + end[1]) / 2 + label_offset[1]
        ax.text(mx, my, label, ha="center", va="center", fontsize=9, color=COLOURS.get(colour, colour))


def blank(ax, xlim, ylim):
    """Turn ``ax`` into an empty canvas with equal scales."""
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.axis("off")
