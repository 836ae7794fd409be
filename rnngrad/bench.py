# long: the benchmark command in one file (sizes, the steady-state timing, torch columns, table, arguments)
"""Benchmark: forward+backward time of the fused kernels, the traced reference loop and torch.

For each cell (RNN, LSTM, GRU), size (B, T, D, H) and dtype it measures one
forward and backward pass of a one-layer, one-direction network: outputs
and final states are reduced with a fixed random linear functional, and the
gradient is taken with respect to every parameter and the input. The
implementations run interleaved in one process (a warm-up round first, then
``--repeats`` rounds, each timing every implementation once), and the table
reports medians. Each timed call is the second of two back-to-back calls of
its implementation, after ``--settle`` seconds of idle time (see
:func:`run_case`).

Columns:

* ``fused``, ``reference``, ``torch``: median milliseconds;
* ``f/torch``, ``r/torch``: their ratios to torch (below 1 is faster);
* ``ref/fused``: how many times the fused path beats the reference loop;
* ``floor``: the matmul floor, the sum of the measured times of the matmuls
  the fused path must do (input projection, T recurrent products forward and
  T backward, the projection when there is one, the weight gradients and the
  input gradient), each timed alone with NumPy on arrays of the same shapes;
* ``floor/fused``: the fraction of the fused time that is the floor;
* ``peak MB``: peak memory traced by ``tracemalloc`` (NumPy reports its
  array buffers to it) during one forward+backward of the fused path, in a
  separate untimed run; torch's allocations are not visible to it.

With ``--curvature`` the table holds forward mode, Gauss-Newton and
Hessian-vector products instead, beside torch's (columns in
:mod:`rnngrad._bench_curvature`), timed the same way.

Run ``python benchmarks/run.py --help`` (or ``rnngrad bench --help``).
"""

import argparse
import math
import os
import statistics
import sys
import time
import tracemalloc

import autograd.numpy as anp
import numpy as onp
from autograd import grad

from . import _bench_curvature
from ._bench_machine import blas_line, environment
from .kernels import workspace
from .models import GRU, LSTM, RNN

__all__ = ["main", "SIZES", "run_case", "run_curvature_case", "time_runners", "blas_line"]

#: The benchmarked sizes, ``name: (B, T, D, H)``.
SIZES = {"small": (8, 50, 16, 32), "main": (32, 100, 64, 128), "large": (64, 200, 128, 256)}
MODELS = {"rnn": RNN, "lstm": LSTM, "gru": GRU}
GATES = {"rnn": 1, "lstm": 4, "gru": 3}
DTYPES = {"float64": onp.float64, "float32": onp.float32}
#: Seconds of idle time before each timed call, so that the worker threads one implementation's
#: BLAS left spinning have gone to sleep before the next implementation is timed.
SETTLE = 0.2


def _median_ms(times):
    return 1e3 * statistics.median(times)


def _rnngrad_case(kind, size, dtype, impl, seed=0):
    """A zero-argument function running one forward+backward with rnngrad."""
    batch, steps, features, hidden = size
    model = MODELS[kind](features, hidden)
    rng = onp.random.default_rng(seed)
    params = model.init(rng, dtype=dtype)
    x = rng.normal(size=(steps, batch, features)).astype(dtype)
    weights = rng.normal(size=(steps, batch, hidden)).astype(dtype)

    def loss(args):
        output, final = model(args[0], args[1], impl=impl)
        finals = final if isinstance(final, tuple) else (final,)
        total = anp.sum(output * weights)
        for f in finals:
            total = total + anp.sum(f)
        return total

    gradient = grad(loss)
    return lambda: gradient((params, x))


def _torch_case(kind, size, dtype, seed=0):
    import torch

    batch, steps, features, hidden = size
    torch_dtype = {onp.float64: torch.float64, onp.float32: torch.float32}[dtype]
    module = getattr(torch.nn, {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}[kind])(features, hidden)
    module = module.to(torch_dtype)
    rng = onp.random.default_rng(seed)
    x = torch.tensor(rng.normal(size=(steps, batch, features)), dtype=torch_dtype, requires_grad=True)
    weights = torch.tensor(rng.normal(size=(steps, batch, hidden)), dtype=torch_dtype)

    def run():
        module.zero_grad(set_to_none=True)
        x.grad = None
        output, final = module(x)
        finals = final if isinstance(final, tuple) else (final,)
        total = (output * weights).sum()
        for f in finals:
            total = total + f.sum()
        total.backward()

    return run


