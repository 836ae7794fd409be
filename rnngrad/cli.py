"""The ``rnngrad`` command line: ``train``, ``gradflow`` and ``bench``.

``rnngrad`` with no arguments (or ``rnngrad train``) trains an LSTM on the
``order`` task beside an order-blind bag-of-embeddings baseline and prints
both test accuracies. ``rnngrad <command> --help`` describes each command.
matplotlib (plots) and tqdm (progress bars) are optional; without them the
commands still print every number and say how to install them.
"""

import argparse
import importlib
import json
import math
import os
import sys
import time

import numpy as onp

from . import experiments
from .io import save_params

__all__ = ["main"]

PLOT_HINT = 'matplotlib is not installed, so no plot was drawn: pip install "rnngrad[plot]"'
PROGRESS_HINT = 'tqdm is not installed, so progress is printed at each evaluation: pip install "rnngrad[progress]"'


def main(argv=None):
    """Run the command line with ``argv`` (``sys.argv[1:]`` if ``None``); return the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _parser()
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        argv = ["train"] + argv
    if argv[0] == "bench":
        return _bench(argv[1:])
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except (ValueError, TypeError, OSError) as error:
        print(f"rnngrad {argv[0]}: error: {error}", file=sys.stderr)
        return 2


def _parser():
    parser = argparse.ArgumentParser(
        prog="rnngrad",
        description="Train recurrent networks on built-in tasks and look at their gradients.",
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    train = commands.add_parser(
        "train",
        help="train a recurrent network on a task (the default command)",
        description="Train a recurrent network on a task and compare its test metric with the task's baseline. "
        "Writes params.npz, metrics.json and loss.png into --out.",
    )
    train.add_argument("--task", default="order", choices=list(experiments.DEFAULTS), help="the task (default: order)")
    train.add_argument("--cell", default="lstm", choices=list(experiments.CELLS), help="recurrent cell (default: lstm)")
    train.add_argument("--layers", type=int, default=1, help="stacked layers (default: 1)")
    train.add_argument("--bidirectional", action="store_true", help="add a reverse direction to every layer")
    train.add_argument("--hidden", type=int, help="hidden units H (default: per task)")
    train.add_argument(
        "--length",
        type=int,
        help="T: order, longest sentence; adding, sequence length; copy, delay; chars, BPTT chunk (default: per task)",
    )
    train.add_argument("--steps", type=int, help="optimizer steps (default: per task)")
    train.add_argument("--batch", type=int, help="batch size (default: per task)")
    train.add_argument("--lr", type=float, help="Adam step size (default: per task)")
    train.add_argument("--seed", type=int, default=0, help="seed of data, initialization and batches (default: 0)")
    train.add_argument("--data", help="text: a CSV of label,text rows (required); chars: a text file (optional)")
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
    gradflow.add_argument("--length", type=int, default=100, help="sequence length T (default: 100)")
    gradflow.add_argument("--hidden", type=int, default=64, help="hidden units H (default: 64)")
    gradflow.add_argument(
        "--train-steps", type=int, default=0, help="also measure after this many adding-task steps (default: 0, none)"
    )
    gradflow.add_argument(
        "--forget-bias",
        type=float,
        help="also measure an LSTM whose forget gates start with this bias (1 is usual; default: torch's init only)",
    )
    gradflow.add_argument("--seed", type=int, default=0, help="seed (default: 0)")
    gradflow.add_argument("--out", default="gradflow.png", help="the plot file (default: gradflow.png)")
    gradflow.set_defaults(handler=_gradflow)

    commands.add_parser(
        "bench", help="run the fused-kernel benchmark (rnngrad.bench), arguments passed on", add_help=False
    )
    return parser


# -- train -------------------------------------------------------------------
def _train(args):
    out = args.out or os.path.join("runs", f"{args.task}-{args.cell}")
    os.makedirs(out, exist_ok=True)
    print(
        f"rnngrad train: task={args.task} cell={args.cell} layers={args.layers} "
        f"bidirectional={args.bidirectional} seed={args.seed} -> {out}"
    )
    progress = _Progress(args.steps or experiments.DEFAULTS[args.task]["steps"], f"{args.task}/{args.cell}")
    start = time.perf_counter()
    try:
        result = experiments.run(
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
            on_step=progress.update,
        )
    finally:
        progress.close()
    seconds = time.perf_counter() - start
    fit = result["fit"]
    metric = result["metric"]
    print(
        f"test {metric}: {result['test_metric']:.4f} ({args.cell}) | baseline, {result['baseline_name']}: "
        f"{result['baseline']:.4f} | {len(fit.losses)} steps, best at step {fit.best_step}, {seconds:.1f} s"
    )
    if args.task == "order":
        print(
            f"order matters: {args.cell} test accuracy {result['test_metric']:.3f}, "
            f"bag-of-embeddings test accuracy {result['bag_test_metric']:.3f} (chance 0.5)"
        )
    if args.task == "copy":
        print(f"recall accuracy over the ten copied symbols: {result['recall_accuracy']:.3f} (chance 0.125)")
    if args.task == "chars":
        print(f"sample: {result['sample']!r}")

    save_params(os.path.join(out, "params.npz"), result["params"])
    if "bag_params" in result:
        save_params(os.path.join(out, "baseline_params.npz"), result["bag_params"])
    metrics = {
        "task": args.task,
        "cell": args.cell,
        "layers": args.layers,
        "bidirectional": args.bidirectional,
        "seed": args.seed,
        "settings": result["settings"],
        "metric": metric,
        "test_metric": result["test_metric"],
        "baseline_name": result["baseline_name"],
        "baseline": result["baseline"],
        "steps": len(fit.losses),
        "best_step": fit.best_step,
        "best_valid_metric": fit.best_metric,
        "stopped_early": fit.stopped_early,
        "seconds": seconds,
        "losses": fit.losses,
        "evaluations": fit.evaluations,
        "evaluation_seconds": fit.evaluation_seconds,
    }
    for extra in ("bag_test_metric", "recall_accuracy", "sample", "classes"):
        if extra in result:
            metrics[extra] = result[extra]
    with open(os.path.join(out, "metrics.json"), "w", encoding="utf-8") as handle:
        json.dump(metrics, handle, indent=1)
    _plot_losses(result, os.path.join(out, "loss.png"))
    print(f"wrote {out}/params.npz, metrics.json" + (", loss.png" if _have("matplotlib") else ""))
    return 0


class _Progress:
    """A tqdm bar showing loss and the last validation metric, or plain prints at each evaluation."""

    def __init__(self, total, label):
        self.metric = None
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
            if metric is not None:
                print(f"step {step}: loss {loss:.4f}, valid {metric:.4f}", flush=True)
            return
        self.bar.update(1)
        shown = {"loss": f"{loss:.4f}"}
        if self.metric is not None:
            shown["valid"] = f"{self.metric:.4f}"
        self.bar.set_postfix(shown, refresh=False)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def _plot_losses(result, path):
    plt = _pyplot()
    if plt is None:
        return
    fig, axis = plt.subplots(figsize=(7, 4))
    losses = onp.asarray(result["fit"].losses)
    window = max(1, len(losses) // 50)
    smooth = onp.convolve(losses, onp.ones(window) / window, mode="valid")
    axis.plot(onp.arange(len(losses)), losses, alpha=0.3, label="training loss")
    axis.plot(onp.arange(len(smooth)) + window - 1, smooth, label=f"training loss (mean of {window})")
    if result["fit"].evaluations:
        steps, values = zip(*result["fit"].evaluations)
        axis.plot(steps, values, "o-", label=f"validation {result['metric']}")
    if "bag_fit" in result:
        axis.plot(result["bag_fit"].losses, alpha=0.5, label="bag-of-embeddings training loss")
    axis.axhline(
        result["baseline"],
        color="gray",
        linestyle="--",
        label=f"baseline ({result['baseline_name']}): test {result['metric']}",
    )
    if result["metric"] != "accuracy":
        axis.set_yscale("log")
    axis.set_xlabel("step")
    axis.set_title(f"{result['task']}, {result['cell']}: test {result['metric']} {result['test_metric']:.4f}")
    axis.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


# -- gradflow ----------------------------------------------------------------
def _gradflow(args):
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

            trained = fit(loss_fn, params, batches(), num_steps=args.train_steps, step_size=0.01, max_grad_norm=1.0)
            stages.append((f"after {args.train_steps} adding steps", trained.params))
        for stage, p in stages:
            norms = input_gradient_norms(lambda inputs, p=p, net=net: anp.sum(net(p, inputs)[0]), x)
            curves[(name, stage)] = norms
            ratio = norms[0] / norms[-1] if norms[-1] > 0 else math.inf
            print(
                f"{name:>4} {stage}: |dL/dx_1| / |dL/dx_T| = {ratio:.3e}  (first {norms[0]:.3e}, last {norms[-1]:.3e})",
                flush=True,
            )
    plt = _pyplot()
    if plt is None:
        return 0
    fig, axis = plt.subplots(figsize=(7, 4))
    for (name, stage), norms in curves.items():
        style = "-" if stage == "init" else "--"
        axis.semilogy(onp.arange(1, len(norms) + 1), onp.maximum(norms, 1e-300), style, label=f"{name}, {stage}")
    axis.set_xlabel("time step t (loss at the last step T)")
    axis.set_ylabel("mean ||dL / dx_t||")
    axis.set_title(f"Gradient flow back from step T={args.length}, H={args.hidden}")
    axis.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(args.out, dpi=100)
    plt.close(fig)
    print(f"wrote {args.out}")
    return 0


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

    return importlib.util.find_spec(module) is not None


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        print(PLOT_HINT)
        return None
    matplotlib.use("Agg")  # files only: never needs a display
    import matplotlib.pyplot as plt

    return plt
