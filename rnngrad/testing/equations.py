r"""The cells' docstring equations, transcribed a second time in plain NumPy.

Each function below is written from the math block of one cell's docstring
in :mod:`rnngrad.cells`, not from its code: it shares nothing with
:mod:`rnngrad.cells`, :mod:`rnngrad.activations` or :mod:`rnngrad.sequence`
(no helper, no activation, no gate split, no masking). The library's cells
and models are held equal to it, so a cell that departs from its documented
equations fails even when it stays self-consistent (fused equal to
reference, gradients equal to finite differences).

Conventions, as in the docstrings: ``x`` is (B, D), ``h`` (B, H) or (B, P),
weights are torch's ``(rows, columns)`` with gate blocks stacked by rows in
the documented order, and ``x W^T`` is ``x @ W.T``. The logistic is computed
as :math:`\sigma(a) = \exp(-\log(1 + e^{-a}))` (``logaddexp``), an
identity accurate for either sign, so that no code is shared with the
library's branch-on-sign primitive.

:func:`reference_step` runs one step of any built-in cell;
:func:`reference_sequence` one direction over a (T, B, D) sequence, each
sequence alone over its own valid steps; :func:`reference_model` a whole
stacked, bidirectional model with every option (``merge_mode``,
``residual``, ``learn_initial_state``, ``batch_first``, lengths or mask,
initial state) and, for training, the dropout masks given explicitly.
"""

import numpy as onp

from ..cells import GRUCell, LayerNormGRUCell, LayerNormLSTMCell, LSTMCell, MGUCell, PeepholeLSTMCell, RNNCell

__all__ = [
    "LAYER_NORM_EPSILON",
    "sigmoid",
    "layer_norm",
    "rnn_step",
    "lstm_step",
    "peephole_lstm_step",
    "layer_norm_lstm_step",
    "gru_step",
    "layer_norm_gru_step",
    "mgu_step",
    "reference_step",
    "reference_sequence",
    "reference_model",
]

#: :math:`\epsilon` of the layer normalization, as its docstring states it.
LAYER_NORM_EPSILON = 1e-5


def sigmoid(a):
    r""":math:`\sigma(a) = 1 / (1 + e^{-a}) = \exp(-\log(1 + e^{-a}))`."""
    return onp.exp(-onp.logaddexp(0.0, -onp.asarray(a)))


def layer_norm(a, gain, shift=None):
    r""":math:`\gamma \odot (a - \mu(a)) / \sqrt{\sigma^2(a) + \epsilon} + \beta` over the last axis."""
    mean = a.mean(axis=-1, keepdims=True)
    variance = ((a - mean) ** 2).mean(axis=-1, keepdims=True)
    out = gain * (a - mean) / onp.sqrt(variance + LAYER_NORM_EPSILON)
    return out if shift is None else out + shift


def _block(params, name, k, hidden):
    """Rows ``k*H .. (k+1)*H`` of a packed weight or bias (gate k), or 0 when the cell has no such bias."""
    value = params.get(name)
    if value is None:
        return 0.0
    return value[k * hidden : (k + 1) * hidden]


def _affine(x, params, weight, bias, k, hidden):
    """:math:`x W_k^\\top + b_k` for gate block k of ``weight``/``bias``."""
    return x @ _block(params, weight, k, hidden).T + _block(params, bias, k, hidden)


def _gate(params, x, h, k, hidden):
    """:math:`x W_{ik}^\\top + b_{ik} + h W_{hk}^\\top + b_{hk}`."""
    return _affine(x, params, "weight_ih", "bias_ih", k, hidden) + _affine(h, params, "weight_hh", "bias_hh", k, hidden)


def rnn_step(params, x, h, *, nonlinearity="tanh"):
    r""":math:`h' = \phi(x W_{ih}^\top + b_{ih} + h W_{hh}^\top + b_{hh})`, :math:`\phi` tanh or relu."""
    hidden = params["weight_hh"].shape[0]
    pre = _gate(params, x, h, 0, hidden)
    if nonlinearity == "tanh":
        return onp.tanh(pre)
    if nonlinearity == "relu":
        return onp.maximum(pre, 0.0)
    raise ValueError(f"nonlinearity: expected 'tanh' or 'relu', got {nonlinearity!r}")


