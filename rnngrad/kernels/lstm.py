r"""Fused LSTM (optionally with projection) over a whole sequence, with backpropagation through time.

Forward, for the steps :math:`t` in visiting order, with :math:`m_t` the
mask of the step and :math:`(s_{t-1}, c_{t-1})` the state before it:

.. math::

    \begin{aligned}
    (a^i, a^f, a^g, a^o)_t &= x_t W_{ih}^\top + b_{ih} + b_{hh} + s_{t-1} W_{hh}^\top\\
    i, f, o &= \sigma(a^i), \sigma(a^f), \sigma(a^o), \qquad g = \tanh(a^g)\\
    c'_t &= f \odot c_{t-1} + i \odot g, \qquad k_t = \tanh(c'_t), \qquad
        u_t = o \odot k_t, \qquad h_t = u_t W_{hr}^\top \ (\text{or } u_t)\\
    s_t &= m_t h_t + (1 - m_t) s_{t-1}, \quad c_t = m_t c'_t + (1 - m_t) c_{t-1}, \quad y_t = m_t h_t
    \end{aligned}

Backward, over the steps in the opposite order, from the cotangents
:math:`\bar s_T, \bar c_T` of the final state and :math:`\bar y_t` of the
outputs:

.. math::

    \begin{aligned}
    \bar h_t &= m_t (\bar s_t + \bar y_t), \qquad \bar u_t = \bar h_t W_{hr} \ (\text{or } \bar h_t)\\
    \bar c'_t &= m_t \bar c_t + \bar u_t \odot o \odot (1 - k_t^2)\\
    \bar a^o &= \bar u_t \odot k_t \odot o (1 - o), \quad
    \bar a^i = \bar c'_t \odot g \odot i (1 - i), \quad
    \bar a^f = \bar c'_t \odot c_{t-1} \odot f (1 - f), \quad
    \bar a^g = \bar c'_t \odot i \odot (1 - g^2)\\
    \bar c_{t-1} &= \bar c'_t \odot f + (1 - m_t) \bar c_t, \qquad
    \bar s_{t-1} = \bar a_t W_{hh} + (1 - m_t) \bar s_t
    \end{aligned}

The factors multiplying :math:`\bar u_t` and :math:`\bar c'_t` depend only on
the forward pass, so they are computed for all steps at once before the
loop; each step of the loop is then a few products and one matmul. After it:
:math:`\bar W_{ih} = \sum_t \bar a_t^\top x_t`,
:math:`\bar W_{hh} = \sum_t \bar a_t^\top s_{t-1}`,
:math:`\bar W_{hr} = \sum_t \bar h_t^\top u_t`,
:math:`\bar b_{ih} = \bar b_{hh} = \sum_t \bar a_t`,
:math:`\bar x_t = \bar a_t W_{ih}`, one matmul each.

Inside, the gates are stored in the block order (o, i, f, g), so that the
three sigmoid gates are one run. The forward pass keeps them ``(T, 4, B,
H)``: each step's gates are then one contiguous block and every gate a
contiguous ``(B, H)`` block of it, which NumPy processes faster than strided
slices (the forward loop at (B, T, H) = (8, 50, 32) took 0.52 ms this way,
0.76 ms gate-major and 0.84 ms in torch's ``(T, B, 4H)``). The backward
buffer is gate-major, ``(4, T, B, H)``, so that each weight gradient is one
matmul per gate over all steps. The sigmoid rows are negated so that the
sigmoid costs three passes (``sigmoid_of_negated`` in ``_primitive``).
"""

import numpy as onp

from ._common import (
    dtype_of,
    gate_blocks,
    masked_outputs,
    sigmoid_of_negated,
    step_major_projection,
    step_masks,
    step_slots,
    time_slots,
)
from ._workspace import workspace

__all__ = ["forward", "backward"]


# torch's gate blocks are (i, f, g, o); the kernel's are (o, i, f, g)
ORDER = (3, 0, 1, 2)
NEGATED = (True, True, True, False)  # the sigmoid gates o, i, f


def kernel_blocks(weight, hidden, dtype, signed, layout="rows"):
    """torch's (4H, K) rows as (o, i, f, g) blocks (:func:`._common.gate_blocks`), o, i, f negated if ``signed``."""
    return gate_blocks(weight, hidden, dtype, ORDER, NEGATED if signed else (False,) * 4, layout)


def _rows(blocks):
    """(4, H, ...) in the kernel's order -> (4H, ...) in torch's."""
    out = onp.empty_like(blocks)
    out[list(ORDER)] = blocks
    return out.reshape((-1,) + blocks.shape[2:])


def weight_gradient(grad_gates, right, dtype):
    r"""``(4H, K)`` in torch's row order: block by block :math:`\sum_t \bar a_t^\top r_t`, one matmul per gate."""
    hidden = grad_gates.shape[2]
    out = workspace.empty((4 * hidden, right.shape[1]), dtype)
    for j, source in enumerate(ORDER):
        onp.matmul(grad_gates[j].T, right, out=out[source * hidden : (source + 1) * hidden])
    return out


