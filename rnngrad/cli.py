"""The ``rnngrad`` command line: ``train``, ``gradflow`` and ``bench``.

``rnngrad`` with no arguments (or ``rnngrad train``) trains an LSTM on the
``order`` task beside an order-blind bag-of-embeddings baseline and prints
both test accuracies. ``rnngrad <command> --help`` describes each command.
matplotlib (plots) and tqdm (progress bars) are optional; without them the
commands still print every number and say how to install them.

Every argument is checked, and every output path, before anything is
printed or written; an error names the flag as it was typed (``--length``)
and the command exits with status 2.
"""

import argparse
import importlib
import json
import math
import os
import sys
import time

import numpy as onp

from . import __version__, experiments
from .io import save_params

__all__ = ["main"]

PLOT_HINT = 'matplotlib is not installed, so no plot was drawn: pip install "rnngrad[plot]"'
PROGRESS_HINT = 'tqdm is not installed, so progress is printed now and then: pip install "rnngrad[progress]"'

# The flag of each argument of experiments.prepare, for its error messages.
FLAGS = {
    "task": "--task",
    "cell": "--cell",
    "layers": "--layers",
    "bidirectional": "--bidirectional",
    "hidden": "--hidden",
    "length": "--length",
    "steps": "--steps",
    "batch": "--batch",
    "step_size": "--lr",
    "seed": "--seed",
    "data": "--data",
    "label_column": "--label-column",
    "text_column": "--text-column",
    "out": "--out",
}


def main(argv=None):
    """Run the command line with ``argv`` (``sys.argv[1:]`` if ``None``); return the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _parser()
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version")):
        argv = ["train"] + argv
    if argv[0] == "bench":
        return _bench(argv[1:])
    try:
        args = parser.parse_args(argv)
    except SystemExit as done:  # --help, --version, or a usage error argparse has printed
        return 0 if done.code is None else done.code
    try:
        return args.handler(args)
    except (ValueError, TypeError, OSError) as error:
        print(f"rnngrad {argv[0]}: error: {_flag_message(error)}", file=sys.stderr)
        return 2


def _flag_message(error):
    """The error's message with its leading argument name (``step_size: ...``) replaced by its flag."""
    message = str(error)
    name, colon, rest = message.partition(": ")
    return f"{FLAGS[name]}: {rest}" if colon and name in FLAGS else message


# -- argument types: argparse reports "argument --flag: <message>" ------------
def _integer(minimum):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {text!r}")
        return value

    parse.__name__ = f"integer >= {minimum}"
    return parse


def _number(*, positive):
    def parse(text):
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or (positive and not value > 0):
            raise argparse.ArgumentTypeError(f"expected a finite number{' > 0' if positive else ''}, got {text!r}")
        return value

    parse.__name__ = "positive number" if positive else "number"
    return parse


def _per_task(name, fmt="{}"):
    shown = [f"{task} {fmt.format(values[name])}" for task, values in experiments.DEFAULTS.items() if values[name]]
    return "default per task: " + ", ".join(shown)


