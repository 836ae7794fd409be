r"""Forward mode of the fused LSTM (:mod:`.lstm`): its tangent, and the tangent of its backward pass.

Tangent, with dots for tangents (notation of :mod:`.lstm`; :math:`\dot o,
\dot i, \dot f, \dot g` are the tangents of the gates after their
nonlinearities):

.. math::

    \begin{aligned}
    \dot a_t &= \dot x_t W_{ih}^\top + x_t \dot W_{ih}^\top + \dot b_{ih} + \dot b_{hh}
        + s_{t-1} \dot W_{hh}^\top + \dot s_{t-1} W_{hh}^\top\\
    \dot o &= o(1-o)\,\dot a^o, \quad \dot i = i(1-i)\,\dot a^i, \quad
        \dot f = f(1-f)\,\dot a^f, \quad \dot g = (1-g^2)\,\dot a^g\\
    \dot c'_t &= \dot f c_{t-1} + f \dot c_{t-1} + \dot i g + i \dot g, \quad
        \dot k_t = (1 - k_t^2)\, \dot c'_t, \quad \dot u_t = \dot o k_t + o \dot k_t, \quad
        \dot h_t = \dot u_t W_{hr}^\top + u_t \dot W_{hr}^\top
    \end{aligned}

and the mask as in the forward. All terms of :math:`\dot a_t` but the
recurrent one, and :math:`u_t \dot W_{hr}^\top`, are whole-sequence matmuls
before the loop; the loop has one matmul per step (two with a projection).

Tangent of the backward pass (:func:`second_order`): the backward recurrence
is linear in the cotangents, so its tangent is the same recurrence run on
the cotangents' tangents, plus the variation of its coefficients with the
forward pass, which is known before the loop from the saved adjoints
:math:`\bar u_t, \bar c'_t, \bar h_t, \bar a_t` and the tangent trajectory.
With :math:`\delta\bar u = \bar h_t \dot W_{hr}` (zero without projection):

=======================  =============================================================================================
injected into            term
=======================  =============================================================================================
(a shared term)          :math:`\delta\bar c' = \delta\bar u\, o(1-k^2) + \bar u\,[\dot o (1-k^2) - 2 o k \dot k]`
:math:`\bar a^o_t`       :math:`\delta\bar u\, k\,o(1-o) + \bar u\,[\dot k\, o(1-o) + k (1-2o) \dot o]`
:math:`\bar a^i_t`       :math:`\delta\bar c'\, g\,i(1-i) + \bar c'\,[\dot g\, i(1-i) + g (1-2i) \dot i]`
:math:`\bar a^f_t`       :math:`\delta\bar c' c_{t-1} f(1-f) + \bar c'[\dot c_{t-1} f(1-f) + c_{t-1} (1-2f) \dot f]`
:math:`\bar a^g_t`       :math:`\delta\bar c'\, i(1-g^2) + \bar c'\,[\dot i (1-g^2) - 2 i g \dot g]`
:math:`\bar c_{t-1}`     :math:`\delta\bar c' f + \bar c' \dot f`
:math:`\bar s_{t-1}`     :math:`\bar a_t \dot W_{hh}`
=======================  =============================================================================================

(:math:`\delta\bar c'`, the variation of :math:`\bar c'_t`, reaches the
gates and :math:`\bar c_{t-1}` through the rows below it.) At padded steps every adjoint is zero, and so is every
term. The backward's own weight gradients then hold the :math:`d\bar a` and
:math:`d\bar h` terms; added after, one matmul each:
:math:`\bar a^\top \dot x` to :math:`d\bar W_{ih}`,
:math:`\bar a^\top \dot s_{t-1}` to :math:`d\bar W_{hh}`,
:math:`\bar h^\top \dot u` to :math:`d\bar W_{hr}` and
:math:`\bar a \dot W_{ih}` to :math:`d\bar x`.
"""

import numpy as onp

from . import lstm
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


def _gate_slopes(gates, tanh_c, dtype):
    """(T, 4, B, H) ``o(1-o), i(1-i), f(1-f), 1-g^2`` and (T, B, H) ``1 - k^2``, every step at once."""
    slopes = workspace.empty(gates.shape, dtype)
    onp.subtract(1.0, gates[:, :3], out=slopes[:, :3])
    slopes[:, :3] *= gates[:, :3]
    onp.multiply(gates[:, 3], gates[:, 3], out=slopes[:, 3])
    onp.subtract(1.0, slopes[:, 3], out=slopes[:, 3])
    cell_slope = onp.multiply(tanh_c, tanh_c, out=workspace.empty(tanh_c.shape, dtype))
    onp.subtract(1.0, cell_slope, out=cell_slope)
    return slopes, cell_slope