def unpack(spec, arrays):
    params = dict(zip(spec.names, arrays[2:]))
    return params["weight_ih"], params["weight_hh"], params.get("bias_ih"), params.get("bias_hh"), params


def forward(spec, inputs, arrays, save):
    """Outputs (T, B, O), ``(h_T, c_T)`` and the residuals for :func:`backward`."""
    dtype = dtype_of(inputs, arrays)
    h0, c0 = arrays[:2]
    w_ih, w_hh, b_ih, b_hh, params = unpack(spec, arrays)
    w_hr = params.get("weight_hr")
    num_steps, batch = inputs.shape[:2]
    H = spec.cell.hidden_size
    R = w_hh.shape[1]
    bias = None if b_ih is None else kernel_blocks(onp.add(b_ih, b_hh, dtype=dtype), H, dtype, True)[:, :, 0]
    gates = step_major_projection(inputs, kernel_blocks(w_ih, H, dtype, True, "columns"), bias, H, dtype)
    # (4, R, H): one stacked matmul per step writes the recurrent term gate-major
    w_hh_t = kernel_blocks(w_hh, H, dtype, True, "transposed")
    order, first, last, _, after = time_slots(num_steps, spec.reverse)
    hs = workspace.empty((num_steps + 1, batch, R), dtype)
    cs = workspace.empty((num_steps + 1, batch, H), dtype)
    hs[first], cs[first] = h0, c0
    tanh_c = workspace.empty((num_steps, batch, H), dtype)
    unprojected = workspace.empty((num_steps, batch, H), dtype) if w_hr is not None else None
    recurrent = onp.empty((4, batch, H), dtype=dtype)
    written = onp.empty((batch, H), dtype=dtype)
    keep = None if spec.mask is None else step_masks(spec, dtype)[0]
    with onp.errstate(over="ignore", under="ignore"):
        for t in order:
            read, write = step_slots(t, spec.reverse)
            z = gates[t]
            onp.matmul(hs[read], w_hh_t, out=recurrent)
            z += recurrent
            sigmoid_of_negated(z[:3])
            o, i, f, g = z
            onp.tanh(g, out=g)
            c = cs[write]
            onp.multiply(f, cs[read], out=c)
            onp.multiply(i, g, out=written)
            c += written
            onp.tanh(c, out=tanh_c[t])
            if w_hr is None:
                onp.multiply(o, tanh_c[t], out=hs[write])
            else:
                onp.multiply(o, tanh_c[t], out=unprojected[t])
                onp.matmul(unprojected[t], w_hr.T, out=hs[write])
            if keep is not None:
                onp.copyto(c, cs[read], where=keep[t])
                onp.copyto(hs[write], hs[read], where=keep[t])
    outputs = hs[after] if keep is None else masked_outputs(hs[after], spec, dtype)
    residuals = (gates, tanh_c, hs, cs, unprojected) if save else None
    return outputs, (hs[last].copy(), cs[last].copy()), residuals


def _backward_factors(gates, tanh_c, c_before):
    r"""The factors of the backward recurrence that depend only on the forward pass, all steps at once.

    ``gates`` are the forward's (T, 4, B, H). Returns ``(factors, forget, to_cell)``: ``factors`` (4, T, B, H) holds, in
    the (o, i, f, g) blocks, :math:`k\,o(1-o)`, :math:`g\,i(1-i)`,
    :math:`c_{t-1} f(1-f)`, :math:`i(1-g^2)`; ``forget`` is :math:`f` and
    ``to_cell`` is :math:`o(1 - k^2)`. The residuals are left as they are: a
    VJP may be applied more than once (``jacobian`` does).
    """
    gates = gates.transpose(1, 0, 2, 3)  # gate-major views, each block (T, B, H)
    o, i, f, g = gates
    factors = workspace.empty(gates.shape, gates.dtype)
    d_o, d_i, d_f, d_g = factors
    to_cell = onp.multiply(tanh_c, tanh_c, out=workspace.empty(tanh_c.shape, tanh_c.dtype))
    onp.subtract(1.0, to_cell, out=to_cell)
    to_cell *= o
    # s (1 - s) for the three sigmoid gates in one pass over their run
    onp.subtract(1.0, gates[:3], out=factors[:3])
    factors[:3] *= gates[:3]
    d_o *= tanh_c
    d_i *= g
    d_f *= c_before
    onp.multiply(g, g, out=d_g)
    onp.subtract(1.0, d_g, out=d_g)
    d_g *= i
    return factors, f, to_cell