def _parser():
    parser = argparse.ArgumentParser(
        prog="rnngrad",
        description="Train recurrent networks on built-in tasks and look at their gradients.",
    )
    parser.add_argument("--version", action="version", version=f"rnngrad {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    train = commands.add_parser(
        "train",
        help="train a recurrent network on a task (the default command)",
        description="Train a recurrent network on a task and compare its test metric with the task's baseline. "
        "Writes params.npz, metrics.json and loss.png into --out (and, for order, baseline_params.npz).",
    )
    train.add_argument("--task", default="order", choices=list(experiments.DEFAULTS), help="the task (default: order)")
    train.add_argument("--cell", default="lstm", choices=list(experiments.CELLS), help="recurrent cell (default: lstm)")
    train.add_argument("--layers", type=_integer(1), default=1, help="stacked layers (default: 1)")
    train.add_argument("--bidirectional", action="store_true", help="add a reverse direction to every layer")
    train.add_argument("--hidden", type=_integer(1), help=f"hidden units H ({_per_task('hidden')})")
    train.add_argument(
        "--length",
        type=_integer(1),
        help="T: order, longest sentence (at least 3); adding, sequence length (at least 2); copy, delay; "
        f"chars, BPTT chunk; text: from the data ({_per_task('length')})",
    )
    train.add_argument("--steps", type=_integer(1), help=f"optimizer steps, at most ({_per_task('steps')})")
    train.add_argument("--batch", type=_integer(1), help=f"batch size B ({_per_task('batch')})")
    train.add_argument("--lr", type=_number(positive=True), help=f"Adam step size ({_per_task('step_size', '{:g}')})")
    train.add_argument(
        "--seed", type=_integer(0), default=0, help="seed of data, initialization and batches (default: 0)"
    )
    train.add_argument(
        "--data",
        help="text: a CSV file, one label and one text per row (required; e.g. examples/reviews.csv); "
        "chars: a UTF-8 text file (default: a shipped public-domain text); other tasks make their own data",
    )
    train.add_argument(
        "--label-column",
        help="text: the CSV column of the labels, a name in the header row or a 0-based index (default: "
        "the column named 'label', else 0)",
    )
    train.add_argument(
        "--text-column",
        help="text: the CSV column of the texts, a name or a 0-based index (default: the column named 'text', else 1)",
    )
    train.add_argument("--out", help="output directory (default: runs/<task>-<cell>)")
    train.set_defaults(handler=_train)

    gradflow = commands.add_parser(
        "gradflow",
        help="plot gradient norm per time step for tanh RNN, LSTM and GRU",
        description="Measure ||dL/dx_t|| for a loss on the last step of a tanh RNN, an LSTM and a GRU, at "
        "initialization and optionally after training on the adding task; print first/last ratios and plot them "
        "on a log scale. At torch's initialization the forget and update gates sit near 0.5, so the gated cells' "
        "gradients shrink about as fast as the tanh RNN's; gates help because they can open: start them open "
        "(--forget-bias) or let training open them (--train-steps).",
    )
    gradflow.add_argument("--length", type=_integer(2), default=100, help="sequence length T (default: 100)")
    gradflow.add_argument("--hidden", type=_integer(1), default=64, help="hidden units H (default: 64)")
    gradflow.add_argument(
        "--train-steps",
        type=_integer(0),
        default=0,
        help="also measure after this many adding-task steps, for each cell (default: 0, none; 1200 takes minutes)",
    )
    gradflow.add_argument(
        "--forget-bias",
        type=_number(positive=False),
        help="also measure an LSTM whose forget gates start with this bias (1 is usual; default: torch's init only)",
    )
    gradflow.add_argument("--seed", type=_integer(0), default=0, help="seed (default: 0)")
    gradflow.add_argument("--out", default="gradflow.png", help="the plot file (default: gradflow.png)")
    gradflow.set_defaults(handler=_gradflow)

    commands.add_parser(
        "bench",
        help="run the fused-kernel benchmark (rnngrad.bench), arguments passed on; --quick for a short run",
        add_help=False,
    )
    return parser


# -- output paths, checked before any work ------------------------------------
def _check_output_dir(out):
    """Refuse ``out`` unless it is, or can be made as, a directory we can write in."""
    if os.path.exists(out) and not os.path.isdir(out):
        raise ValueError(f"out: {out} exists and is not a directory; expected a directory for the run's files")
    existing = os.path.abspath(out)
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise ValueError(f"out: {existing} is a file, so the directory {out} cannot be made")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"out: cannot write in {existing} (permission denied)")