def _matmul_shapes(kind, size):
    """``[(count, (m, k), (k, n))]``: the matmuls of one fused forward+backward."""
    batch, steps, features, hidden = size
    gates = GATES[kind] * hidden
    rows = steps * batch
    return [
        (1, (rows, features), (features, gates)),  # input projection
        (steps, (batch, hidden), (hidden, gates)),  # recurrent product, forward
        (steps, (batch, gates), (gates, hidden)),  # recurrent product, backward
        (1, (gates, rows), (rows, features)),  # weight_ih gradient
        (1, (gates, rows), (rows, hidden)),  # weight_hh gradient
        (1, (rows, gates), (gates, features)),  # input gradient
    ]


def matmul_floor(kind, size, dtype, repeats):
    """Seconds of matmul the fused path cannot avoid, timed shape by shape (medians)."""
    rng = onp.random.default_rng(0)
    total = 0.0
    for count, left, right in _matmul_shapes(kind, size):
        a = rng.normal(size=left).astype(dtype)
        b = rng.normal(size=right).astype(dtype)
        out = onp.empty((left[0], right[1]), dtype=dtype)
        inner = max(1, min(count, 50))
        times = []
        for _ in range(repeats + 1):
            start = time.perf_counter()
            for _ in range(inner):
                onp.matmul(a, b, out=out)
            times.append((time.perf_counter() - start) / inner)
        total += count * statistics.median(times[1:])
    return total


def peak_megabytes(run):
    """Peak traced memory (MB) of one call of ``run``, with the kernels' workspace emptied first.

    A warm workspace would hand the call buffers allocated before the trace
    started, which it would not see; emptied, the call allocates all it uses.
    """
    workspace.clear()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        run()
        return (tracemalloc.get_traced_memory()[1] - base) / 2**20
    finally:
        tracemalloc.stop()


def time_runners(runners, repeats, settle):
    """``{name: median milliseconds}`` of the zero-argument callables ``runners``, timed interleaved.

    A warm-up call of each first; then ``repeats`` rounds, each timing every
    implementation once: ``settle`` seconds idle, an untimed call, the timed call.
    """
    times = {name: [] for name in runners}
    for run in runners.values():  # warm-up: first-call costs, caches, BLAS threads
        run()
    for _ in range(repeats):
        for name, run in runners.items():
            time.sleep(settle)
            run()
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: _median_ms(values) for name, values in times.items()}


def run_curvature_case(kind, size_name, dtype_name, *, repeats=7, use_torch=True, settle=SETTLE):
    """One row of the curvature table (``--curvature``): see :mod:`rnngrad._bench_curvature`."""
    row = {"cell": kind, "size": size_name, "dtype": dtype_name}
    row.update(
        _bench_curvature.run_curvature_case(
            kind,
            SIZES[size_name],
            DTYPES[dtype_name],
            models=MODELS,
            time_runners=time_runners,
            repeats=repeats,
            use_torch=use_torch,
            settle=settle,
        )
    )
    return row


def run_case(kind, size_name, dtype_name, *, repeats=7, reference=True, use_torch=True, settle=SETTLE):
    """Measure one row of the table; returns a dict of its columns.

    Each timed call is the second of two back-to-back calls of its
    implementation, after ``settle`` seconds of idle time: OpenBLAS's and
    OpenMP's worker threads keep spinning for a while after a call returns,
    and on a machine with few cores they would take a core from whichever
    implementation ran next; the untimed call then wakes the implementation's
    own threads and caches, so that the timed call sees the steady state of
    a training loop, which calls one implementation again and again.
    """
    size, dtype = SIZES[size_name], DTYPES[dtype_name]
    runners = {"fused": _rnngrad_case(kind, size, dtype, "fused")}
    if reference:
        runners["reference"] = _rnngrad_case(kind, size, dtype, "reference")
    if use_torch:
        runners["torch"] = _torch_case(kind, size, dtype)
    row = {"cell": kind, "size": size_name, "dtype": dtype_name}
    row.update(time_runners(runners, repeats, settle))
    row["floor"] = 1e3 * matmul_floor(kind, size, dtype, repeats)
    row["peak_fused"] = peak_megabytes(runners["fused"])
    if reference:
        row["peak_reference"] = peak_megabytes(runners["reference"])
    return row


