"""What the command line shows and writes: progress, the training report, ``metrics.json``, the plots.

matplotlib and tqdm are optional: without them the report says what to
install, and progress is printed as lines now and then.
"""

import json
import math
import os
import sys

import numpy as onp

from .io import save_params

__all__ = ["PLOT_HINT", "PROGRESS_HINT", "Progress", "report", "write_metrics", "gradflow_figure", "pyplot", "have"]

PLOT_HINT = 'matplotlib is not installed, so no plot was drawn: pip install "rnngrad[plot]"'
PROGRESS_HINT = 'tqdm is not installed, so progress is printed now and then: pip install "rnngrad[progress]"'


def report(experiment, result, seconds, out):
    """Print how training ended and the test metric beside the baseline; write the run's files into ``out``."""
    fit = result.fit
    metric = result.metric
    if fit.stopped_early:
        patience = result.settings["patience"]
        print(
            f"stopped early at step {result.steps} of {result.settings['steps']}: validation {metric} did not "
            f"improve in {patience} evaluations (one every {result.settings['eval_every']} steps); kept the "
            f"parameters of step {fit.best_step} (validation {metric} {fit.best_metric:.4f})"
        )
    diverged = _divergence(fit.losses)
    if diverged is not None or not math.isfinite(result.test_metric):
        where = f"at step {diverged}" if diverged is not None else "in the test metric"
        print(
            f"rnngrad train: warning: training diverged: a non-finite value {where}; "
            f"try a smaller --lr (this run: {result.settings['step_size']:g})",
            file=sys.stderr,
        )
    print(
        f"test {metric}: {result.test_metric:.4f} ({result.cell}) | baseline, {result.baseline_name}: "
        f"{result.baseline:.4f} | {result.steps} steps, best at step {fit.best_step}, {seconds:.1f} s"
    )
    extras = result.extras
    if "bag_test_metric" in extras:
        print(
            f"order matters: {result.cell} test accuracy {result.test_metric:.3f}, "
            f"bag-of-embeddings test accuracy {extras['bag_test_metric']:.3f} (chance 0.5)"
        )
    if "recall_accuracy" in extras:
        print(f"recall accuracy over the ten copied symbols: {extras['recall_accuracy']:.3f} (chance 0.125)")
    if "sample" in extras:
        print(f"sample: {extras['sample']!r}")
    for stage, flags in extras.get("probes", {}).items():
        for flag, found in flags.items():
            print(
                f"probe, {stage} network, {flag}: unit {found['unit']} held-out accuracy {found['unit_accuracy']:.3f} "
                f"(permuted {found['unit_permuted']:.3f}); all units {found['accuracy']:.3f} "
                f"(permuted {found['permuted']:.3f}); majority {found['majority']:.3f}"
            )

    written = ["params.npz"]
    save_params(os.path.join(out, "params.npz"), result.params)
    if result.baseline_params is not None:
        save_params(os.path.join(out, "baseline_params.npz"), result.baseline_params)
        written.append(f"baseline_params.npz ({result.baseline_name})")
    write_metrics(os.path.join(out, "metrics.json"), _metrics(experiment, result, seconds))
    written.append("metrics.json")
    if _plot_losses(result, os.path.join(out, "loss.png")):
        written.append("loss.png")
    print(f"wrote {out}/" + ", ".join(written))


def _divergence(losses):
    """The first step whose training loss is not finite, or ``None``."""
    bad = onp.flatnonzero(~onp.isfinite(onp.asarray(losses, dtype=float)))
    return int(bad[0]) if len(bad) else None


def _metrics(experiment, result, seconds):
    fit = result.fit
    metrics = {
        "task": result.task,
        "cell": result.cell,
        "layers": experiment.layers,
        "bidirectional": experiment.bidirectional,
        "seed": result.seed,
        "data": experiment.data,
        "settings": result.settings,
        "metric": result.metric,
        "test_metric": result.test_metric,
        "baseline_name": result.baseline_name,
        "baseline": result.baseline,
        "steps": result.steps,
        "best_step": fit.best_step,
        "best_valid_metric": fit.best_metric,
        "stopped_early": fit.stopped_early,
        "seconds": seconds,
        "losses": fit.losses,
        "evaluations": fit.evaluations,
        "evaluation_seconds": fit.evaluation_seconds,
    }
    metrics.update(result.extras)
    return metrics