def _project(params, h):
    """:math:`h W_{hr}^\\top` when the cell has a projection, else ``h``."""
    return h @ params["weight_hr"].T if "weight_hr" in params else h


def lstm_step(params, x, h, c):
    r"""The LSTM, gate rows i, f, g, o: returns ``(h', c')``.

    :math:`c' = f \odot c + i \odot g`, :math:`h' = o \odot \tanh(c')`, then
    :math:`h' W_{hr}^\top` with a projection.
    """
    hidden = c.shape[-1]
    i = sigmoid(_gate(params, x, h, 0, hidden))
    f = sigmoid(_gate(params, x, h, 1, hidden))
    g = onp.tanh(_gate(params, x, h, 2, hidden))
    o = sigmoid(_gate(params, x, h, 3, hidden))
    c_new = f * c + i * g
    return _project(params, o * onp.tanh(c_new)), c_new


def peephole_lstm_step(params, x, h, c):
    r"""The peephole LSTM: i and f see the old cell state, o the new one: returns ``(h', c')``."""
    hidden = c.shape[-1]
    i = sigmoid(_gate(params, x, h, 0, hidden) + params["weight_ci"] * c)
    f = sigmoid(_gate(params, x, h, 1, hidden) + params["weight_cf"] * c)
    g = onp.tanh(_gate(params, x, h, 2, hidden))
    c_new = f * c + i * g
    o = sigmoid(_gate(params, x, h, 3, hidden) + params["weight_co"] * c_new)
    return _project(params, o * onp.tanh(c_new)), c_new


def layer_norm_lstm_step(params, x, h, c):
    r"""The layer-normalized LSTM (Ba et al. 2016): returns ``(h', c')``.

    :math:`(i, f, g, o) = LN(x W_{ih}^\top; \gamma_{ih}) + LN(h W_{hh}^\top; \gamma_{hh}) + b_{ih} + b_{hh}`,
    :math:`c' = \sigma(f) c + \sigma(i) \tanh(g)` (not normalized),
    :math:`h' = \sigma(o) \tanh(LN(c'; \gamma_c, \beta_c))`.
    """
    hidden = c.shape[-1]
    gates = layer_norm(x @ params["weight_ih"].T, params["norm_ih"]) + layer_norm(
        h @ params["weight_hh"].T, params["norm_hh"]
    )
    if "bias_ih" in params:
        gates = gates + params["bias_ih"] + params["bias_hh"]
    i, f, g, o = (gates[:, k * hidden : (k + 1) * hidden] for k in range(4))
    c_new = sigmoid(f) * c + sigmoid(i) * onp.tanh(g)
    shown = layer_norm(c_new, params["norm_cell_weight"], params["norm_cell_bias"])
    return _project(params, sigmoid(o) * onp.tanh(shown)), c_new


def gru_step(params, x, h, *, reset_after=True):
    r"""The GRU, gate rows r, z, n; reset after the matmul (torch's) or before it (Cho et al.'s)."""
    hidden = h.shape[-1]
    r = sigmoid(_gate(params, x, h, 0, hidden))
    z = sigmoid(_gate(params, x, h, 1, hidden))
    if reset_after:
        recurrent = r * _affine(h, params, "weight_hh", "bias_hh", 2, hidden)
    else:
        recurrent = _affine(r * h, params, "weight_hh", "bias_hh", 2, hidden)
    n = onp.tanh(_affine(x, params, "weight_ih", "bias_ih", 2, hidden) + recurrent)
    return (1.0 - z) * n + z * h


def layer_norm_gru_step(params, x, h):
    r"""The layer-normalized GRU: each projection normalized over all its gate rows, then its bias added."""
    hidden = h.shape[-1]
    a = layer_norm(x @ params["weight_ih"].T, params["norm_ih"])
    u = layer_norm(h @ params["weight_hh"].T, params["norm_hh"])
    if "bias_ih" in params:
        a = a + params["bias_ih"]
        u = u + params["bias_hh"]
    a_r, a_z, a_n = (a[:, k * hidden : (k + 1) * hidden] for k in range(3))
    u_r, u_z, u_n = (u[:, k * hidden : (k + 1) * hidden] for k in range(3))
    r = sigmoid(a_r + u_r)
    z = sigmoid(a_z + u_z)
    n = onp.tanh(a_n + r * u_n)
    return (1.0 - z) * n + z * h