def backward(spec, inputs, arrays, residuals, cotangents, needed, save=False, inject=None):
    r"""Cotangents of ``(inputs, h_0, c_0, *params)`` from those of ``(outputs, h_T, c_T)``, and the adjoints.

    ``inject`` (for :mod:`.lstm_jvp`) is ``None`` or ``(gates, cell, state)``:
    terms added to every :math:`\bar a_t` ((4, T, B, H), the kernel's order),
    to every :math:`\bar c_{t-1}` and to every :math:`\bar s_{t-1}` (either
    may be ``None``). The adjoints (with ``save``; else ``None``) are
    ``(a-bar, u-bar, c'-bar, h-bar)``: :math:`\bar a` (4, T, B, H),
    :math:`\bar u_t` and :math:`\bar c'_t` (T, B, H), and :math:`\bar h_t`
    (T, B, R) with a projection, else ``None``.
    """
    dtype = dtype_of(inputs, arrays)
    w_ih, w_hh, _, _, params = unpack(spec, arrays)
    w_hr = params.get("weight_hr")
    gates, tanh_c, hs, cs, unprojected = residuals
    g_outputs, g_h, g_c = cotangents
    num_steps, batch, features = inputs.shape
    H = spec.cell.hidden_size
    R = w_hh.shape[1]
    # (4H, R) in the kernel's block order, for one matmul per step on a (B, 4H) copy of the step's a-bar
    w_hh_k = kernel_blocks(w_hh, H, dtype, False).reshape(4 * H, R)
    order, _, _, before, _ = time_slots(num_steps, spec.reverse)
    # each step of the loop turns its column of the factors into a-bar, in place
    grad_gates, forget, to_cell = _backward_factors(gates, tanh_c, cs[before])
    masked = spec.mask is not None
    if masked:
        _, valid, invalid = step_masks(spec, dtype)
    grad_h = onp.array(g_h, dtype=dtype)
    grad_c = onp.array(g_c, dtype=dtype)
    grad_out = workspace.empty((num_steps, batch, R), dtype) if w_hr is not None else None
    grad_y = onp.empty((batch, R), dtype=dtype)
    grad_u = onp.empty((batch, H), dtype=dtype) if w_hr is not None else grad_y
    grad_cell = onp.empty((batch, H), dtype=dtype) if masked else grad_c
    spare = onp.empty((batch, H), dtype=dtype)
    recurrent = onp.empty((batch, R), dtype=dtype)
    step_gates = onp.empty((batch, 4, H), dtype=dtype)
    inject_gates, inject_cell, inject_state = inject or (None, None, None)
    saved_u = saved_cell = None
    if save:
        saved_u, saved_cell = workspace.empty((2, num_steps, batch, H), dtype)
    for t in reversed(order):
        y = grad_y if w_hr is None else grad_out[t]
        onp.add(grad_h, g_outputs[t], out=y)
        if masked:
            y *= valid[t]
        if w_hr is not None:
            onp.matmul(y, w_hr, out=grad_u)
        if save:
            saved_u[t] = grad_u
        a = grad_gates[:, t]
        a[0] *= grad_u
        onp.multiply(grad_u, to_cell[t], out=spare)
        if masked:
            onp.multiply(grad_c, valid[t], out=grad_cell)
            grad_c *= invalid[t]
            grad_cell += spare
            a[1:] *= grad_cell
            if save:
                saved_cell[t] = grad_cell
            onp.multiply(grad_cell, forget[t], out=spare)
            grad_c += spare
        else:
            grad_c += spare
            a[1:] *= grad_c
            if save:
                saved_cell[t] = grad_c
            grad_c *= forget[t]
        if inject_gates is not None:
            a += inject_gates[:, t]
        if inject_cell is not None:
            grad_c += inject_cell[t]
        onp.copyto(step_gates.transpose(1, 0, 2), a)
        if masked:
            grad_h *= invalid[t]
            onp.matmul(step_gates.reshape(batch, 4 * H), w_hh_k, out=recurrent)
            grad_h += recurrent
        else:
            onp.matmul(step_gates.reshape(batch, 4 * H), w_hh_k, out=grad_h)
        if inject_state is not None:
            grad_h += inject_state[t]

    flat = grad_gates.reshape(4, num_steps * batch, H)
    grads = [None] * (3 + len(spec.names))
    if 0 in needed:
        w_ih_k = kernel_blocks(w_ih, H, dtype, False)
        grad_x = workspace.empty((num_steps * batch, features), dtype)
        onp.matmul(flat[0], w_ih_k[0], out=grad_x)
        term = workspace.empty(grad_x.shape, dtype)
        for j in range(1, 4):
            grad_x += onp.matmul(flat[j], w_ih_k[j], out=term)
        grads[0] = grad_x.reshape(num_steps, batch, features)
    grads[1], grads[2] = grad_h, grad_c

    def projection_gradient():
        out = workspace.empty((R, H), dtype)
        return onp.matmul(grad_out.reshape(num_steps * batch, R).T, unprojected.reshape(num_steps * batch, H), out=out)

    x = onp.asarray(inputs, dtype=dtype).reshape(num_steps * batch, features)
    wanted = {
        "weight_ih": lambda: weight_gradient(flat, x, dtype),
        "weight_hh": lambda: weight_gradient(flat, hs[before].reshape(num_steps * batch, R), dtype),
        "bias_ih": lambda: _rows(flat.sum(axis=1)),
        "bias_hh": lambda: _rows(flat.sum(axis=1)),
        "weight_hr": projection_gradient,
    }
    for k, name in enumerate(spec.names, start=3):
        if k in needed:
            grads[k] = wanted[name]()
    return grads, ((grad_gates, saved_u, saved_cell, grad_out) if save else None)
