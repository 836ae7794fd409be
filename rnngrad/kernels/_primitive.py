r"""The one autograd primitive behind every fused kernel, and what the kernels share.

A kernel module (:mod:`.rnn`, :mod:`.lstm`, :mod:`.gru`) supplies two plain
NumPy functions for one direction of one layer:

* ``forward(spec, inputs, arrays, save) -> (outputs, final_state, residuals)``
* ``backward(spec, inputs, arrays, residuals, cotangents, needed) -> grads``

where ``arrays`` is the initial state followed by the parameters in the
cell's :meth:`~rnngrad.Cell.param_shapes` order, and ``grads`` holds one
array per position of ``(inputs, *arrays)`` listed in ``needed`` (``None``
elsewhere). :func:`fused_sequence` wraps them as a single autograd primitive
whose answer is the tuple ``(outputs, *final_state)``.

Derivative rules of the primitive:

=====================  ==================================  ==========================================
mode                   plain arrays everywhere             a box anywhere (higher-order tracing)
=====================  ==================================  ==========================================
reverse (VJP)          the kernel's hand-written BPTT      autograd's VJP of the traced reference loop
forward (JVP)          autograd's JVP of the reference     autograd's JVP of the reference
=====================  ==================================  ==========================================

The fallback runs the reference loop (what :func:`rnngrad.sequence.unroll`
runs with ``impl="reference"``) on the very same (possibly boxed) values, so grad of grad, Hessian-vector
products and forward mode give the reference path's numbers, and are
themselves differentiable. Only first-order reverse mode on plain arrays, the
case training needs, takes the fast backward.
"""

from dataclasses import dataclass

import numpy as onp
from autograd.builtins import SequenceBox, TupleVSpace
from autograd.builtins import tuple as traced_tuple
from autograd.core import make_jvp, make_vjp
from autograd.extend import defjvp_argnums, defvjp_argnums, primitive
from autograd.tracer import getval, isbox

from .._runners import run_reference
from ._workspace import workspace

__all__ = [
    "Spec",
    "fused_sequence",
    "make_kernel",
    "time_slots",
    "step_slots",
    "project",
    "sigmoid_of_negated",
    "dtype_of",
    "step_masks",
    "masked_outputs",
    "gate_blocks",
    "step_major_projection",
]


class _Run(tuple):
    """``(outputs, *final_state)``, carrying the forward's saved arrays as ``.residuals``.

    The residuals live on the answer, which autograd's tape keeps exactly as
    long as the backward pass may need it; while it does, the workspace they
    came from sees them referred to and does not hand them out again.
    """


SequenceBox.register(_Run)
TupleVSpace.register(_Run)


@dataclass(frozen=True, eq=False)
class Spec:
    """What is fixed in one call: the kernel module, the cell, the parameter names, mask and direction."""

    kernel: object
    cell: object
    names: tuple
    mask: object
    reverse: bool

    @property
    def num_states(self):
        return len(self.cell.state_sizes)


@primitive
def fused_sequence(spec, inputs, *arrays):
    """Run ``spec.cell`` over the whole sequence; returns ``(outputs, *final_state)``."""
    outputs, final, residuals = spec.kernel.forward(spec, inputs, arrays, True)
    run = _Run((outputs, *final))
    run.residuals = residuals
    return run


def _boxed(value):
    return isbox(value) or (isinstance(value, (tuple, list)) and any(isbox(v) for v in value))


def _reference(spec, inputs, arrays):
    # the arguments were validated and their padding cleared where they entered the sequence module
    n = spec.num_states
    params = dict(zip(spec.names, arrays[n:]))
    outputs, final = run_reference(spec.cell, params, inputs, tuple(arrays[:n]), spec.mask, spec.reverse)
    return traced_tuple((outputs, *final))


def _reference_of(spec, args, argnums):
    """The reference loop as a function of the tuple of arguments at ``argnums``."""

    def run(values):
        full = list(args)
        for k, argnum in enumerate(argnums):
            full[argnum] = values[k]
        return _reference(spec, full[1], full[2:])

    return run, traced_tuple(tuple(args[i] for i in argnums))


def _vjp_maker(argnums, ans, args, kwargs):
    spec = args[0]

    def vjp(g):
        if any(_boxed(a) for a in args) or _boxed(g):
            run, values = _reference_of(spec, args, argnums)
            reference_vjp, _ = make_vjp(run, values)
            return reference_vjp(g)
        needed = frozenset(i - 1 for i in argnums)
        grads = spec.kernel.backward(spec, args[1], args[2:], ans.residuals, tuple(g), needed)
        return tuple(grads[i - 1] for i in argnums)

    return vjp


def _jvp_maker(argnums, gs, ans, args, kwargs):
    run, values = _reference_of(args[0], args, argnums)
    _, tangent = make_jvp(run, values)(traced_tuple(tuple(gs)))
    return tangent


defvjp_argnums(fused_sequence, _vjp_maker)
defjvp_argnums(fused_sequence, _jvp_maker)


def make_kernel(module):
    """The ``kernel(cell, params, inputs, state, mask, reverse)`` that :mod:`rnngrad.sequence` calls."""

    def kernel(cell, params, inputs, state, mask, reverse):
        state = tuple(state)
        names = tuple(cell.param_shapes())
        arrays = state + tuple(params[name] for name in names)
        num_steps, batch = inputs.shape[:2]
        if num_steps == 0:
            return onp.zeros((0, batch, cell.output_size), dtype=inputs.dtype), state
        if mask is not None:
            mask = onp.asarray(mask, dtype=bool)
            if mask.all():
                mask = None  # every step valid: the unmasked loop computes the same function, faster
        spec = Spec(module, cell, names, mask, bool(reverse))
        if not _boxed((inputs, *arrays)):
            outputs, final, _ = module.forward(spec, inputs, arrays, False)
            return outputs, tuple(final)
        run = fused_sequence(spec, inputs, *arrays)
        return run[0], tuple(run[i] for i in range(1, 1 + len(state)))

    kernel.__name__ = f"{module.__name__.rsplit('.', 1)[-1]}_kernel"
    kernel.__doc__ = module.__doc__
    return kernel