def mgu_step(params, x, h):
    r"""The minimal gated unit, gate rows f, n: :math:`h' = (1 - f) h + f n`, the candidate seeing :math:`f h`."""
    hidden = h.shape[-1]
    f = sigmoid(_gate(params, x, h, 0, hidden))
    n = onp.tanh(
        _affine(x, params, "weight_ih", "bias_ih", 1, hidden)
        + _affine(f * h, params, "weight_hh", "bias_hh", 1, hidden)
    )
    return (1.0 - f) * h + f * n


def reference_step(cell, params, x, state):
    """One step of a built-in ``cell`` by the transcribed equations: ``(output, new_state)`` as ``Cell.step``.

    Args:
        cell: a built-in cell (the exact classes of :mod:`rnngrad.cells`; a
            subclass may change the equations, so it is refused).
        params: the cell's parameter dict.
        x: (B, D).
        state: tuple of (B, S) arrays, ``(h,)`` or ``(h, c)``.
    """
    kind = type(cell)
    params = {name: onp.asarray(value) for name, value in params.items()}
    x = onp.asarray(x)
    state = tuple(onp.asarray(part) for part in state)
    if kind is RNNCell:
        h = rnn_step(params, x, state[0], nonlinearity=cell.nonlinearity)
        return h, (h,)
    if kind in (LSTMCell, PeepholeLSTMCell, LayerNormLSTMCell):
        step = {LSTMCell: lstm_step, PeepholeLSTMCell: peephole_lstm_step, LayerNormLSTMCell: layer_norm_lstm_step}
        h, c = step[kind](params, x, *state)
        return h, (h, c)
    if kind is GRUCell:
        h = gru_step(params, x, state[0], reset_after=cell.reset_after)
    elif kind is LayerNormGRUCell:
        h = layer_norm_gru_step(params, x, state[0])
    elif kind is MGUCell:
        h = mgu_step(params, x, state[0])
    else:
        raise NotImplementedError(f"reference_step: no transcribed equations for {kind.__name__}")
    return h, (h,)


def reference_sequence(cell, params, inputs, state, *, mask=None, reverse=False):
    """One direction over (T, B, D) ``inputs``: each sequence alone, visiting only its valid steps.

    A step whose mask is false is not visited: the state carries over and the
    output stays zero. The reverse direction visits the valid steps from the
    last to the first.

    Returns:
        ``(outputs (T, B, O), final_state)``.
    """
    inputs = onp.asarray(inputs)
    num_steps, batch = inputs.shape[:2]
    mask = onp.ones((num_steps, batch), bool) if mask is None else onp.asarray(mask, bool)
    outputs = onp.zeros((num_steps, batch, cell.output_size), dtype=inputs.dtype)
    finals = [[] for _ in state]
    for b in range(batch):
        carried = tuple(onp.asarray(part)[b : b + 1] for part in state)
        steps = [t for t in range(num_steps) if mask[t, b]]
        for t in reversed(steps) if reverse else steps:
            output, carried = reference_step(cell, params, inputs[t, b : b + 1], carried)
            outputs[t, b] = output[0]
        for i, part in enumerate(carried):
            finals[i].append(part[0])
    width = [size for size in cell.state_sizes]
    final = tuple(
        onp.stack(parts) if parts else onp.zeros((0, size), inputs.dtype) for parts, size in zip(finals, width)
    )
    return outputs, final


def _suffix(layer, direction):
    return f"_l{layer}" + ("_reverse" if direction else "")


