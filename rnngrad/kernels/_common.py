"""What the fused kernels share: time slots, projections, gate blocks, the sigmoid, masks."""

import numpy as onp
from autograd.tracer import getval

from ._workspace import workspace

__all__ = [
    "time_slots",
    "step_slots",
    "project",
    "step_major_projection",
    "gate_blocks",
    "sigmoid_of_negated",
    "dtype_of",
    "step_masks",
    "masked_outputs",
    "tangent_array",
    "named_tangents",
]


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


def tangent_array(value, dtype):
    """A tangent or cotangent as a plain array of ``dtype``; ``None`` (a zero, skipped by the caller) stays ``None``."""
    return None if value is None else onp.asarray(value, dtype=dtype)


def named_tangents(spec, values, dtype):
    """``(x', state', {name: param'})`` of tangents aligned with ``(inputs, *state, *params)``, ``None`` for zeros."""
    values = [tangent_array(v, dtype) for v in values]
    count = 1 + spec.num_states
    return values[0], tuple(values[1:count]), dict(zip(spec.names, values[count:]))


def accumulate(total, term):
    """``total + term`` where either may be ``None`` (a zero); in place when ``total`` is an array."""
    if term is None:
        return total
    if total is None:
        return term
    total += term
    return total


def products(shape, dtype, pairs):
    """The sum of ``a @ b`` over the pairs ``(a, b)`` with neither ``None`` (zero if none), in the workspace."""
    out = workspace.empty(shape, dtype)
    term = None
    for a, b in pairs:
        if a is None or b is None:
            continue
        if term is None:
            onp.matmul(a, b, out=out)
            term = workspace.empty(shape, dtype)
        else:
            out += onp.matmul(a, b, out=term)
    started = term is not None
    if not started:
        out.fill(0)
    return out


def transposed(array):
    """``array.T``, or ``None`` for ``None`` (a zero tangent)."""
    return None if array is None else array.T


def zeros_for(values, like, dtype):
    """``values`` as arrays of ``dtype``, a zero of the shape of ``like[k]`` where ``values[k]`` is ``None``."""
    return [
        onp.zeros(onp.shape(getval(b)), dtype) if a is None else onp.asarray(a, dtype) for a, b in zip(values, like)
    ]