def _check_output_file(out):
    """Refuse ``out`` unless its directory exists and it can be written as an image matplotlib knows."""
    if os.path.isdir(out):
        raise ValueError(f"out: {out} is a directory; expected the path of an image file such as gradflow.png")
    parent = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(parent):
        raise ValueError(f"out: the directory {os.path.dirname(out) or '.'} does not exist; create it first")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"out: cannot write in {parent} (permission denied)")
    extension = os.path.splitext(out)[1].lstrip(".").lower()
    if extension and _have("matplotlib"):
        from matplotlib.backend_bases import FigureCanvasBase

        formats = FigureCanvasBase.get_supported_filetypes()
        if extension not in formats:
            raise ValueError(f"out: expected an image file ending in one of {sorted(formats)}, got {out!r}")


# -- train -------------------------------------------------------------------
def _train(args):
    experiment, out = _read_train_arguments(args)
    _announce(experiment, out)
    os.makedirs(out, exist_ok=True)
    result, seconds = _run_training(experiment)
    _report(experiment, result, seconds, out)
    return 0


def _read_train_arguments(args):
    """The checked :class:`~rnngrad.experiments.Experiment` and output directory; nothing printed or written."""
    out = args.out or os.path.join("runs", f"{args.task}-{args.cell}")
    _check_output_dir(out)
    experiment = experiments.prepare(
        args.task,
        cell=args.cell,
        layers=args.layers,
        bidirectional=args.bidirectional,
        hidden=args.hidden,
        length=args.length,
        steps=args.steps,
        seed=args.seed,
        data=args.data,
        batch=args.batch,
        step_size=args.lr,
        label_column=args.label_column,
        text_column=args.text_column,
    )
    return experiment, out


def _announce(experiment, out):
    settings = experiment.settings
    length = "" if settings["length"] is None else f" length={settings['length']}"
    print(
        f"rnngrad train: task={experiment.task} cell={experiment.cell} layers={experiment.layers} "
        f"bidirectional={experiment.bidirectional} hidden={settings['hidden']}{length} steps={settings['steps']} "
        f"batch={settings['batch']} lr={settings['step_size']:g} seed={experiment.seed} -> {out}"
    )
    if experiment.rows is not None:
        counts = experiment.class_counts
        shown = ", ".join(f"{label} {count}" for label, count in counts.items())
        print(f"data: {experiment.data}, {len(experiment.rows[0])} rows, {len(counts)} classes: {shown}")


def _run_training(experiment):
    progress = _Progress(experiment.settings["steps"], f"{experiment.task}/{experiment.cell}")
    start = time.perf_counter()
    try:
        result = experiment.run(on_step=progress.update)
    except BaseException:
        progress.finish()
        raise
    progress.finish(result.steps, result.fit.stopped_early)
    return result, time.perf_counter() - start


def _report(experiment, result, seconds, out):
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

    written = ["params.npz"]
    save_params(os.path.join(out, "params.npz"), result.params)
    if result.baseline_params is not None:
        save_params(os.path.join(out, "baseline_params.npz"), result.baseline_params)
        written.append(f"baseline_params.npz ({result.baseline_name})")
    _write_metrics(os.path.join(out, "metrics.json"), _metrics(experiment, result, seconds))
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


def _write_metrics(path, metrics):
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


class _Progress:
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

    def update(self, step, loss, metric):
        if metric is not None:
            self.metric = metric
        if self.bar is None:
            # at each evaluation, and every tenth of the way when nothing is evaluated
            if metric is not None:
                print(f"step {step}: loss {loss:.4f}, valid {metric:.4f}", flush=True)
            elif self.metric is None and (step + 1) % self.every == 0:
                print(f"step {step + 1}/{self.total}: loss {loss:.4f}", flush=True)
            return
        self.bar.update(1)
        shown = {"loss": f"{loss:.4f}"}
        if self.metric is not None:
            shown["valid"] = f"{self.metric:.4f}"
        self.bar.set_postfix(shown, refresh=False)

    def finish(self, steps=None, stopped_early=False):
        """Close the bar at ``steps`` (the updates applied), marked when training stopped early."""
        if self.bar is None:
            return
        if steps is not None and self.bar.n != steps:
            self.bar.update(steps - self.bar.n)
        if stopped_early:
            self.bar.set_postfix_str(f"stopped early at step {steps}", refresh=False)
        self.bar.close()


