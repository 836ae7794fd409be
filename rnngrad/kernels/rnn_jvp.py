r"""Forward mode of the fused Elman RNN (:mod:`rnngrad.kernels.rnn`): its tangent, and the tangent of its backward pass.

Tangent, with dots for the tangents of the inputs, the initial state and the
parameters (notation of :mod:`rnngrad.kernels.rnn`):

.. math::

    \dot a_t = \dot x_t W_{ih}^\top + x_t \dot W_{ih}^\top + \dot b_{ih} + \dot b_{hh}
        + s_{t-1} \dot W_{hh}^\top + \dot s_{t-1} W_{hh}^\top, \qquad
    \dot s_t = m_t \phi'(a_t) \dot a_t + (1 - m_t) \dot s_{t-1}, \qquad \dot y_t = m_t \phi'(a_t) \dot a_t

Every term of :math:`\dot a_t` but the last is known before the loop (the
forward saved :math:`s_{t-1}`): one matmul each over all steps. The loop
is the forward's: one matmul per step.

Tangent of the backward pass (:func:`second_order`). Differentiating the
backward recurrence of :mod:`rnngrad.kernels.rnn` gives

.. math::

    d\bar a_t = m_t \phi'(a_t)(d\bar s_t + d\bar y_t) + m_t \phi''(a_t)\, \dot a_t (\bar s_t + \bar y_t), \qquad
    d\bar s_{t-1} = d\bar a_t W_{hh} + \bar a_t \dot W_{hh} + (1 - m_t)\, d\bar s_t

which is the backward recurrence itself, run on the cotangents' tangents,
with two terms injected that are known before its loop: with
:math:`\phi'' = -2 h \phi'` (tanh; 0 for relu) the first is
:math:`-2 h_t \dot a_t \bar a_t` into every :math:`\bar a_t`, and
:math:`\bar a_t \dot W_{hh}` goes into every :math:`\bar s_{t-1}`. The
backward's own weight gradients then hold the :math:`d\bar a` terms of

.. math::

    d\bar W_{ih} = \textstyle\sum_t d\bar a_t^\top x_t + \bar a_t^\top \dot x_t, \quad
    d\bar W_{hh} = \sum_t d\bar a_t^\top s_{t-1} + \bar a_t^\top \dot s_{t-1}, \quad
    d\bar x_t = d\bar a_t W_{ih} + \bar a_t \dot W_{ih}

and the :math:`\bar a` terms are added after, one matmul each.
"""

import numpy as onp

from . import rnn
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


def tangent(spec, inputs, arrays, states, tangents):
    r"""Tangents of ``(outputs, (h_T,))`` and the trajectory: :math:`\dot a` (T, B, H), :math:`\dot s` (T + 1, B, H)."""
    dtype = dtype_of(inputs, arrays)
    _, w_ih, w_hh, _, _ = rnn.unpack(spec, arrays)
    dx, (dh0,), dp = named_tangents(spec, tangents, dtype)
    num_steps, batch, features = inputs.shape
    hidden = w_hh.shape[0]
    order, first, last, before, after = time_slots(num_steps, spec.reverse)
    x = onp.asarray(inputs, dtype=dtype).reshape(num_steps * batch, features)
    flat_dx = None if dx is None else dx.reshape(num_steps * batch, features)
    known = [(flat_dx, w_ih.T), (x, transposed(dp.get("weight_ih")))]
    known.append((states[before].reshape(num_steps * batch, hidden), transposed(dp.get("weight_hh"))))
    pre = products((num_steps * batch, hidden), dtype, known)
    for name in ("bias_ih", "bias_hh"):
        if dp.get(name) is not None:
            pre += dp[name]
    pre = pre.reshape(num_steps, batch, hidden)
    slope = rnn.activation_slope(spec, states[after], dtype)
    dstates = workspace.empty((num_steps + 1, batch, hidden), dtype)
    dstates[first] = 0.0 if dh0 is None else dh0
    recurrent = onp.empty((batch, hidden), dtype=dtype)
    w_hh_t = w_hh.T
    keep = None if spec.mask is None else ~spec.mask[:, :, None]
    for t in order:
        read, write = step_slots(t, spec.reverse)
        onp.matmul(dstates[read], w_hh_t, out=recurrent)
        pre[t] += recurrent
        onp.multiply(pre[t], slope[t], out=dstates[write])
        if keep is not None:
            onp.copyto(dstates[write], dstates[read], where=keep[t])
    outputs = dstates[after] if keep is None else masked_outputs(dstates[after], spec, dtype)
    return outputs, (dstates[last].copy(),), (pre, dstates)


def second_order(
    spec, inputs, arrays, states, cotangents, grad_pre, tangents, cotangent_tangents, needed, trajectory=None
):
    r"""Tangents of the backward's cotangents at ``needed``: :math:`\nabla^2 L\, \dot x + J^\top d\bar y`.

    ``grad_pre`` are the backward's adjoints :math:`\bar a_t`; ``tangents``
    those of ``(inputs, h_0, *params)``, ``cotangent_tangents`` those of
    ``(outputs, h_T)`` (``None`` for zeros).
    """
    dtype = dtype_of(inputs, arrays)
    dx, _, dp = named_tangents(spec, tangents, dtype)
    num_steps, batch, features = inputs.shape
    hidden = grad_pre.shape[2]
    _, before, after = time_slots(num_steps, spec.reverse)[2:]
    if trajectory is None:
        _, _, trajectory = tangent(spec, inputs, arrays, states, tangents)
    pre_dot, dstates = trajectory
    flat = grad_pre.reshape(num_steps * batch, hidden)
    inject_pre = inject_state = None
    if spec.cell.nonlinearity != "relu":
        inject_pre = onp.multiply(states[after], pre_dot, out=workspace.empty(pre_dot.shape, dtype))
        inject_pre *= grad_pre
        inject_pre *= -2.0
    if dp.get("weight_hh") is not None:
        inject_state = (flat @ dp["weight_hh"]).reshape(num_steps, batch, hidden)
    dcotangents = zeros_for(cotangent_tangents, cotangents, dtype)
    grads, _ = rnn.backward(spec, inputs, arrays, states, dcotangents, needed, False, (inject_pre, inject_state))
    if 0 in needed and dp.get("weight_ih") is not None:
        grads[0] += (flat @ dp["weight_ih"]).reshape(num_steps, batch, features)
    for k, name in enumerate(spec.names, start=2):
        if k in needed and name == "weight_ih" and dx is not None:
            grads[k] += flat.T @ dx.reshape(num_steps * batch, features)
        elif k in needed and name == "weight_hh":
            grads[k] += flat.T @ dstates[before].reshape(num_steps * batch, hidden)
    return grads
