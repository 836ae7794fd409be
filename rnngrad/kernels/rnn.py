r"""Fused Elman RNN over a whole sequence, with backpropagation through time.

Forward, for the steps :math:`t` in visiting order (reversed when
``reverse``), with :math:`m_t \in \{0, 1\}` the mask of the step:

.. math::

    a_t = x_t W_{ih}^\top + b_{ih} + s_{t-1} W_{hh}^\top + b_{hh}, \qquad
    h_t = \phi(a_t), \qquad
    s_t = m_t h_t + (1 - m_t) s_{t-1}, \qquad y_t = m_t h_t

The input projections of all steps are one matmul before the loop; the loop
holds only :math:`s_{t-1} W_{hh}^\top` and the nonlinearity.

Backward, with :math:`\bar s_T` the cotangent of the final state and
:math:`\bar y_t` that of the outputs, over the steps in the opposite order:

.. math::

    \bar a_t = m_t (\bar s_t + \bar y_t) \odot \phi'(a_t), \qquad
    \bar s_{t-1} = \bar a_t W_{hh} + (1 - m_t) \bar s_t

with :math:`\phi'(a) = 1 - h^2` (tanh) or :math:`[h > 0]` (relu), both read
off the saved :math:`h`. Then, as one matmul each over all steps:
:math:`\bar W_{ih} = \sum_t \bar a_t^\top x_t`,
:math:`\bar W_{hh} = \sum_t \bar a_t^\top s_{t-1}`,
:math:`\bar b_{ih} = \bar b_{hh} = \sum_t \bar a_t`,
:math:`\bar x_t = \bar a_t W_{ih}`.
"""

import numpy as onp

from ._common import dtype_of, masked_outputs, project, step_masks, step_slots, time_slots
from ._workspace import workspace

__all__ = ["forward", "backward", "activation_slope"]


def unpack(spec, arrays):
    params = dict(zip(spec.names, arrays[1:]))
    return arrays[0], params["weight_ih"], params["weight_hh"], params.get("bias_ih"), params.get("bias_hh")


def forward(spec, inputs, arrays, save):
    """Outputs (T, B, H), ``(h_T,)`` and the residuals (the state buffer) for :func:`backward`."""
    dtype = dtype_of(inputs, arrays)
    h0, w_ih, w_hh, b_ih, b_hh = unpack(spec, arrays)
    num_steps, batch = inputs.shape[:2]
    hidden = w_hh.shape[0]
    order, first, last, _, after = time_slots(num_steps, spec.reverse)
    pre = project(inputs, w_ih, b_ih, dtype)
    # states[t] is a time slot (see time_slots); without a mask the states are the outputs
    states = workspace.empty((num_steps + 1, batch, hidden), dtype)
    states[first] = h0
    recurrent = onp.empty((batch, hidden), dtype=dtype)
    w_hh_t = w_hh.T
    relu = spec.cell.nonlinearity == "relu"
    keep = None if spec.mask is None else step_masks(spec, dtype)[0]
    for t in order:
        read, write = step_slots(t, spec.reverse)
        onp.matmul(states[read], w_hh_t, out=recurrent)
        if b_hh is not None:
            recurrent += b_hh  # added here, not folded into the projection, to round as the reference does
        new = states[write]
        onp.add(pre[t], recurrent, out=new)
        if relu:
            onp.maximum(new, 0.0, out=new)
        else:
            onp.tanh(new, out=new)
        if keep is not None:
            onp.copyto(new, states[read], where=keep[t])
    outputs = states[after] if keep is None else masked_outputs(states[after], spec, dtype)
    return outputs, (states[last].copy(),), (states if save else None)


def activation_slope(spec, activations, dtype):
    """:math:`\\phi'(a_t)` read off :math:`h_t` (T, B, H), every step at once, in a workspace buffer."""
    out = workspace.empty(activations.shape, dtype)
    if spec.cell.nonlinearity == "relu":
        onp.greater(activations, 0, out=out)
    else:
        onp.multiply(activations, activations, out=out)
        onp.subtract(1.0, out, out=out)
    return out


def backward(spec, inputs, arrays, states, cotangents, needed, save=False, inject=None):
    """Cotangents of ``(inputs, h_0, *params)`` from those of ``(outputs, h_T)``, and the adjoints.

    ``inject`` (for :mod:`.rnn_jvp`) is ``None`` or ``(pre, state)``: (T, B, H)
    terms added to every :math:`\bar a_t` and to every :math:`\bar s_{t-1}`
    (either may be ``None``). The adjoints are the :math:`\bar a_t` (T, B, H),
    also when ``save`` is false (they cost nothing to keep).
    """
    dtype = dtype_of(inputs, arrays)
    _, w_ih, w_hh, _, _ = unpack(spec, arrays)
    g_outputs, g_final = cotangents
    num_steps, batch, features = inputs.shape
    hidden = w_hh.shape[0]
    order, _, _, before, after = time_slots(num_steps, spec.reverse)
    activations = states[after]
    slope = activation_slope(spec, activations, dtype)  # the mask folds into it
    if spec.mask is not None:
        _, valid, invalid = step_masks(spec, dtype)
        slope *= valid
    # the outputs' share of every a-bar up front; the loop adds the state's
    inject_pre, inject_state = inject or (None, None)
    grad_pre = onp.multiply(g_outputs, slope, out=workspace.empty(slope.shape, dtype))
    if inject_pre is not None:
        grad_pre += inject_pre
    grad_state = onp.array(g_final, dtype=dtype)
    through = onp.empty((batch, hidden), dtype=dtype)
    for t in reversed(order):
        onp.multiply(grad_state, slope[t], out=through)
        grad_pre[t] += through
        if spec.mask is None:
            onp.matmul(grad_pre[t], w_hh, out=grad_state)
        else:
            grad_state *= invalid[t]
            grad_state += grad_pre[t] @ w_hh
        if inject_state is not None:
            grad_state += inject_state[t]

    flat = grad_pre.reshape(num_steps * batch, hidden)
    grads = [None] * (2 + len(spec.names))
    if 0 in needed:
        grad_x = onp.matmul(flat, w_ih, out=workspace.empty((num_steps * batch, features), dtype))
        grads[0] = grad_x.reshape(num_steps, batch, features)
    grads[1] = grad_state
    wanted = {
        "weight_ih": lambda: flat.T @ onp.asarray(inputs, dtype=dtype).reshape(num_steps * batch, features),
        "weight_hh": lambda: flat.T @ states[before].reshape(num_steps * batch, hidden),  # (H, H) and (H, D): small
        "bias_ih": lambda: flat.sum(axis=0),
        "bias_hh": lambda: flat.sum(axis=0),
    }
    for k, name in enumerate(spec.names, start=2):
        if k in needed:
            grads[k] = wanted[name]()
    return grads, grad_pre