def tangent(spec, inputs, arrays, residuals, tangents):
    r"""Tangents of ``(outputs, (h_T, c_T))`` and the trajectory.

    The trajectory is ``(gates', h', c', k', u', slopes, 1 - k^2)``:
    :math:`(\dot o, \dot i, \dot f, \dot g)` (T, 4, B, H), :math:`\dot s`
    (T + 1, B, R) and :math:`\dot c` (T + 1, B, H) in time slots,
    :math:`\dot k` (T, B, H), with a projection :math:`\dot u` (T, B, H)
    (else ``None``), and the gates' slopes of :func:`_gate_slopes`.
    """
    dtype = dtype_of(inputs, arrays)
    w_ih, w_hh, _, _, params = lstm.unpack(spec, arrays)
    w_hr = params.get("weight_hr")
    gates, tanh_c, hs, cs, unprojected = residuals
    dx, (dh0, dc0), dp = named_tangents(spec, tangents, dtype)
    num_steps, batch, features = inputs.shape
    H, R = spec.cell.hidden_size, w_hh.shape[1]
    flat = num_steps * batch
    order, first, last, before, after = time_slots(num_steps, spec.reverse)
    x = onp.asarray(inputs, dtype=dtype).reshape(flat, features)
    known = [(None if dx is None else dx.reshape(flat, features), w_ih.T), (x, transposed(dp.get("weight_ih")))]
    known.append((hs[before].reshape(flat, R), transposed(dp.get("weight_hh"))))
    torch_rows = products((flat, 4 * H), dtype, known)
    for name in ("bias_ih", "bias_hh"):
        if dp.get(name) is not None:
            torch_rows += dp[name]
    torch_rows = torch_rows.reshape(num_steps, batch, 4, H)
    pre = workspace.empty(gates.shape, dtype)  # (T, 4, B, H), the kernel's order, step-major like the forward's
    for j, source in enumerate(lstm.ORDER):
        onp.copyto(pre[:, j], torch_rows[:, :, source])
    projected = None
    if w_hr is not None and dp.get("weight_hr") is not None:
        projected = (unprojected.reshape(flat, H) @ dp["weight_hr"].T).reshape(num_steps, batch, R)
    slopes, cell_slope = _gate_slopes(gates, tanh_c, dtype)
    w_hh_t = lstm.kernel_blocks(w_hh, H, dtype, False, "transposed")
    dhs = workspace.empty((num_steps + 1, batch, R), dtype)
    dcs = workspace.empty((num_steps + 1, batch, H), dtype)
    dhs[first] = 0.0 if dh0 is None else dh0
    dcs[first] = 0.0 if dc0 is None else dc0
    dks = workspace.empty((num_steps, batch, H), dtype)
    dus = workspace.empty((num_steps, batch, H), dtype) if w_hr is not None else None
    recurrent = onp.empty((4, batch, H), dtype=dtype)
    spare = onp.empty((batch, H), dtype=dtype)
    keep = None if spec.mask is None else ~spec.mask[:, :, None]
    for t in order:
        read, write = step_slots(t, spec.reverse)
        d = pre[t]
        onp.matmul(dhs[read], w_hh_t, out=recurrent)
        d += recurrent
        d *= slopes[t]
        o, i, f, g = gates[t]
        do, di, df, dg = d
        dc = dcs[write]
        onp.multiply(df, cs[read], out=dc)
        dc += onp.multiply(f, dcs[read], out=spare)
        dc += onp.multiply(di, g, out=spare)
        dc += onp.multiply(i, dg, out=spare)
        onp.multiply(dc, cell_slope[t], out=dks[t])
        du = dhs[write] if w_hr is None else dus[t]
        onp.multiply(do, tanh_c[t], out=du)
        du += onp.multiply(o, dks[t], out=spare)
        if w_hr is not None:
            onp.matmul(du, w_hr.T, out=dhs[write])
            if projected is not None:
                dhs[write] += projected[t]
        if keep is not None:
            onp.copyto(dc, dcs[read], where=keep[t])
            onp.copyto(dhs[write], dhs[read], where=keep[t])
    outputs = dhs[after] if keep is None else masked_outputs(dhs[after], spec, dtype)
    trajectory = (pre, dhs, dcs, dks, dus, slopes, cell_slope)
    return outputs, (dhs[last].copy(), dcs[last].copy()), trajectory


