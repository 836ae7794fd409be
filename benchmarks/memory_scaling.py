"""Peak memory of one forward and backward pass against the number of steps T, on both paths.

Prints a table: for each cell and path, the peak traced allocation
(:mod:`tracemalloc`, which sees NumPy's array buffers as well as Python's
objects) of ``grad`` of a loss over the outputs, at T = 1,000 to 8,000, and
the peak divided by T. Linear memory shows as a constant last column.

Run: ``python benchmarks/memory_scaling.py [--steps 1000 2000 4000 8000] [--batch 8] [--hidden 32]``.
It is a measurement, not a timed test: it takes a minute or two, mostly the
reference path under tracemalloc.
"""

import argparse
import gc
import tracemalloc

import autograd.numpy as anp
import numpy as np
from autograd import grad

import rnngrad

MODELS = {"rnn": rnngrad.RNN, "lstm": rnngrad.LSTM, "gru": rnngrad.GRU}


def peak_bytes(model, params, x, impl):
    """The peak of traced memory during one forward and backward pass (inputs and params excluded)."""

    def loss(params):
        output, _ = model(params, x, impl=impl)
        return anp.sum(output**2)

    gc.collect()
    rnngrad.kernels.workspace.clear()  # so that the pass allocates, and the trace sees, all it uses
    tracemalloc.start()
    tracemalloc.reset_peak()
    base, _ = tracemalloc.get_traced_memory()
    grad(loss)(params)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak - base


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, nargs="+", default=[1000, 2000, 4000, 8000])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--features", type=int, default=8)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--cells", nargs="+", default=list(MODELS), choices=list(MODELS))
    args = parser.parse_args(argv)

    print(f"B = {args.batch}, D = {args.features}, H = {args.hidden}, float64; peak of forward + backward")
    print(f"{'cell':<6}{'path':<11}{'T':>7}{'peak MiB':>11}{'KiB / step':>12}")
    for kind in args.cells:
        model = MODELS[kind](args.features, args.hidden)
        params = model.init(seed=0)
        for impl in ("fused", "reference"):
            for num_steps in args.steps:
                x = np.random.default_rng(0).normal(size=(num_steps, args.batch, args.features))
                peak = peak_bytes(model, params, x, impl)
                print(f"{kind:<6}{impl:<11}{num_steps:>7}{peak / 2**20:>11.1f}{peak / num_steps / 2**10:>12.2f}")


if __name__ == "__main__":
    main()
