r"""Fused GRU (torch's reset-after form) over a whole sequence, with backpropagation through time.

Forward, for the steps :math:`t` in visiting order, with :math:`m_t` the
mask of the step and :math:`s_{t-1}` the state before it:

.. math::

    \begin{aligned}
    r &= \sigma(x_t W_{ir}^\top + b_{ir} + b_{hr} + s_{t-1} W_{hr}^\top), \qquad
    z = \sigma(x_t W_{iz}^\top + b_{iz} + b_{hz} + s_{t-1} W_{hz}^\top)\\
    q_t &= s_{t-1} W_{hn}^\top + b_{hn}, \qquad
    n = \tanh(x_t W_{in}^\top + b_{in} + r \odot q_t)\\
    h_t &= n + z \odot (s_{t-1} - n) \quad (= (1 - z) \odot n + z \odot s_{t-1})\\
    s_t &= m_t h_t + (1 - m_t) s_{t-1}, \qquad y_t = m_t h_t
    \end{aligned}

Backward, over the steps in the opposite order, from the cotangents
:math:`\bar s_T` of the final state and :math:`\bar y_t` of the outputs:

.. math::

    \begin{aligned}
    \bar h_t &= m_t (\bar s_t + \bar y_t)\\
    \bar a^n &= \bar h_t \odot (1 - z)(1 - n^2), \qquad
    \bar a^z = \bar h_t \odot (s_{t-1} - n)\, z (1 - z)\\
    \bar a^r &= \bar a^n \odot q_t\, r (1 - r), \qquad
    \bar q_t = \bar a^n \odot r\\
    \bar s_{t-1} &= (\bar a^r, \bar a^z, \bar q_t) W_{hh} + \bar h_t \odot z + (1 - m_t) \bar s_t
    \end{aligned}

The products in parentheses depend only on the forward pass and are computed
for all steps at once before the loop. After it, one matmul each: with
:math:`\bar g^i_t = (\bar a^r, \bar a^z, \bar a^n)` and
:math:`\bar g^h_t = (\bar a^r, \bar a^z, \bar q_t)`,
:math:`\bar W_{ih} = \sum_t \bar g^{i\top}_t x_t`,
:math:`\bar W_{hh} = \sum_t \bar g^{h\top}_t s_{t-1}`,
:math:`\bar b_{ih} = \sum_t \bar g^i_t`, :math:`\bar b_{hh} = \sum_t \bar g^h_t`,
:math:`\bar x_t = \bar g^i_t W_{ih}`.

Inside, the forward pass stores the gates ``(T, 3, B, H)`` in torch's block
order (r, z, n), so that each step's gates are one contiguous block and
every gate a contiguous ``(B, H)`` block of it (as in :mod:`.lstm`), and the
gate-major backward buffer is ``(4, T, B, H)`` with blocks
(:math:`\bar a^r, \bar a^z, \bar q, \bar a^n`): :math:`\bar g^h` is its first
three blocks, :math:`\bar g^i` blocks 0, 1 and 3. The sigmoid rows are
negated, as in :mod:`.lstm`.
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


def unpack(spec, arrays):
    params = dict(zip(spec.names, arrays[1:]))
    return arrays[0], params["weight_ih"], params["weight_hh"], params.get("bias_ih"), params.get("bias_hh")


NEGATED = (True, True, False)  # the sigmoid gates r, z


def kernel_blocks(weight, hidden, dtype, signed, layout="rows"):
    """torch's (3H, K) rows as (r, z, n) blocks (see :func:`._common.gate_blocks`), r and z negated if ``signed``."""
    return gate_blocks(weight, hidden, dtype, (0, 1, 2), NEGATED if signed else (False,) * 3, layout)


def weight_gradient(blocks, right, dtype):
    r"""``(3H, K)``: block by block :math:`\sum_t \bar g_t^\top r_t`, one matmul per gate."""
    hidden = blocks[0].shape[1]
    out = workspace.empty((3 * hidden, right.shape[1]), dtype)
    for j, block in enumerate(blocks):
        onp.matmul(block.T, right, out=out[j * hidden : (j + 1) * hidden])
    return out