def _injections(spec, residuals, adjoints, trajectory, dp, dtype):
    """The table of the module docstring: ``(gates (4, T, B, H), cell (T, B, H), state (T, B, R) or None)``.

    Every step at once, in place in workspace buffers (a temporary per
    operation would cost a page fault per 4 KiB of it).
    """
    gates, k, _, cs, _ = residuals
    grad_gates, grad_u, grad_cell, grad_out = adjoints
    dgates, _, dcs, dk, _, slopes, k_slope = trajectory
    before = time_slots(k.shape[0], spec.reverse)[3]
    o, i, f, g = gates.transpose(1, 0, 2, 3)
    do, di, df, dg = dgates.transpose(1, 0, 2, 3)
    slope_o, slope_i, slope_f, slope_g = slopes.transpose(1, 0, 2, 3)
    c_prev, dc_prev = cs[before], dcs[before]
    d_u = None
    if grad_out is not None and dp.get("weight_hr") is not None:
        rows = k.size // k.shape[2]
        d_u = products((rows, k.shape[2]), dtype, [(grad_out.reshape(rows, -1), dp["weight_hr"])]).reshape(k.shape)
    spare, d_cell, cell = (workspace.empty(k.shape, dtype) for _ in range(3))
    terms = workspace.empty((4, *k.shape), dtype)

    def product_into(out, *factors):
        onp.multiply(factors[0], factors[1], out=out)
        for factor in factors[2:]:
            out *= factor
        return out

    def one_minus_twice(gate):  # 1 - 2 s, the derivative of s (1 - s) over that of s
        onp.multiply(gate, -2.0, out=spare)
        return onp.add(spare, 1.0, out=spare)

    # d_cell: u-bar [o' (1 - k^2) - 2 o k k'] (+ d_u o (1 - k^2))
    product_into(d_cell, do, k_slope)
    d_cell -= product_into(cell, o, k, dk, 2.0)
    d_cell *= grad_u
    # a^o: u-bar [k' o(1-o) + k (1-2o) o'] (+ d_u k o(1-o))
    product_into(terms[0], dk, slope_o)
    terms[0] += product_into(cell, one_minus_twice(o), k, do)
    terms[0] *= grad_u
    if d_u is not None:
        d_cell += product_into(cell, d_u, o, k_slope)
        terms[0] += product_into(cell, d_u, k, slope_o)
    # a^i: d_cell g i(1-i) + c'-bar [g' i(1-i) + g (1-2i) i']
    product_into(terms[1], dg, slope_i)
    terms[1] += product_into(cell, one_minus_twice(i), g, di)
    terms[1] *= grad_cell
    terms[1] += product_into(cell, d_cell, g, slope_i)
    # a^f: d_cell c_prev f(1-f) + c'-bar [c_prev' f(1-f) + c_prev (1-2f) f']
    product_into(terms[2], dc_prev, slope_f)
    terms[2] += product_into(cell, one_minus_twice(f), c_prev, df)
    terms[2] *= grad_cell
    terms[2] += product_into(cell, d_cell, c_prev, slope_f)
    # a^g: d_cell i (1-g^2) + c'-bar [i' (1-g^2) - 2 i g g']
    product_into(terms[3], di, slope_g)
    terms[3] -= product_into(cell, i, g, dg, 2.0)
    terms[3] *= grad_cell
    terms[3] += product_into(cell, d_cell, i, slope_g)
    # c_{t-1}: d_cell f + c'-bar f'
    product_into(cell, d_cell, f)
    cell += product_into(spare, grad_cell, df)
    state = None
    if dp.get("weight_hh") is not None:
        blocks = lstm.kernel_blocks(dp["weight_hh"], spec.cell.hidden_size, dtype, False)  # (4, H, R)
        flat = grad_gates.reshape(4, -1, grad_gates.shape[3])
        pairs = [(flat[j], blocks[j]) for j in range(4)]
        state = products((flat.shape[1], blocks.shape[2]), dtype, pairs).reshape(*k.shape[:2], -1)
    return terms, cell, state


def second_order(
    spec, inputs, arrays, residuals, cotangents, adjoints, tangents, cotangent_tangents, needed, trajectory=None
):
    r"""Tangents of the backward's cotangents at ``needed``: :math:`\nabla^2 L\, \dot x + J^\top d\bar y`.

    ``adjoints`` are those of :func:`.lstm.backward` with ``save``;
    ``tangents`` those of ``(inputs, h_0, c_0, *params)``,
    ``cotangent_tangents`` those of ``(outputs, h_T, c_T)`` (``None`` for zeros).
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
    grads, _ = lstm.backward(spec, inputs, arrays, residuals, dcotangents, needed, False, inject)
    grad_gates, _, _, grad_out = adjoints
    _, dhs, _, _, dus = trajectory[:5]
    flat = grad_gates.reshape(4, flat_steps, H)
    before = time_slots(num_steps, spec.reverse)[3]
    if 0 in needed and dp.get("weight_ih") is not None:
        blocks = lstm.kernel_blocks(dp["weight_ih"], H, dtype, False)
        grads[0] += sum(flat[j] @ blocks[j] for j in range(4)).reshape(num_steps, batch, features)
    for k, name in enumerate(spec.names, start=3):
        if k not in needed:
            continue
        if name == "weight_ih" and dx is not None:
            grads[k] += lstm.weight_gradient(flat, dx.reshape(flat_steps, features), dtype)
        elif name == "weight_hh":
            grads[k] += lstm.weight_gradient(flat, dhs[before].reshape(flat_steps, -1), dtype)
        elif name == "weight_hr":
            grads[k] += grad_out.reshape(flat_steps, -1).T @ dus.reshape(flat_steps, H)
    return grads
