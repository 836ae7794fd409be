"""Reproduce Martens and Sutskever (2011): a tanh RNN trained by Hessian-free optimization on the pathological problems.

For each problem and length T, and each seed, three runs:

* ``hf-rnn``: a tanh RNN trained by :class:`rnngrad.hessian_free.HessianFree`
  (structural damping, gradient batch ``--batch``, curvature batch
  ``--curvature-batch``) until the problem is solved or ``--budget`` seconds pass;
* ``adam-rnn``: the same network trained by Adam for ``--adam-steps`` steps;
* ``adam-lstm``: an LSTM of the same width, its forget gates opened by
  ``--forget-bias`` (1), trained by Adam the same way.

Every run is measured on one fixed test set of ``--test`` fresh sequences;
a run succeeds when the problem's metric falls below its threshold
(:class:`rnngrad.tasks.pathological.Problem`). Each finished run appends one
JSON line to ``--out``; ``--table`` prints the reStructuredText table of a
results file (what docs/hessian_free.rst shows)::

    python benchmarks/hessian_free.py --problems adding --lengths 100 --methods hf-rnn --budget 1800
    python benchmarks/hessian_free.py --table --out hf_results.jsonl

Run it with ``OPENBLAS_NUM_THREADS=1``: the runs are small, and one thread
per process lets two processes share the machine's two cores.
"""

import argparse
import json
import os
import platform
import sys
import time

import numpy as onp
from autograd import value_and_grad
from autograd.misc.optimizers import adam

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from rnngrad import LSTM, RNN, RecurrentNet  # noqa: E402
from rnngrad.hessian_free import HessianFree, recurrent_predict  # noqa: E402
from rnngrad.tasks import pathological  # noqa: E402
from rnngrad.train import clip_by_global_norm  # noqa: E402

METHODS = ("hf-rnn", "adam-rnn", "adam-lstm")


def build(problem, cell, hidden, seed, forget_bias=None):
    core = RNN(problem.input_size, hidden, nonlinearity="tanh") if cell == "rnn" else LSTM(problem.input_size, hidden)
    net = RecurrentNet(core, problem.num_outputs, readout=problem.readout)
    return net, net.init(seed, forget_bias=forget_bias)


def curvature_slice(problem, batch, size):
    """The first ``size`` sequences of a batch (x is (T, B, D); y is (B, ...) or (T, B) per step)."""
    x, y = batch
    return x[:, :size], (y[:, :size] if problem.readout == "steps" else y[:size])


def run_hf(problem, length, seed, args):
    net, params = build(problem, "rnn", args.hidden, seed)
    predict = recurrent_predict(net, hidden=args.structural > 0)
    hf = HessianFree(
        predict,
        lambda outputs, batch: problem.loss(outputs, batch[1]),
        damping=args.damping,
        structural_damping=args.structural,
        max_cg_iterations=args.max_cg,
    )
    test = problem.generate(args.test, length, 10_000 + seed)
    rng = onp.random.default_rng(seed)
    start = time.perf_counter()
    metric, steps, cg_total = problem.baseline, 0, 0
    while time.perf_counter() - start < args.budget:
        batch = problem.generate(args.batch, length, rng)
        params, info = hf.step(params, batch, curvature_slice(problem, batch, args.curvature_batch))
        steps += 1
        cg_total += info.cg_iterations
        if steps % args.eval_every == 0:
            metric = problem.metric(net(params, test[0])[0], test[1])
            print(
                f"  {problem.name} T={length} seed={seed} hf step {steps} {time.perf_counter() - start:.0f}s "
                f"loss {info.loss:.4g} cg {info.cg_iterations} damping {info.damping:.3g} "
                f"{problem.metric_name} {metric:.4g}",
                flush=True,
            )
            if problem.solved(metric):
                break
    metric = problem.metric(net(params, test[0])[0], test[1])
    variant = f"mu {args.structural:.3g}, CG <= {args.max_cg}, batches {args.batch}/{args.curvature_batch}"
    return dict(
        steps=steps, cg_iterations=cg_total, metric=metric, seconds=time.perf_counter() - start, variant=variant
    )