def forward(spec, inputs, arrays, save):
    """Outputs (T, B, H), ``(h_T,)`` and the residuals for :func:`backward`."""
    dtype = dtype_of(inputs, arrays)
    h0, w_ih, w_hh, b_ih, b_hh = unpack(spec, arrays)
    num_steps, batch = inputs.shape[:2]
    H = spec.cell.hidden_size
    # (r, z, n) blocks: -(pre-activations of r and z without the recurrent term), then x W_in + b_in
    bias = b_hn = None
    if b_ih is not None:
        bias = onp.array(b_ih, dtype=dtype)
        bias[: 2 * H] += b_hh[: 2 * H]  # (3H,): small, a plain copy
        bias = kernel_blocks(bias, H, dtype, True)[:, :, 0]
        b_hn = b_hh[2 * H :]
    gates = step_major_projection(inputs, kernel_blocks(w_ih, H, dtype, True, "columns"), bias, H, dtype)
    w_hh_t = kernel_blocks(w_hh, H, dtype, True, "transposed")
    order, first, last, _, after = time_slots(num_steps, spec.reverse)
    hs = workspace.empty((num_steps + 1, batch, H), dtype)
    hs[first] = h0
    hidden_n = workspace.empty((num_steps, batch, H), dtype)
    recurrent = onp.empty((3, batch, H), dtype=dtype)
    spare = onp.empty((batch, H), dtype=dtype)
    keep = None if spec.mask is None else step_masks(spec, dtype)[0]
    with onp.errstate(over="ignore", under="ignore"):
        for t in order:
            read, write = step_slots(t, spec.reverse)
            z_all = gates[t]
            onp.matmul(hs[read], w_hh_t, out=recurrent)
            rz = z_all[:2]
            rz += recurrent[:2]
            sigmoid_of_negated(rz)
            r, z, n = z_all
            q = hidden_n[t]
            if b_hn is None:
                q[...] = recurrent[2]
            else:
                onp.add(recurrent[2], b_hn, out=q)
            onp.multiply(r, q, out=spare)
            n += spare
            onp.tanh(n, out=n)
            onp.subtract(hs[read], n, out=spare)
            spare *= z
            onp.add(n, spare, out=hs[write])
            if keep is not None:
                onp.copyto(hs[write], hs[read], where=keep[t])
    outputs = hs[after] if keep is None else masked_outputs(hs[after], spec, dtype)
    return outputs, (hs[last].copy(),), ((gates, hidden_n, hs) if save else None)


