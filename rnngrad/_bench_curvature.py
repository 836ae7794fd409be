"""The curvature rows of the benchmark (``rnngrad bench --curvature``): J v, Gauss-Newton and Hessian-vector products.

For each cell, size and dtype, one layer and one direction, with respect to
every parameter, the loss :math:`\\ell = \\sum y^2` of the outputs ``y``
(the loss of the issue that set the targets):

* ``fwd``, ``grad``: rnngrad's forward pass and its gradient of the loss;
* ``jvp``: :func:`rnngrad.curvature.jvp` of the outputs;
* ``ggn``: :func:`rnngrad.curvature.ggnvp` with :math:`\\ell = \\tfrac12 \\sum y^2`;
* ``hvp``: :func:`rnngrad.curvature.hvp` of the loss (forward over reverse);
* ``t fwd``, ``t grad``, ``t jvp``, ``t hvp``: torch on the CPU: forward,
  backward, J v and double backward (``autograd.grad(create_graph=True)``
  then a second ``grad``); J v is ``torch.func.jvp`` where torch has
  forward-mode rules for the module, else the VJP of the VJP (``t jvp by``
  says which: torch's oneDNN RNN kernels, which it runs in float32, have none);
* the ratios the targets are stated in: ``jvp/fwd``, ``ggn/grad``,
  ``hvp/grad``, ``hvp/t hvp``, ``jvp/t jvp``.

Every implementation is timed by :func:`rnngrad.bench.time_runners`, the
steady-state method of the first-order table.
"""

import autograd.numpy as anp
import numpy as onp
from autograd import grad

from . import curvature

__all__ = ["run_curvature_case", "CURVATURE_COLUMNS"]


def _rnngrad_runners(kind, size, dtype, models, seed=0):
    batch, steps, features, hidden = size
    model = models[kind](features, hidden)
    rng = onp.random.default_rng(seed)
    params = model.init(rng, dtype=dtype)
    x = rng.normal(size=(steps, batch, features)).astype(dtype)
    vector = {key: rng.normal(size=value.shape).astype(dtype) for key, value in params.items()}

    def outputs(p):
        return model(p, x)[0]

    def loss(p):
        return anp.sum(outputs(p) ** 2)

    gradient = grad(loss)
    half_squares = lambda y: 0.5 * anp.sum(y**2)  # noqa: E731
    return {
        "fwd": lambda: outputs(params),
        "grad": lambda: gradient(params),
        "jvp": lambda: curvature.jvp(outputs, params, vector),
        "ggn": lambda: curvature.ggnvp(outputs, half_squares, params, vector),
        "hvp": lambda: curvature.hvp(loss, params, vector),
    }


def _torch_runners(kind, size, dtype, seed=0):
    import torch
    from torch.func import functional_call, jvp

    batch, steps, features, hidden = size
    torch_dtype = {onp.float64: torch.float64, onp.float32: torch.float32}[dtype]
    module = getattr(torch.nn, {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}[kind])(features, hidden).to(torch_dtype)
    rng = onp.random.default_rng(seed)
    x = torch.tensor(rng.normal(size=(steps, batch, features)), dtype=torch_dtype)
    names, leaves = zip(*module.named_parameters())
    vector = tuple(torch.tensor(rng.normal(size=tuple(p.shape)), dtype=torch_dtype) for p in leaves)
    primals = tuple(p.detach() for p in leaves)

    def forward():
        with torch.no_grad():
            return module(x)[0]

    def gradient():
        return torch.autograd.grad((module(x)[0] ** 2).sum(), leaves)

    def forward_mode():
        return jvp(lambda *p: functional_call(module, dict(zip(names, p)), (x,))[0], primals, vector)

    def double_vjp():
        # J v as the VJP of the (linear) VJP: torch's oneDNN RNN kernels have no forward-mode rule
        output = module(x)[0]
        probe = torch.zeros_like(output, requires_grad=True)
        pulled = torch.autograd.grad(output, leaves, grad_outputs=probe, create_graph=True)
        return torch.autograd.grad(pulled, probe, grad_outputs=vector)

    try:
        forward_mode()
        tangent, how = forward_mode, "func.jvp"
    except (NotImplementedError, RuntimeError):
        tangent, how = double_vjp, "double vjp"

    def double_backward():
        first = torch.autograd.grad((module(x)[0] ** 2).sum(), leaves, create_graph=True)
        along = sum((g * v).sum() for g, v in zip(first, vector))
        return torch.autograd.grad(along, leaves)

    return {"t fwd": forward, "t grad": gradient, "t jvp": tangent, "t hvp": double_backward}, how


def run_curvature_case(kind, size, dtype, *, models, time_runners, repeats=7, use_torch=True, settle=0.2):
    """One row: ``{"cell", "size", "dtype", implementation: median ms, ...}`` (see the module docstring)."""
    runners = _rnngrad_runners(kind, size, dtype, models)
    how = None
    if use_torch:
        torch_runners, how = _torch_runners(kind, size, dtype)
        runners.update(torch_runners)
    row = time_runners(runners, repeats, settle)
    if how is not None:
        row["t jvp by"] = how
    return row


#: ``(key, title, format)`` of the table; a ratio key ``"a/b"`` is computed from the columns a and b.
CURVATURE_COLUMNS = [
    ("cell", "cell", "{}"),
    ("size", "size", "{}"),
    ("dtype", "dtype", "{}"),
    ("fwd", "fwd ms", "{:.2f}"),
    ("grad", "grad ms", "{:.2f}"),
    ("jvp", "jvp ms", "{:.2f}"),
    ("ggn", "ggn ms", "{:.2f}"),
    ("hvp", "hvp ms", "{:.2f}"),
    ("t fwd", "t fwd ms", "{:.2f}"),
    ("t grad", "t grad ms", "{:.2f}"),
    ("t jvp", "t jvp ms", "{:.2f}"),
    ("t hvp", "t hvp ms", "{:.2f}"),
    ("jvp/fwd", "jvp/fwd", "{:.2f}"),
    ("ggn/grad", "ggn/grad", "{:.2f}"),
    ("hvp/grad", "hvp/grad", "{:.2f}"),
    ("hvp/t hvp", "hvp/t hvp", "{:.2f}"),
    ("jvp/t jvp", "jvp/t jvp", "{:.2f}"),
    ("grad/t grad", "grad/t grad", "{:.2f}"),
    ("t jvp by", "t jvp by", "{}"),
]