def _loss_figure(result, plt):
    """Training loss (left) and the validation metric with the baseline (right), legends below the axes."""
    fig, (loss_axis, metric_axis) = plt.subplots(1, 2, figsize=(11, 4.4))
    loss_name = "mse" if result.metric == "mse" else "cross-entropy"
    curves = [("recurrent network", result.fit)]
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
    plt = _pyplot()
    if plt is None:
        return False
    fig = _loss_figure(result, plt)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return True


# -- gradflow ----------------------------------------------------------------
def _gradflow(args):
    _check_output_file(args.out)
    curves = _gradient_curves(args)
    plt = _pyplot()
    if plt is None:
        return 0
    fig = _gradflow_figure(curves, args.length, args.hidden, plt)
    fig.savefig(args.out, dpi=100, bbox_inches="tight")
    plt.close(fig)
    print(f"wrote {args.out}")
    return 0


def _gradient_curves(args):
    """``{(name, stage): norms}``, each printed as its first/last ratio when measured."""
    import autograd.numpy as anp

    from . import nn
    from .diagnostics import input_gradient_norms
    from .nets import RecurrentNet
    from .tasks import adding
    from .train import fit

    rng = onp.random.default_rng(args.seed)
    x, _ = adding.generate(32, args.length, rng)
    curves = {}
    variants = [("rnn", "rnn", None), ("lstm", "lstm", None), ("gru", "gru", None)]
    if args.forget_bias is not None:
        variants.append((f"lstm (forget bias {args.forget_bias:g})", "lstm", args.forget_bias))
    for name, cell, forget_bias in variants:
        net = RecurrentNet(experiments.build_core(cell, 2, args.hidden), 1)
        params = net.init(args.seed, forget_bias=forget_bias)
        stages = [("init", params)]
        if args.train_steps:

            def loss_fn(p, batch, net=net):
                return nn.mean_squared_error(net(p, batch[0])[0], batch[1])

            def batches():
                while True:
                    yield adding.generate(64, args.length, rng)

            progress = _Progress(args.train_steps, f"{name} on adding")
            try:
                trained = fit(
                    loss_fn,
                    params,
                    batches(),
                    num_steps=args.train_steps,
                    step_size=0.01,
                    max_grad_norm=1.0,
                    on_step=progress.update,
                )
            finally:
                progress.finish()
            stages.append((f"after {args.train_steps} adding steps", trained.params))
        for stage, p in stages:
            norms = input_gradient_norms(lambda inputs, p=p, net=net: anp.sum(net(p, inputs)[0]), x)
            curves[(name, stage)] = norms
            ratio = norms[0] / norms[-1] if norms[-1] > 0 else math.inf
            print(
                f"{name:>4} {stage}: |dL/dx_1| / |dL/dx_T| = {ratio:.3e}  (first {norms[0]:.3e}, last {norms[-1]:.3e})",
                flush=True,
            )
    return curves


def _gradflow_figure(curves, length, hidden, plt):
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


# -- bench -------------------------------------------------------------------
def _bench(argv):
    try:
        # through sys.modules, not the package attribute, so a stand-in module (tests) is honoured
        bench = importlib.import_module("rnngrad.bench")
    except ImportError as error:
        print(
            f"rnngrad bench: the benchmark module rnngrad.bench is not available in this installation ({error}); "
            "it comes with the fused kernels.",
            file=sys.stderr,
        )
        return 2
    status = bench.main(argv)
    return 0 if status is None else status


# -- optional dependencies -----------------------------------------------------
def _have(module):
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except ValueError:  # a module set to None in sys.modules (tests hide optional packages so)
        return False


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        print(PLOT_HINT)
        return None
    matplotlib.use("Agg")  # files only: never needs a display
    import matplotlib.pyplot as plt

    return plt
