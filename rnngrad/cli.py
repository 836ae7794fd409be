# long: five commands' flags, their checks and handlers in one place, read together.
"""The ``rnngrad`` command line: ``train``, ``trace``, ``gradflow``, ``bench`` and ``sweep``.

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
import math
import os
import sys
import time

import numpy as onp

from . import experiments, sweep
from ._report import Progress, gradflow_figure, have, pyplot, report
from ._trace_command import trace_command

__all__ = ["main"]

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
    "sentence": "--sentence",
    "layer": "--layer",
    "reverse": "--reverse",
    "names": "--names",
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
    # The package's version: rnngrad/__init__.py runs before any of its modules, and the command line
    # sits below the package in the layers, so it reads the attribute rather than importing it.
    version = getattr(sys.modules[__package__], "__version__", "(unknown version)")
    parser.add_argument("--version", action="version", version=f"rnngrad {version}")
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
        help="T: order, longest sentence (at least 3); adding and the other pathological problems, sequence "
        "length (adding at least 2, temporal_order 10, memorization 11); copy, delay; "
        f"chars, BPTT chunk; text: from the data ({_per_task('length')})",
    )
    train.add_argument("--steps", type=_integer(1), help=f"optimizer steps, at most ({_per_task('steps')})")
    train.add_argument("--batch", type=_integer(1), help=f"batch size B ({_per_task('batch')})")
    train.add_argument("--lr", type=_number(positive=True), help=f"Adam step size ({_per_task('step_size', '{:g}')})")
    train.add_argument(
        "--optimizer",
        default="adam",
        choices=list(experiments.OPTIMIZERS),
        help="adam (default), or hf: Hessian-free, for the pathological problems (--steps, --batch: HF steps, "
        f"gradient batch, default {experiments.HF_DEFAULTS['steps']}, {experiments.HF_DEFAULTS['batch']})",
    )
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

    traced = commands.add_parser(
        "trace",
        help="run a trained network on a sentence and draw every step's states and gates",
        description="Load params.npz and metrics.json from a run of 'rnngrad train' (tasks order, agreement, text, "
        "chars), run the network on --sentence, print its prediction, and draw one heatmap per state or gate "
        "(LSTM h, c, i, f, g, o; GRU h, r, z, n; RNN h) of one layer: units down, the sentence's tokens across.",
    )
    traced.add_argument("run", help="the run's directory (the --out of rnngrad train)")
    traced.add_argument("--sentence", required=True, help="the text to run, e.g. 'alice felt not sad , so she left'")
    traced.add_argument("--layer", type=int, default=-1, help="the layer to draw, from 0 (default: -1, the last)")
    traced.add_argument("--reverse", action="store_true", help="draw the reverse direction (bidirectional runs)")
    traced.add_argument("--names", help="comma-separated records to draw, e.g. c,f (default: all of the layer's)")
    traced.add_argument("--out", help="the image file (default: <run>/trace.png)")
    traced.set_defaults(handler=_trace)

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
    sweep_command = commands.add_parser(
        "sweep",
        help="run a study of many trainings on Dask from a TOML file (rnngrad.sweep), or --report on it",
        description="Run every job of a study file (a task, and a grid or random draws over cell, hidden, "
        "length, step_size and seed) as a Dask task: on a local cluster of one single-threaded worker per core, "
        "or on an existing cluster (--scheduler). Results are appended as each job finishes; a study run again "
        "skips the jobs already in its results file. Needs the extra: pip install 'rnngrad[sweep]'.",
    )
    sweep.add_arguments(sweep_command).set_defaults(handler=sweep.sweep_command)
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
    if extension and have("matplotlib"):
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
    report(experiment, result, seconds, out)
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
        optimizer=args.optimizer,
    )
    return experiment, out


_OPTIMIZER_SHOWN = {"adam": "lr={step_size:g}", "hf": "optimizer=hf curvature_batch={curvature_batch} max_cg={max_cg}"}


def _announce(experiment, out):
    settings = experiment.settings
    length = "" if settings["length"] is None else f" length={settings['length']}"
    print(
        f"rnngrad train: task={experiment.task} cell={experiment.cell} layers={experiment.layers} "
        f"bidirectional={experiment.bidirectional} hidden={settings['hidden']}{length} steps={settings['steps']} "
        f"batch={settings['batch']} {_OPTIMIZER_SHOWN[settings['optimizer']].format(**settings)} "
        f"seed={experiment.seed} -> {out}"
    )
    if experiment.rows is not None:
        counts = experiment.class_counts
        shown = ", ".join(f"{label} {count}" for label, count in counts.items())
        print(f"data: {experiment.data}, {len(experiment.rows[0])} rows, {len(counts)} classes: {shown}")


def _run_training(experiment):
    progress = Progress(experiment.settings["steps"], f"{experiment.task}/{experiment.cell}")
    start = time.perf_counter()
    try:
        result = experiment.run(on_step=progress.update)
    except BaseException:
        progress.finish()
        raise
    progress.finish(result.steps, result.fit.stopped_early)
    return result, time.perf_counter() - start


# -- trace -------------------------------------------------------------------
def _trace(args):
    return trace_command(args, _check_output_file)


# -- gradflow ----------------------------------------------------------------
def _gradflow(args):
    _check_output_file(args.out)
    curves = _gradient_curves(args)
    plt = pyplot()
    if plt is None:
        return 0
    fig = gradflow_figure(curves, args.length, args.hidden, plt)
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

            progress = Progress(args.train_steps, f"{name} on adding")
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