COLUMNS = [
    ("cell", "cell", "{}"),
    ("size", "size", "{}"),
    ("dtype", "dtype", "{}"),
    ("fused", "fused ms", "{:.2f}"),
    ("reference", "ref ms", "{:.1f}"),
    ("torch", "torch ms", "{:.2f}"),
    ("f/torch", "f/torch", "{:.3g}"),
    ("r/torch", "r/torch", "{:.3g}"),
    ("ref/fused", "ref/fused", "{:.1f}"),
    ("floor", "floor ms", "{:.2f}"),
    ("floor/fused", "floor/fused", "{:.2f}"),
    ("peak_fused", "peak MB fused", "{:.1f}"),
    ("peak_reference", "peak MB ref", "{:.1f}"),
]


def _derived(row):
    row = dict(row)
    if "torch" in row:
        row["f/torch"] = row["fused"] / row["torch"]
        if "reference" in row:
            row["r/torch"] = row["reference"] / row["torch"]
    if "reference" in row:
        row["ref/fused"] = row["reference"] / row["fused"]
    row["floor/fused"] = row["floor"] / row["fused"]
    return row


def _ratios(row, columns):
    """``row`` with every ratio column ``"a/b"`` whose ``a`` and ``b`` it has."""
    row = dict(row)
    for key, _, _ in columns:
        parts = key.split("/")
        if len(parts) == 2 and all(part in row for part in parts):
            row[key] = row[parts[0]] / row[parts[1]]
    return row


def format_table(rows, columns=None):
    """The rows as a reStructuredText simple table (readable as plain text too).

    ``columns``: ``(key, title, format)`` triples; ``None``: the first-order table's.
    """
    if columns is None:
        columns, rows = COLUMNS, [_derived(row) for row in rows]
    else:
        rows = [_ratios(row, columns) for row in rows]
    cells = [[fmt.format(row[key]) if key in row else "-" for key, _, fmt in columns] for row in rows]
    headers = [title for _, title, _ in columns]
    widths = [max(len(h), *(len(c[j]) for c in cells)) for j, h in enumerate(headers)]
    rule = "  ".join("=" * w for w in widths)
    lines = [rule, "  ".join(h.ljust(w) for h, w in zip(headers, widths)), rule]
    lines += ["  ".join(c.ljust(w) for c, w in zip(cell, widths)) for cell in cells]
    lines.append(rule)
    return "\n".join(lines)


def _choices(text, allowed):
    """A comma-separated subset of ``allowed``; argparse names the flag in front of the error."""
    values = [v.strip() for v in text.split(",") if v.strip()]
    unknown = [v for v in values if v not in allowed]
    if unknown or not values:
        raise argparse.ArgumentTypeError(f"expected a comma-separated subset of {', '.join(allowed)}, got {text!r}")
    return values


