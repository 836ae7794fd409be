r"""Forward mode of the fused GRU (:mod:`.gru`): its tangent, and the tangent of its backward pass.

Tangent, with dots for tangents (notation of :mod:`.gru`; :math:`\dot r,
\dot z, \dot n` are the tangents of the gates after their nonlinearities):

.. math::

    \begin{aligned}
    \dot r &= r(1-r)\,(\dot x_t W_{ir}^\top + x_t \dot W_{ir}^\top + \dot b_{ir} + \dot b_{hr}
        + s_{t-1} \dot W_{hr}^\top + \dot s_{t-1} W_{hr}^\top), \quad \dot z \text{ alike}\\
    \dot q_t &= \dot s_{t-1} W_{hn}^\top + s_{t-1} \dot W_{hn}^\top + \dot b_{hn}, \qquad
    \dot n = (1-n^2)\,(\dot x_t W_{in}^\top + x_t \dot W_{in}^\top + \dot b_{in} + \dot r q_t + r \dot q_t)\\
    \dot h_t &= \dot n + \dot z\,(s_{t-1} - n) + z\,(\dot s_{t-1} - \dot n)
    \end{aligned}

and the mask as in the forward. Every term with :math:`x`, :math:`\dot x`,
:math:`s_{t-1}` (saved) or a bias is a whole-sequence matmul or sum before
the loop; the loop has one matmul per step.

Tangent of the backward pass (:func:`second_order`): the same backward
recurrence run on the cotangents' tangents, plus the variation of its
coefficients with the forward pass, known before the loop from the saved
:math:`\bar h_t` and :math:`\bar a^n_t` and the tangent trajectory:

=========================  ======================================================================================
injected into              term
=========================  ======================================================================================
:math:`\bar a^n_t`         :math:`\delta\bar a^n = -\bar h \dot z (1-n^2) - 2 n \dot n\, \bar h (1-z)`
:math:`\bar a^z_t`         :math:`\bar h\,[(\dot s_{t-1} - \dot n)\, z(1-z) + (s_{t-1} - n)(1-2z)\, \dot z]`
:math:`\bar a^r_t`         :math:`(\delta\bar a^n q_t + \bar a^n \dot q_t)\, r(1-r) + \bar a^n q_t (1-2r)\, \dot r`
:math:`\bar q_t`           :math:`\delta\bar a^n r + \bar a^n \dot r`
:math:`\bar s_{t-1}`       :math:`\bar h \dot z + (\bar a^r, \bar a^z, \bar q)\, \dot W_{hh}`
=========================  ======================================================================================

(the backward derives :math:`\bar a^r` and :math:`\bar q` from
:math:`\bar a^n` before the injection, so their rows carry
:math:`\delta\bar a^n`'s share). At padded steps :math:`\bar h = 0` and every
term vanishes. Added after the backward, one matmul each:
:math:`\bar g^{i\top} \dot x` to :math:`d\bar W_{ih}`,
:math:`\bar g^{h\top} \dot s_{t-1}` to :math:`d\bar W_{hh}` and
:math:`\bar g^i \dot W_{ih}` to :math:`d\bar x`.
"""

import numpy as onp

from . import gru
from ._common import (
    dtype_of,
    masked_outputs,
    named_tangents,
    products,
    step_slots,
    time_slots,
    transposed,
    zeros_for,
)
from ._workspace import workspace

__all__ = ["tangent", "second_order"]


def tangent(spec, inputs, arrays, residuals, tangents):
    r"""Tangents of ``(outputs, (h_T,))`` and the trajectory.

    The trajectory is ``(gates', q', h')``: :math:`(\dot r, \dot z, \dot n)`
    (T, 3, B, H), :math:`\dot q` (T, B, H) and :math:`\dot s` (T + 1, B, H)
    in time slots.
    """
    dtype = dtype_of(inputs, arrays)
    _, w_ih, w_hh, _, _ = gru.unpack(spec, arrays)
    gates, hidden_n, hs = residuals
    dx, (dh0,), dp = named_tangents(spec, tangents, dtype)
    num_steps, batch, features = inputs.shape
    H = spec.cell.hidden_size
    flat = num_steps * batch
    order, first, last, before, after = time_slots(num_steps, spec.reverse)
    x = onp.asarray(inputs, dtype=dtype).reshape(flat, features)
    from_x = [(None if dx is None else dx.reshape(flat, features), w_ih.T), (x, transposed(dp.get("weight_ih")))]
    known = products((flat, 3 * H), dtype, from_x)
    if dp.get("bias_ih") is not None:
        known += dp["bias_ih"]
    from_h = products((flat, 3 * H), dtype, [(hs[before].reshape(flat, H), transposed(dp.get("weight_hh")))])
    if dp.get("bias_hh") is not None:
        from_h += dp["bias_hh"]
    known[:, : 2 * H] += from_h[:, : 2 * H]
    known = known.reshape(num_steps, batch, 3, H)
    known_q = from_h.reshape(num_steps, batch, 3, H)[:, :, 2]
    pre = workspace.empty(gates.shape, dtype)  # (T, 3, B, H), step-major like the forward's
    for j in range(3):
        onp.copyto(pre[:, j], known[:, :, j])
    slopes = onp.subtract(1.0, gates[:, :2], out=workspace.empty((num_steps, 2, batch, H), dtype))
    slopes *= gates[:, :2]
    n_slope = onp.multiply(gates[:, 2], gates[:, 2], out=workspace.empty((num_steps, batch, H), dtype))
    onp.subtract(1.0, n_slope, out=n_slope)
    gap = onp.subtract(hs[before], gates[:, 2], out=workspace.empty((num_steps, batch, H), dtype))
    w_hh_t = gru.kernel_blocks(w_hh, H, dtype, False, "transposed")
    dhs = workspace.empty((num_steps + 1, batch, H), dtype)
    dhs[first] = 0.0 if dh0 is None else dh0
    dqs = workspace.empty((num_steps, batch, H), dtype)
    recurrent = onp.empty((3, batch, H), dtype=dtype)
    spare = onp.empty((batch, H), dtype=dtype)
    keep = None if spec.mask is None else ~spec.mask[:, :, None]
    for t in order:
        read, write = step_slots(t, spec.reverse)
        d = pre[t]
        onp.matmul(dhs[read], w_hh_t, out=recurrent)
        d[:2] += recurrent[:2]
        d[:2] *= slopes[t]
        dr, dz, dn = d
        r, z, _ = gates[t]
        onp.add(recurrent[2], known_q[t], out=dqs[t])
        dn += onp.multiply(dr, hidden_n[t], out=spare)
        dn += onp.multiply(r, dqs[t], out=spare)
        dn *= n_slope[t]
        out = dhs[write]
        onp.subtract(dhs[read], dn, out=out)
        out *= z
        out += dn
        out += onp.multiply(dz, gap[t], out=spare)
        if keep is not None:
            onp.copyto(out, dhs[read], where=keep[t])
    outputs = dhs[after] if keep is None else masked_outputs(dhs[after], spec, dtype)
    return outputs, (dhs[last].copy(),), (pre, dqs, dhs)