# -- helpers the kernels share ------------------------------------------------


def time_slots(num_steps, reverse):
    """Visiting order and state slots of a ``(T + 1, B, S)`` state buffer indexed by time.

    Forward: slot 0 holds the initial state and step t reads slot t, writes
    slot t + 1. Reverse: slot T holds it and step t reads slot t + 1, writes
    slot t. Either way ``buffer[after]`` are the states after each step and
    ``buffer[before]`` those before it, both (T, B, S) in time order.

    Returns ``(order, first, last, before, after)``: ``order`` the times in
    visiting order, ``first`` the initial slot, ``last`` the final one,
    ``before``/``after`` slices.
    """
    if reverse:
        return range(num_steps - 1, -1, -1), num_steps, 0, slice(1, None), slice(None, -1)
    return range(num_steps), 0, num_steps, slice(None, -1), slice(1, None)


def step_slots(t, reverse):
    """``(read, write)`` slots of the state buffer at step t."""
    return (t + 1, t) if reverse else (t, t + 1)


def project(inputs, weight, bias, dtype):
    """``x W^T + b`` for every step at once: (T, B, D) -> (T, B, G), a contiguous workspace buffer."""
    num_steps, batch, features = inputs.shape
    out = workspace.empty((num_steps * batch, weight.shape[0]), dtype)
    onp.matmul(onp.asarray(inputs, dtype=dtype).reshape(num_steps * batch, features), weight.T, out=out)
    if bias is not None:
        out += bias
    return out.reshape(num_steps, batch, weight.shape[0])


def step_major_projection(inputs, columns, bias, hidden, dtype):
    """Every step's input projection ``x W^T + b`` as (T, G, B, H): each step's gates one contiguous block.

    ``columns`` is the (D, G*H) weight (:func:`gate_blocks` with ``layout="columns"``)
    and ``bias`` its (G, H) blocks or ``None``. One matmul projects every
    step at once, (T*B, G*H); one pass copies that step-major, adding the
    bias on the way. Both buffers come from the workspace.
    """
    num_steps, batch = inputs.shape[:2]
    count = columns.shape[1] // hidden
    projected = project(inputs, columns.T, None, dtype).reshape(num_steps, batch, count, hidden).transpose(0, 2, 1, 3)
    gates = workspace.empty((num_steps, count, batch, hidden), dtype)
    if bias is None:
        onp.copyto(gates, projected)
    else:
        onp.add(projected, bias[:, None, :], out=gates)
    return gates


def gate_blocks(weight, hidden, dtype, order, negated, layout="rows"):
    """torch's ``(G*H, K)`` weight as G blocks in the kernel's gate ``order``, copied to a workspace buffer.

    ``layout`` ``"rows"`` gives ``(G, H, K)``, ``"transposed"`` ``(G, K, H)``,
    ``"columns"`` ``(K, G*H)`` (the transposed blocks side by side, so that
    one matmul computes every gate). Block ``j`` is torch's block
    ``order[j]``, negated where ``negated[j]`` (the sigmoid rows, see
    :func:`sigmoid_of_negated`), in ``dtype``. A ``(G*H,)`` bias is a
    ``K = 1`` weight.
    """
    count = len(order)
    rows = weight.reshape(count, hidden, -1)
    width = rows.shape[2]
    if layout == "columns":
        out = workspace.empty((width, count * hidden), dtype)
        targets = out.reshape(width, count, hidden).transpose(1, 0, 2)
    else:
        out = targets = workspace.empty((count, hidden, width) if layout == "rows" else (count, width, hidden), dtype)
    for j, source in enumerate(order):
        block = rows[source] if layout == "rows" else rows[source].T
        if negated[j]:
            onp.negative(block, out=targets[j])
        else:
            onp.copyto(targets[j], block)
    return out


def sigmoid_of_negated(values):
    r"""In place: ``values`` hold :math:`-a`; afterwards :math:`\sigma(a) = 1 / (1 + e^{-a})`.

    The kernels negate the sigmoid rows of their weights once, so that each
    step pays three passes (exp, add, reciprocal) instead of four. For
    :math:`a \to -\infty` the exponential overflows to ``inf`` and the answer
    is the correct ``0.0``; callers run under ``errstate(over="ignore")``.
    """
    onp.exp(values, out=values)
    values += 1.0
    onp.reciprocal(values, out=values)


def dtype_of(inputs, arrays):
    """The computation dtype: that of the parameters and inputs together (as the reference loop's)."""
    return onp.result_type(*(getval(a).dtype for a in (inputs, *arrays)))


def step_masks(spec, dtype):
    """``(keep, valid, invalid)``: (T, B, 1) bool ``~mask``, and ``mask`` and ``1 - mask`` as floats.

    Multiplying by exact 0 or 1 is exact, so the backward masks with products.
    """
    mask = spec.mask[:, :, None]
    return ~mask, mask.astype(dtype), (~mask).astype(dtype)


def masked_outputs(states, spec, dtype):
    """``states`` (T, B, S) times the mask: the outputs, zero at padded steps, in a workspace buffer."""
    return onp.multiply(states, spec.mask[:, :, None], out=workspace.empty(states.shape, dtype))