def build_parser():
    parser = argparse.ArgumentParser(
        prog="rnngrad bench",
        description="Forward+backward time of rnngrad's fused kernels, its reference loop and torch (CPU); "
        "with --curvature, the time of J v, Gauss-Newton and Hessian-vector products beside torch's.",
    )
    parser.add_argument(
        "--cells",
        default="rnn,lstm,gru",
        type=lambda s: _choices(s, MODELS),
        help=f"comma-separated, from {', '.join(MODELS)}; default all",
    )
    sizes = ", ".join(f"{name} {size}" for name, size in SIZES.items())
    parser.add_argument(
        "--sizes",
        default="small,main,large",
        type=lambda s: _choices(s, SIZES),
        help=f"comma-separated, from {sizes} as (B, T, D, H); default all",
    )
    parser.add_argument(
        "--dtypes",
        default="float64,float32",
        type=lambda s: _choices(s, DTYPES),
        help=f"comma-separated, from {', '.join(DTYPES)}; default both",
    )
    parser.add_argument(
        "--curvature",
        action="store_true",
        help="time J v, Gauss-Newton and Hessian-vector products (and torch's) instead of forward+backward",
    )
    parser.add_argument("--repeats", type=int, default=7, help="timed rounds per row (median reported); default 7")
    parser.add_argument(
        "--skip-reference",
        default="",
        type=lambda s: _choices(s, SIZES) if s else [],
        help="sizes at which not to time the slow traced reference loop, e.g. 'large'",
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=SETTLE,
        help=f"idle seconds before each untimed-then-timed pair of calls (for spinning BLAS threads); default {SETTLE}",
    )
    parser.add_argument("--no-torch", action="store_true", help="leave torch out even when it is installed")
    parser.add_argument("--quick", action="store_true", help="small and main sizes, 3 repeats, no reference at main")
    return parser


def main(argv=None):
    """Run the benchmark and print the table; ``argv`` as for :mod:`argparse` (``None``: ``sys.argv``)."""
    args = build_parser().parse_args(argv)
    if args.repeats < 1:
        raise SystemExit("--repeats: expected a positive integer")
    if not (math.isfinite(args.settle) and args.settle >= 0):
        raise SystemExit(f"--settle: expected seconds >= 0, got {args.settle}")
    sizes, repeats, skip = args.sizes, args.repeats, set(args.skip_reference)
    if args.quick:
        sizes = [s for s in sizes if s != "large"] or ["small"]
        repeats = min(repeats, 3)
        skip.add("main")
    use_torch = not args.no_torch
    if use_torch:
        try:
            import torch
        except ImportError:
            use_torch = False
        else:
            # a thread limit given to NumPy's BLAS through the environment applies to torch too
            limit = os.environ.get("OPENBLAS_NUM_THREADS") or os.environ.get("OMP_NUM_THREADS")
            if limit and limit.isdigit():
                torch.set_num_threads(int(limit))
    for line in environment():
        print(line)
    what = "J v, GGN and HVP products" if args.curvature else "forward+backward"
    print(
        f"repeats: {repeats} (medians), warm-up first, {args.settle} s idle before each timed call;"
        f" {what} of one layer, one direction",
        flush=True,
    )
    if args.curvature:
        return _curvature_table(args.cells, sizes, args.dtypes, repeats, use_torch, args.settle)
    rows = []
    for kind in args.cells:
        for size_name in sizes:
            for dtype_name in args.dtypes:
                row = run_case(
                    kind,
                    size_name,
                    dtype_name,
                    repeats=repeats,
                    reference=size_name not in skip,
                    use_torch=use_torch,
                    settle=args.settle,
                )
                rows.append(row)
                print(f"  {kind} {size_name} {dtype_name}: fused {row['fused']:.2f} ms", file=sys.stderr, flush=True)
    print()
    print(format_table(rows))
    print("sizes (B, T, D, H): " + ", ".join(f"{name} {size}" for name, size in SIZES.items() if name in sizes))
    return 0


def _curvature_table(cells, sizes, dtypes, repeats, use_torch, settle):
    rows = []
    for kind in cells:
        for size_name in sizes:
            for dtype_name in dtypes:
                row = run_curvature_case(
                    kind, size_name, dtype_name, repeats=repeats, use_torch=use_torch, settle=settle
                )
                rows.append(row)
                shown = _ratios(row, _bench_curvature.CURVATURE_COLUMNS)
                parts = ", ".join(f"{key} {value:.3g}" for key, value in shown.items() if isinstance(value, float))
                print(f"  {kind} {size_name} {dtype_name}: {parts}", file=sys.stderr, flush=True)
    print()
    print(format_table(rows, _bench_curvature.CURVATURE_COLUMNS))
    print("sizes (B, T, D, H): " + ", ".join(f"{name} {size}" for name, size in SIZES.items() if name in sizes))
    return 0
