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

Inside, the rows of :math:`W_{hh}` are permuted from torch's (r, z, n) to
(n, r, z), and the backward buffer is laid out (q, r, z, n): then
:math:`\bar g^h` and :math:`\bar g^i` are its first and last three blocks,
each a plain strided view. The sigmoid rows are negated, as in :mod:`.lstm`.
"""

import numpy as onp

from ._primitive import dtype_of, project, sigmoid_of_negated, step_masks, step_slots, time_slots

__all__ = ["forward", "backward"]


def _unpack(spec, arrays):
    params = dict(zip(spec.names, arrays[1:]))
    return arrays[0], params["weight_ih"], params["weight_hh"], params.get("bias_ih"), params.get("bias_hh")


def _recurrent_perm(hidden):
    """Rows of W_hh from torch's (r, z, n) to (n, r, z)."""
    H = hidden
    return onp.concatenate([onp.arange(2 * H, 3 * H), onp.arange(0, 2 * H)])


def forward(spec, inputs, arrays, save):
    """Outputs (T, B, H), ``(h_T,)`` and the residuals for :func:`backward`."""
    dtype = dtype_of(inputs, arrays)
    h0, w_ih, w_hh, b_ih, b_hh = _unpack(spec, arrays)
    num_steps, batch = inputs.shape[:2]
    H = spec.cell.hidden_size
    sign = onp.ones(3 * H, dtype=dtype)
    sign[: 2 * H] = -1.0
    bias = None
    if b_ih is not None:
        bias = onp.array(b_ih, dtype=dtype)
        bias[: 2 * H] += b_hh[: 2 * H]
        bias *= sign
    # (r, z, n) blocks: -(pre-activations of r and z), then x W_in + b_in
    gates = project(inputs, w_ih * sign[:, None], bias, dtype)
    perm = _recurrent_perm(H)
    w_hh_t = (w_hh[perm] * sign[perm, None]).T
    b_hn = None if b_hh is None else b_hh[2 * H :]
    order, first, last, _, after = time_slots(num_steps, spec.reverse)
    hs = onp.empty((num_steps + 1, batch, H), dtype=dtype)
    hs[first] = h0
    hidden_n = onp.empty((num_steps, batch, H), dtype=dtype)
    recurrent = onp.empty((batch, 3 * H), dtype=dtype)
    spare = onp.empty((batch, H), dtype=dtype)
    keep = None if spec.mask is None else step_masks(spec, dtype)[0]
    with onp.errstate(over="ignore", under="ignore"):
        for t in order:
            read, write = step_slots(t, spec.reverse)
            z_all = gates[t]
            onp.matmul(hs[read], w_hh_t, out=recurrent)
            rz = z_all[:, : 2 * H]
            rz += recurrent[:, H:]
            sigmoid_of_negated(rz)
            r, z, n = z_all[:, :H], z_all[:, H : 2 * H], z_all[:, 2 * H :]
            q = hidden_n[t]
            if b_hn is None:
                q[...] = recurrent[:, :H]
            else:
                onp.add(recurrent[:, :H], b_hn, out=q)
            onp.multiply(r, q, out=spare)
            n += spare
            onp.tanh(n, out=n)
            onp.subtract(hs[read], n, out=spare)
            spare *= z
            onp.add(n, spare, out=hs[write])
            if keep is not None:
                onp.copyto(hs[write], hs[read], where=keep[t])
    outputs = hs[after]
    if keep is not None:
        outputs = outputs * step_masks(spec, dtype)[1]
    return outputs, (hs[last].copy(),), ((gates, hidden_n, hs) if save else None)


def backward(spec, inputs, arrays, residuals, cotangents, needed):
    """Cotangents of ``(inputs, h_0, *params)`` from those of ``(outputs, h_T)``."""
    dtype = dtype_of(inputs, arrays)
    _, w_ih, w_hh, _, _ = _unpack(spec, arrays)
    gates, hidden_n, hs = residuals
    g_outputs, g_final = cotangents
    num_steps, batch, features = inputs.shape
    H = spec.cell.hidden_size
    perm = _recurrent_perm(H)
    w_hh_p = w_hh[perm]
    order, _, _, before, _ = time_slots(num_steps, spec.reverse)
    r, z, n = gates[..., :H], gates[..., H : 2 * H], gates[..., 2 * H :]
    # factors of h-bar that depend only on the forward pass, every step at once
    slopes = onp.subtract(1.0, gates[..., : 2 * H])
    slopes *= gates[..., : 2 * H]  # s (1 - s) of the reset and update gates, one pass
    to_r, to_z = slopes[..., :H], slopes[..., H:]
    to_r *= hidden_n
    to_z *= onp.subtract(hs[before], n)
    to_n = n * n
    onp.subtract(1.0, to_n, out=to_n)
    to_n *= onp.subtract(1.0, z)
    masked = spec.mask is not None
    if masked:
        _, valid, invalid = step_masks(spec, dtype)
    # blocks (q, r, z, n): g^h = [:, :3H] in W_hh's (n, r, z) order, g^i = [:, H:] in W_ih's (r, z, n) order
    buffer = onp.empty((num_steps, batch, 4 * H), dtype=dtype)
    grad_h = onp.array(g_final, dtype=dtype)
    grad_y = onp.empty((batch, H), dtype=dtype)
    spare = onp.empty((batch, H), dtype=dtype)
    for t in reversed(order):
        onp.add(grad_h, g_outputs[t], out=grad_y)
        if masked:
            grad_y *= valid[t]
        b = buffer[t]
        grad_n = b[:, 3 * H :]
        onp.multiply(grad_y, to_n[t], out=grad_n)
        onp.multiply(grad_y, to_z[t], out=b[:, 2 * H : 3 * H])
        onp.multiply(grad_n, to_r[t], out=b[:, H : 2 * H])
        onp.multiply(grad_n, r[t], out=b[:, :H])
        onp.multiply(grad_y, z[t], out=spare)
        if masked:
            grad_h *= invalid[t]
            grad_h += spare
        else:
            grad_h, spare = spare, grad_h
        grad_h += b[:, : 3 * H] @ w_hh_p

    flat = buffer.reshape(num_steps * batch, 4 * H)
    grad_i, grad_hh = flat[:, H:], flat[:, : 3 * H]
    grads = [None] * (2 + len(spec.names))
    if 0 in needed:
        grads[0] = (grad_i @ w_ih).reshape(num_steps, batch, features)
    grads[1] = grad_h

    def unpermute(rows):
        out = onp.empty_like(rows)
        out[perm] = rows
        return out

    wanted = {
        "weight_ih": lambda: grad_i.T @ onp.asarray(inputs, dtype=dtype).reshape(num_steps * batch, features),
        "weight_hh": lambda: unpermute(grad_hh.T @ hs[before].reshape(num_steps * batch, H)),
        "bias_ih": lambda: grad_i.sum(axis=0),
        "bias_hh": lambda: unpermute(grad_hh.sum(axis=0)),
    }
    for k, name in enumerate(spec.names, start=2):
        if k in needed:
            grads[k] = wanted[name]()
    return grads