def backward(spec, inputs, arrays, residuals, cotangents, needed, save=False, inject=None):
    r"""Cotangents of ``(inputs, h_0, *params)`` from those of ``(outputs, h_T)``, and the adjoints.

    ``inject`` (for :mod:`.gru_jvp`) is ``None`` or ``(gates, state)``: terms
    added to every step's :math:`(\bar a^r, \bar a^z, \bar q, \bar a^n)`
    ((4, T, B, H)) and to every :math:`\bar s_{t-1}` (either may be
    ``None``). The adjoints (with ``save``; else ``None``) are that (4, T, B,
    H) buffer and :math:`\bar h_t = m_t (\bar s_t + \bar y_t)` (T, B, H).
    """
    dtype = dtype_of(inputs, arrays)
    _, w_ih, w_hh, _, _ = unpack(spec, arrays)
    gates, hidden_n, hs = residuals
    g_outputs, g_final = cotangents
    num_steps, batch, features = inputs.shape
    H = spec.cell.hidden_size
    order, _, _, before, _ = time_slots(num_steps, spec.reverse)
    gates = gates.transpose(1, 0, 2, 3)  # the forward's (T, 3, B, H) as gate-major views, each (T, B, H)
    r, z, n = gates
    # factors of h-bar that depend only on the forward pass, every step at once
    slopes = onp.subtract(1.0, gates[:2], out=workspace.empty((2, *n.shape), dtype))
    slopes *= gates[:2]  # s (1 - s) of the reset and update gates, one pass
    to_r, to_z = slopes
    to_r *= hidden_n
    spare = onp.subtract(hs[before], n, out=workspace.empty(n.shape, dtype))
    to_z *= spare
    to_n = onp.multiply(n, n, out=workspace.empty(n.shape, dtype))
    onp.subtract(1.0, to_n, out=to_n)
    to_n *= onp.subtract(1.0, z, out=spare)
    masked = spec.mask is not None
    if masked:
        _, valid, invalid = step_masks(spec, dtype)
    # blocks (a-bar r, a-bar z, q-bar, a-bar n): g^h = blocks 0-2 in W_hh's order, g^i = blocks 0, 1, 3
    buffer = workspace.empty((4, num_steps, batch, H), dtype)
    grad_h = onp.array(g_final, dtype=dtype)
    grad_y = onp.empty((batch, H), dtype=dtype)
    spare = onp.empty((batch, H), dtype=dtype)
    recurrent = onp.empty((batch, H), dtype=dtype)
    step_gates = onp.empty((batch, 3, H), dtype=dtype)
    w_hh_rows = onp.asarray(w_hh, dtype=dtype)
    inject_gates, inject_state = inject or (None, None)
    saved_y = workspace.empty((num_steps, batch, H), dtype) if save else None
    for t in reversed(order):
        if save:
            grad_y = saved_y[t]
        onp.add(grad_h, g_outputs[t], out=grad_y)
        if masked:
            grad_y *= valid[t]
        grad_r, grad_z, grad_q, grad_n = buffer[:, t]
        onp.multiply(grad_y, to_n[t], out=grad_n)
        onp.multiply(grad_y, to_z[t], out=grad_z)
        onp.multiply(grad_n, to_r[t], out=grad_r)
        onp.multiply(grad_n, r[t], out=grad_q)
        if inject_gates is not None:
            buffer[:, t] += inject_gates[:, t]
        onp.copyto(step_gates.transpose(1, 0, 2), buffer[:3, t])
        onp.matmul(step_gates.reshape(batch, 3 * H), w_hh_rows, out=recurrent)
        onp.multiply(grad_y, z[t], out=spare)
        if masked:
            grad_h *= invalid[t]
            grad_h += spare
        else:
            grad_h, spare = spare, grad_h
        grad_h += recurrent
        if inject_state is not None:
            grad_h += inject_state[t]

    flat = buffer.reshape(4, num_steps * batch, H)
    grad_i = (flat[0], flat[1], flat[3])
    grads = [None] * (2 + len(spec.names))
    if 0 in needed:
        w_ih_blocks = kernel_blocks(w_ih, H, dtype, False)
        grad_x = workspace.empty((num_steps * batch, features), dtype)
        onp.matmul(grad_i[0], w_ih_blocks[0], out=grad_x)
        term = workspace.empty(grad_x.shape, dtype)
        for j in (1, 2):
            grad_x += onp.matmul(grad_i[j], w_ih_blocks[j], out=term)
        grads[0] = grad_x.reshape(num_steps, batch, features)
    grads[1] = grad_h

    x = onp.asarray(inputs, dtype=dtype).reshape(num_steps * batch, features)
    wanted = {
        "weight_ih": lambda: weight_gradient(grad_i, x, dtype),
        "weight_hh": lambda: weight_gradient(flat[:3], hs[before].reshape(num_steps * batch, H), dtype),
        "bias_ih": lambda: onp.concatenate([block.sum(axis=0) for block in grad_i]),
        "bias_hh": lambda: flat[:3].sum(axis=1).reshape(3 * H),
    }
    for k, name in enumerate(spec.names, start=2):
        if k in needed:
            grads[k] = wanted[name]()
    return grads, ((buffer, saved_y) if save else None)
