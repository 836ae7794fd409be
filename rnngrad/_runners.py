"""The runners: masking, reversal, direction merging, dropout and stacking on validated arguments.

Nothing here checks its arguments: :mod:`rnngrad.sequence` and the models
validate theirs once per call, and the fused kernels (:mod:`rnngrad.kernels`)
call :func:`run_reference` on arguments that came through those checks. This
module imports no other rnngrad module, so both the sequence module above the
kernels and the kernels themselves can use it.

The one masking mechanism, for one direction::

    for t in range(T):
        output, new = cell.step(params, x[t], state)
        state = where(mask[t], new, state)
        y[t] = where(mask[t], output, 0)

The reverse direction is the same loop over ``x[::-1]`` and ``mask[::-1]``,
outputs flipped back.
"""

import autograd.numpy as np
import numpy as onp
from autograd.tracer import getval

__all__ = ["prefix_mask", "clear_padding", "run_reference", "run_direction", "merge", "dropout", "run_stack"]


def prefix_mask(lengths, num_steps):
    """The (T, B) mask ``t < lengths[b]`` of lengths already checked (an int array of shape (B,))."""
    return onp.arange(num_steps)[:, None] < lengths[None, :]


def clear_padding(inputs, mask):
    """``inputs`` with NaN and inf at masked steps replaced by 0.

    Such an entry would reach the weight gradients as 0 * NaN although its
    step is discarded. Finite padding is left as it is: it already changes
    nothing for a cell whose rows are independent, and a cell that mixes the
    batch stays detectable by the padding check of rnngrad.testing. Called
    once where inputs enter (a single direction, the first layer of a stack):
    the layers above read outputs, which are zero at masked steps.
    """
    if mask is None:
        return inputs
    # most calls have no padding, or only finite padding: scan only the padded steps to find out
    padded = ~mask
    if not padded.any() or onp.isfinite(getval(inputs)[padded]).all():
        return inputs
    return np.where(padded[:, :, None] & ~onp.isfinite(getval(inputs)), 0.0, inputs)


def _masked_loop(cell, params, inputs, state, mask):
    outputs = []
    for t in range(inputs.shape[0]):
        output, new_state = cell.step(params, inputs[t], state)
        if mask is None:
            state = tuple(new_state)
        else:
            valid = mask[t][:, None]
            state = tuple(np.where(valid, new, old) for new, old in zip(new_state, state))
            output = np.where(valid, output, 0.0)
        outputs.append(output)
    if not outputs:
        return np.zeros((0, inputs.shape[1], cell.output_size), dtype=inputs.dtype), state
    # np.array, not np.stack: autograd's stack (a concatenate) spends O(T) per step in its
    # backward pass, O(T^2) in all, while np.array's backward takes each step's slice directly
    return np.array(outputs), state


def run_reference(cell, params, inputs, state, mask, reverse):
    """The traced loop over ``cell.step`` in one direction: ``(outputs (T, B, O), final_state)``."""
    state = tuple(state)
    if reverse:
        outputs, final = _masked_loop(cell, params, inputs[::-1], state, None if mask is None else mask[::-1])
        return outputs[::-1], final
    return _masked_loop(cell, params, inputs, state, mask)


def run_direction(cell, kernel, params, inputs, state, mask, reverse):
    """One direction with ``kernel`` (a fused primitive of :mod:`rnngrad.kernels`), or the loop when ``None``."""
    if kernel is None:
        return run_reference(cell, params, inputs, state, mask, reverse)
    return kernel(cell, params, inputs, tuple(state), mask, reverse)


def merge(outputs, merge_mode):
    """One layer's per-direction outputs (each (T, B, O)) combined: ``concat`` (forward first), ``sum`` or ``mean``."""
    if len(outputs) == 1:
        return outputs[0]
    if merge_mode == "concat":
        return np.concatenate(outputs, axis=-1)
    total = outputs[0] + outputs[1]
    return total if merge_mode == "sum" else 0.5 * total


def dropout(values, rate, rng, mask_shape=None):
    """Inverted dropout: zero entries with probability ``rate``, scale the rest by 1/(1-rate).

    ``mask_shape`` (broadcastable to ``values``) shares one draw across the
    axes of size 1, e.g. (1, B, F) for one mask per sequence over all steps.
    The scale has the dtype of ``values``, so float32 stays float32.
    """
    keep = rng.random(values.shape if mask_shape is None else mask_shape) >= rate
    scale = onp.asarray(1.0 / (1.0 - rate), dtype=values.dtype)
    return values * (keep * scale)


def run_stack(
    cells,
    kernels,
    params,
    inputs,
    states,
    *,
    mask,
    dropout_rate,
    weight_dropout,
    variational_dropout,
    rng,
    merge_mode,
    residual,
):
    """A stack of layers, each of one or two directions, on validated arguments.

    ``cells``, ``kernels``, ``params`` and ``states`` are indexed ``[k][d]``
    (layer, direction); ``kernels[k][d]`` is the fused primitive or ``None``.
    The regularization of :func:`rnngrad.sequence.stack` is drawn from
    ``rng`` when it is given (training) and skipped when it is ``None``.

    Returns ``(outputs, finals)`` as :func:`rnngrad.sequence.stack`.
    """
    finals = []
    layer_input = clear_padding(inputs, mask)
    training = rng is not None
    for k, layer in enumerate(cells):
        if training and variational_dropout:
            _, batch, features = layer_input.shape
            layer_input = dropout(layer_input, variational_dropout, rng, mask_shape=(1, batch, features))
        directions = []
        layer_finals = []
        for d, cell in enumerate(layer):
            cell_params = params[k][d]
            if training and weight_dropout and "weight_hh" in cell_params:
                cell_params = dict(cell_params, weight_hh=dropout(cell_params["weight_hh"], weight_dropout, rng))
            out, final = run_direction(cell, kernels[k][d], cell_params, layer_input, states[k][d], mask, d == 1)
            directions.append(out)
            layer_finals.append(final)
        finals.append(layer_finals)
        merged = merge(directions, merge_mode)
        if residual and k > 0:
            merged = merged + layer_input
        layer_input = merged
        if training and dropout_rate and k < len(cells) - 1:
            layer_input = dropout(layer_input, dropout_rate, rng)
    return layer_input, finals