def reference_model(model, params, x, *, lengths=None, mask=None, initial_state=None, noise=None):
    """A whole model call by the transcribed equations and the documented stacking.

    Layer k, direction d runs :func:`reference_sequence` on the layer's
    input with the cell's parameters (keys with the suffix ``_l{k}`` and
    ``_reverse`` for d = 1) from ``initial_state[k*N + d]``, else from the
    learned ``initial_{name}_l{k}[_reverse]`` (with ``learn_initial_state``),
    else from zeros. The directions merge by ``merge_mode`` (``concat``
    forward first, ``sum``, ``mean``); with ``residual`` the layer's input is
    added for k >= 1.

    ``noise`` describes training (``None``: evaluation, no dropout), a dict
    of keep-and-scale multipliers (0 or 1/(1 - rate)):

    * ``"variational"``: ``[k]`` -> (B, F), on layer k's input at every step;
    * ``"weight"``: ``[k][d]`` -> the shape of ``weight_hh``, on that cell's ``weight_hh``;
    * ``"between"``: ``[k]`` -> (T, B, F), on layer k's merged output, k < L - 1.

    Args:
        model: an rnngrad model (:class:`rnngrad.Recurrent` and its subclasses).
        params: its parameter dict.
        x: in the model's layout ((T, B, D), (B, T, D) batch-first, or unbatched (T, D)).
        lengths, mask, initial_state: as the model takes them.

    Returns:
        ``(output, h_n)`` or ``(output, (h_n, c_n))``, as the model returns them.
    """
    noise = noise or {}
    x = onp.asarray(x)
    batched = x.ndim == 3
    if not batched:
        x = x[:, None, :]
    elif model.batch_first:
        x = x.swapaxes(0, 1)
    num_steps, batch = x.shape[:2]
    if lengths is not None:
        lengths = onp.atleast_1d(onp.asarray(lengths))
        valid = onp.arange(num_steps)[:, None] < lengths[None, :]
    elif mask is not None:
        valid = onp.asarray(mask, bool)
        valid = valid[:, None] if not batched else valid.T if model.batch_first else valid
    else:
        valid = onp.ones((num_steps, batch), bool)
    directions = 2 if model.bidirectional else 1
    first = model.cells[0][0]
    if initial_state is not None:
        parts = (initial_state,) if len(first.state_sizes) == 1 else tuple(initial_state)
        parts = tuple(onp.asarray(p) if batched else onp.asarray(p)[:, None, :] for p in parts)
    # padding may hold anything, NaN included: a step that is not visited is never read
    layer_input = onp.where(valid[:, :, None], x, 0.0).astype(x.dtype)
    finals = []
    for k, layer in enumerate(model.cells):
        if "variational" in noise:
            layer_input = layer_input * noise["variational"][k][None]
        halves = []
        for d, cell in enumerate(layer):
            suffix = _suffix(k, d)
            cell_params = {name: params[name + suffix] for name in cell.param_shapes()}
            if "weight" in noise:
                cell_params["weight_hh"] = cell_params["weight_hh"] * noise["weight"][k][d]
            if initial_state is not None:
                state = tuple(part[k * directions + d] for part in parts)
            elif getattr(model, "learn_initial_state", False):
                names = ("h", "c") if len(cell.state_sizes) == 2 else ("h",)
                state = tuple(
                    onp.broadcast_to(onp.asarray(params[f"initial_{n}{suffix}"]), (batch, size))
                    for n, size in zip(names, cell.state_sizes)
                )
            else:
                state = tuple(onp.zeros((batch, size), x.dtype) for size in cell.state_sizes)
            out, final = reference_sequence(cell, cell_params, layer_input, state, mask=valid, reverse=d == 1)
            halves.append(out)
            finals.append(final)
        merge = getattr(model, "merge_mode", "concat")
        if len(halves) == 1:
            merged = halves[0]
        elif merge == "concat":
            merged = onp.concatenate(halves, axis=-1)
        elif merge == "sum":
            merged = halves[0] + halves[1]
        else:
            merged = (halves[0] + halves[1]) / 2.0
        if getattr(model, "residual", False) and k > 0:
            merged = merged + layer_input
        if "between" in noise and k < model.num_layers - 1:
            merged = merged * noise["between"][k]
        layer_input = merged
    output = layer_input
    stacked = tuple(onp.stack([final[i] for final in finals]) for i in range(len(finals[0])))
    if not batched:
        output = output[:, 0]
        stacked = tuple(part[:, 0] for part in stacked)
    elif model.batch_first:
        output = output.swapaxes(0, 1)
    return output, stacked[0] if len(stacked) == 1 else stacked