def run_adam(problem, length, seed, args, cell):
    net, params = build(problem, cell, args.hidden, seed, args.forget_bias if cell == "lstm" else None)
    test = problem.generate(args.test, length, 10_000 + seed)
    rng = onp.random.default_rng(seed)

    def loss(p, batch):
        return problem.loss(net(p, batch[0])[0], batch[1])

    loss_and_grad = value_and_grad(loss)
    start = time.perf_counter()
    best = {"metric": problem.baseline, "steps": 0}

    def gradient(p, step):
        _, g = loss_and_grad(p, problem.generate(args.adam_batch, length, rng))
        return clip_by_global_norm(g, 1.0)[0]

    def callback(p, step, _g):
        if step % 250 == 0 and step > 0:
            best["metric"] = problem.metric(net(p, test[0])[0], test[1])
            best["steps"] = step

    params = adam(gradient, params, callback, num_iters=args.adam_steps, step_size=args.adam_lr)
    metric = problem.metric(net(params, test[0])[0], test[1])
    variant = f"lr {args.adam_lr:g}" + (
        f", forget bias {args.forget_bias:g}" if cell == "lstm" and args.forget_bias else ""
    )
    return dict(
        steps=args.adam_steps, cg_iterations=0, metric=metric, seconds=time.perf_counter() - start, variant=variant
    )


def _median_and_max(values):
    """The median, and the largest when there are several runs: ``"437 (748)"``."""
    median = f"{onp.median(values):.0f}"
    return median if len(values) == 1 else f"{median} ({max(values):.0f})"


def table(path):
    """Print the reST table of the results file ``path``: per setting, runs solved, median metric, seconds, steps."""
    rows = {}
    for line in open(path):
        r = json.loads(line)
        # the first runs recorded no variant: Adam at lr 0.001, the LSTM at torch's initialization
        variant = r.get("variant", "lr 0.001" if r["method"] != "hf-rnn" else "mu 0.0333, CG <= 100, batches 500/100")
        rows.setdefault((r["problem"], r["length"], r["method"], variant), []).append(r)
    header = ("problem", "T", "method", "settings", "solved", "metric", "baseline", "seconds", "steps")
    lines = []
    names = list(pathological.PROBLEMS)
    for (name, length, method, variant), runs in sorted(
        rows.items(), key=lambda kv: (names.index(kv[0][0]), kv[0][1], METHODS.index(kv[0][2]), kv[0][3])
    ):
        problem = pathological.get(name)
        solved = sum(problem.solved(r["metric"]) for r in runs)
        lines.append((
            name, str(length), method, variant, f"{solved}/{len(runs)}",
            f"{problem.metric_name} {onp.median([r['metric'] for r in runs]):.3g}", f"{problem.baseline:.3g}",
            _median_and_max([r["seconds"] for r in runs]), f"{int(onp.median([r['steps'] for r in runs]))}",
        ))  # fmt: skip
    widths = [max(len(h), *(len(row[i]) for row in lines)) for i, h in enumerate(header)]
    rule = "  ".join("=" * w for w in widths)
    print(rule)
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    print(rule)
    for row in lines:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)))
    print(rule)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--problems", nargs="+", default=list(pathological.PROBLEMS), choices=list(pathological.PROBLEMS)
    )
    parser.add_argument("--lengths", nargs="+", type=int, default=[30, 50, 100])
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--batch", type=int, default=500, help="HF gradient batch")
    parser.add_argument("--curvature-batch", type=int, default=100, help="HF curvature batch")
    parser.add_argument("--damping", type=float, default=1.0)
    parser.add_argument("--structural", type=float, default=1.0 / 30.0, help="structural damping mu")
    parser.add_argument("--max-cg", type=int, default=100)
    parser.add_argument("--budget", type=float, default=600.0, help="HF seconds per run")
    parser.add_argument("--eval-every", type=int, default=5)
    parser.add_argument("--adam-steps", type=int, default=3000)
    parser.add_argument("--adam-batch", type=int, default=100)
    parser.add_argument("--adam-lr", type=float, default=1e-3)
    parser.add_argument("--forget-bias", type=float, default=1.0, help="adam-lstm: initial forget gate bias (0: off)")
    parser.add_argument("--test", type=int, default=1000)
    parser.add_argument("--out", default="hf_results.jsonl")
    parser.add_argument("--table", action="store_true", help="print the table of --out and exit")
    args = parser.parse_args(argv)
    if args.table:
        table(args.out)
        return
    threads = os.environ.get("OPENBLAS_NUM_THREADS")
    print(f"# {platform.processor() or platform.machine()}, OPENBLAS_NUM_THREADS={threads}")
    for name in args.problems:
        problem = pathological.get(name)
        for length in args.lengths:
            for method in args.methods:
                for seed in args.seeds:
                    if method == "hf-rnn":
                        result = run_hf(problem, length, seed, args)
                    else:
                        result = run_adam(problem, length, seed, args, method.split("-")[1])
                    record = dict(problem=name, length=length, method=method, seed=seed, hidden=args.hidden,
                                  solved=problem.solved(result["metric"]), **result)  # fmt: skip
                    print(json.dumps(record), flush=True)
                    with open(args.out, "a") as f:
                        f.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