def _injections(spec, residuals, adjoints, trajectory, dp, dtype):
    """The table of the module docstring: ``(gates (4, T, B, H), state (T, B, H))``."""
    gates, q, hs = residuals
    buffer, grad_h = adjoints
    dgates, dq, dhs = trajectory
    before = time_slots(q.shape[0], spec.reverse)[3]
    r, z, n = gates.transpose(1, 0, 2, 3)
    dr, dz, dn = dgates.transpose(1, 0, 2, 3)
    grad_n = buffer[3]
    slope_r = r * (1.0 - r)
    d_grad_n = -grad_h * (dz * (1.0 - n * n) + 2.0 * n * dn * (1.0 - z))
    terms = workspace.empty(buffer.shape, dtype)
    onp.multiply(d_grad_n * q + grad_n * dq, slope_r, out=terms[0])
    terms[0] += grad_n * q * (1.0 - 2.0 * r) * dr
    onp.multiply(grad_h, (dhs[before] - dn) * z * (1.0 - z) + (hs[before] - n) * (1.0 - 2.0 * z) * dz, out=terms[1])
    onp.add(d_grad_n * r, grad_n * dr, out=terms[2])
    terms[3] = d_grad_n
    state = grad_h * dz
    if dp.get("weight_hh") is not None:
        H = spec.cell.hidden_size
        flat = buffer.reshape(4, -1, H)
        state += sum(flat[j] @ dp["weight_hh"][j * H : (j + 1) * H] for j in range(3)).reshape(state.shape)
    return terms, state


def second_order(
    spec, inputs, arrays, residuals, cotangents, adjoints, tangents, cotangent_tangents, needed, trajectory=None
):
    r"""Tangents of the backward's cotangents at ``needed``: :math:`\nabla^2 L\, \dot x + J^\top d\bar y`.

    ``adjoints`` are those of :func:`.gru.backward` with ``save``;
    ``tangents`` those of ``(inputs, h_0, *params)``, ``cotangent_tangents``
    those of ``(outputs, h_T)`` (``None`` for zeros); ``trajectory`` that of
    :func:`tangent` in the direction ``tangents``, or ``None`` to compute it.
    """
    dtype = dtype_of(inputs, arrays)
    dx, _, dp = named_tangents(spec, tangents, dtype)
    num_steps, batch, features = inputs.shape
    H = spec.cell.hidden_size
    flat_steps = num_steps * batch
    if trajectory is None:
        _, _, trajectory = tangent(spec, inputs, arrays, residuals, tangents)
    inject = _injections(spec, residuals, adjoints, trajectory, dp, dtype)
    dcotangents = zeros_for(cotangent_tangents, cotangents, dtype)
    grads, _ = gru.backward(spec, inputs, arrays, residuals, dcotangents, needed, False, inject)
    flat = adjoints[0].reshape(4, flat_steps, H)
    grad_i = (flat[0], flat[1], flat[3])
    dhs = trajectory[2]
    before = time_slots(num_steps, spec.reverse)[3]
    if 0 in needed and dp.get("weight_ih") is not None:
        blocks = gru.kernel_blocks(dp["weight_ih"], H, dtype, False)
        grads[0] += sum(grad_i[j] @ blocks[j] for j in range(3)).reshape(num_steps, batch, features)
    for k, name in enumerate(spec.names, start=2):
        if k not in needed:
            continue
        if name == "weight_ih" and dx is not None:
            grads[k] += gru.weight_gradient(grad_i, dx.reshape(flat_steps, features), dtype)
        elif name == "weight_hh":
            grads[k] += gru.weight_gradient(flat[:3], dhs[before].reshape(flat_steps, H), dtype)
    return grads