def write_metrics(path, metrics):
    """Write strict JSON: a non-finite number becomes ``null``, and ``non_finite`` says where and why."""
    where = []

    def clean(value, key):
        if isinstance(value, dict):
            return {k: clean(v, f"{key}.{k}" if key else k) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [clean(v, f"{key}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, (float, onp.floating)):
            if not math.isfinite(value):
                where.append(key)
                return None
            return float(value)
        if isinstance(value, onp.integer):
            return int(value)
        return value

    cleaned = clean(metrics, "")
    if where:
        cleaned["non_finite"] = {
            "reason": "training diverged (a loss or metric became NaN or infinite); those values are null. "
            "A smaller --lr usually helps.",
            "fields": where[:20] + ([f"... {len(where) - 20} more"] if len(where) > 20 else []),
        }
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(cleaned, handle, indent=1, allow_nan=False)


class Progress:
    """A tqdm bar showing loss and the last validation metric, or a printed line now and then without tqdm."""

    def __init__(self, total, label):
        self.metric = None
        self.total = total
        self.every = max(1, total // 10)
        try:
            from tqdm import tqdm
        except ImportError:
            print(PROGRESS_HINT)
            self.bar = None
        else:
            self.bar = tqdm(total=total, desc=label, unit="step", dynamic_ncols=True)

    def update(self, step, loss, metric, details=None):
        """One step done; ``details`` (the Hessian-free optimizer's ``cg`` and ``damping``) are shown too."""
        if metric is not None:
            self.metric = metric
        extra = {
            name: f"{value:.3g}" if isinstance(value, float) else str(value) for name, value in (details or {}).items()
        }
        if self.bar is None:
            # at each evaluation, and every tenth of the way when nothing is evaluated
            tail = "".join(f", {name} {value}" for name, value in extra.items())
            if metric is not None:
                print(f"step {step}: loss {loss:.4f}, valid {metric:.4f}{tail}", flush=True)
            elif self.metric is None and (step + 1) % self.every == 0:
                print(f"step {step + 1}/{self.total}: loss {loss:.4f}{tail}", flush=True)
            return
        self.bar.update(1)
        shown = {"loss": f"{loss:.4f}"}
        if self.metric is not None:
            shown["valid"] = f"{self.metric:.4f}"
        shown.update(extra)
        self.bar.set_postfix(shown, refresh=False)

    def finish(self, steps=None, stopped_early=False):
        """Close the bar, marked with the step training stopped at when it stopped early."""
        if self.bar is None:
            return
        if stopped_early:
            self.bar.set_postfix_str(f"stopped early at step {steps}", refresh=False)
        self.bar.close()


def _loss_figure(result, plt):
    """Training loss (left) and the validation metric with the baseline (right), legends below the axes."""
    fig, (loss_axis, metric_axis) = plt.subplots(1, 2, figsize=(11, 4.4))
    loss_name = "mse" if result.metric == "mse" else "cross-entropy"
    curves = [(result.cell, result.fit)]
    if result.baseline_fit is not None:
        curves.append((result.baseline_name, result.baseline_fit))
    for (name, fit), colour in zip(curves, ("C0", "C1")):
        losses = onp.asarray(fit.losses, dtype=float)
        window = max(1, len(losses) // 50)
        smooth = onp.convolve(losses, onp.ones(window) / window, mode="valid")
        loss_axis.plot(onp.arange(len(losses)), losses, color=colour, alpha=0.25, linewidth=0.8)
        loss_axis.plot(onp.arange(len(smooth)) + window - 1, smooth, color=colour, label=f"{name} (mean of {window})")
        if fit.evaluations:
            steps, values = zip(*fit.evaluations)
            metric_axis.plot(steps, values, "o-", color=colour, markersize=3, label=f"{name}, validation")
    if result.baseline_fit is None:
        metric_axis.axhline(
            result.baseline, color="gray", linestyle="--", label=f"baseline ({result.baseline_name}), test"
        )
    if onp.all(onp.asarray(result.fit.losses, dtype=float) > 0):
        loss_axis.set_yscale("log")
    if result.metric != "accuracy":
        metric_axis.set_yscale("log")
    loss_axis.set_xlabel("step")
    loss_axis.set_ylabel(f"training loss ({loss_name})")
    loss_axis.set_title("training loss per batch")
    metric_axis.set_xlabel("step")
    metric_axis.set_ylabel(f"validation {result.metric}")
    metric_axis.set_title(f"test {result.metric}: {result.test_metric:.4f} ({result.cell})")
    for axis in (loss_axis, metric_axis):
        axis.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.16), frameon=False)
    fig.suptitle(f"{result.task}, {result.cell}")
    fig.tight_layout()
    return fig


def _plot_losses(result, path):
    plt = pyplot()
    if plt is None:
        return False
    fig = _loss_figure(result, plt)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return True


def gradflow_figure(curves, length, hidden, plt):
    """One colour per cell; solid at initialization, dashed after training; the legend beside the axes."""
    fig, axis = plt.subplots(figsize=(8.5, 4))
    colours = {}
    for (name, stage), norms in curves.items():
        colour = colours.setdefault(name, f"C{len(colours)}")
        style = "-" if stage == "init" else "--"
        axis.semilogy(
            onp.arange(1, len(norms) + 1),
            onp.maximum(norms, 1e-300),
            style,
            color=colour,
            label=f"{name}, {stage}",
        )
    axis.set_xlabel("time step t (loss at the last step T)")
    axis.set_ylabel("mean ||dL / dx_t||")
    axis.set_title(f"Gradient flow back from step T={length}, H={hidden}")
    axis.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    fig.tight_layout()
    return fig


def have(module):
    """Whether ``module`` can be imported (without importing it)."""
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except ValueError:  # a module set to None in sys.modules (tests hide optional packages so)
        return False


def pyplot():
    """matplotlib's pyplot on the file-only Agg backend, or ``None`` (and the hint printed) without matplotlib."""
    try:
        import matplotlib
    except ImportError:
        print(PLOT_HINT)
        return None
    matplotlib.use("Agg")  # files only: never needs a display
    import matplotlib.pyplot as plt

    return plt
