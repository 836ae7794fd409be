"""What each part of the LSTM is worth: the test loss of Greff et al.'s eight variants beside the vanilla LSTM.

Drawn from the results files that ``benchmarks/greff.py`` wrote (committed
beside it in ``benchmarks/results/``) with :func:`rnngrad.sweep.plot_variants`;
no training happens at build time. Lower is better on both tasks; the dashed
line is the vanilla LSTM's median, the dotted one adding's trivial baseline.
"""

import os

import matplotlib.pyplot as plt
import numpy as np
from drawing import COLOURS

from rnngrad import sweep

# the plot directive runs this script in docs/figures (plot_working_directory)
RESULTS = os.path.join("..", "..", "benchmarks", "results")
TASKS = ("adding", "chars")

records = {task: sweep.read_results(os.path.join(RESULTS, f"greff-{task}.jsonl")) for task in TASKS}
fig, axes = plt.subplots(1, len(TASKS), figsize=(9.0, 3.6))
for ax, task in zip(axes, TASKS):
    sweep.plot_variants(records[task], axes=[ax])
    ok = [r for r in records[task] if r["status"] == "ok" and r["result"]["test_metric"] is not None]
    vanilla = np.median([r["result"]["test_metric"] for r in ok if r["job"]["cell"] == "vanilla"])
    ax.axhline(vanilla, color=COLOURS["LSTM"], linestyle="--", linewidth=1)
    if task == "adding":  # the chars baseline (the unigram model, 3.15) would squash the boxes
        ax.axhline(ok[0]["result"]["baseline"], color=COLOURS["muted"], linestyle=":", linewidth=1)
        ax.set_yscale("log")
    ax.set_title(f"{task} ({len(ok)} runs)")
fig.tight_layout()
