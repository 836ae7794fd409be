r"""The sequence module: the only place rnngrad iterates over time.

One mechanism carries every variant of "which steps count": a boolean mask
of shape (T, B). At a step whose mask is false a sequence keeps its state and
emits zeros::

    for t in range(T):
        output, new = cell.step(params, x[t], state)
        state = where(mask[t], new, state)
        y[t] = where(mask[t], output, 0)

From it follow lengths (a prefix mask), zero-length sequences (the initial
state comes back, every output is zero), the reverse direction (the same loop
over ``x[::-1]`` and ``mask[::-1]``, outputs flipped back, so each sequence
starts at its own last valid step) and truncated backpropagation through time
(carry the final state into the next chunk).

Built-in cells run a fused whole-sequence primitive with a hand-written
backward pass when :mod:`rnngrad.kernels` has one (``impl="fused"``); every
cell can run the traced reference loop above (``impl="reference"``). Both
compute the same function.
"""

import autograd.numpy as np
import numpy as onp

from ._validation import check_choice
from .kernels import kernel_for

__all__ = ["unroll", "stack", "merge_directions", "lengths_to_mask", "IMPLEMENTATIONS", "MERGE_MODES"]

IMPLEMENTATIONS = ("fused", "reference")


def lengths_to_mask(lengths, num_steps):
    """The prefix mask (T, B): ``mask[t, b] = t < lengths[b]``."""
    return onp.arange(num_steps)[:, None] < onp.asarray(lengths)[None, :]


def resolve_impl(cell, impl):
    """The kernel to use for ``cell``, or ``None`` for the traced loop."""
    if impl is not None:
        check_choice("impl", impl, IMPLEMENTATIONS)
    if impl == "reference":
        return None
    kernel = kernel_for(cell)
    if impl == "fused" and kernel is None:
        raise ValueError(
            f"impl: 'fused' is only available for the built-in cells, not {type(cell).__name__}; "
            "use impl='reference' or None"
        )
    return kernel


def unroll(cell, params, inputs, state, *, mask=None, reverse=False, impl=None):
    """Run ``cell`` over a whole sequence in one direction.

    Args:
        cell: any object following the cell protocol (:class:`rnngrad.Cell`).
        params: the cell's parameter dict.
        inputs: (T, B, D) array.
        state: tuple of (B, S_i) arrays, the state before the first step.
        mask: (T, B) boolean array, or ``None`` when every step is valid.
        reverse: run from the last step to the first. With a mask this is
            the loop over the time-flipped inputs and mask, outputs flipped
            back: a prefix-masked sequence starts at its own last valid step.
        impl: ``"fused"``, ``"reference"`` or ``None`` (fused where available).

    Returns:
        ``(outputs, final_state)``: outputs (T, B, O), zero where the mask is
        false; final_state the state after each sequence's last valid step.
    """
    kernel = resolve_impl(cell, impl)
    if kernel is not None:
        return kernel(cell, params, inputs, tuple(state), mask, reverse)
    if reverse:
        outputs, final = _masked_loop(cell, params, inputs[::-1], tuple(state), None if mask is None else mask[::-1])
        return outputs[::-1], final
    return _masked_loop(cell, params, inputs, tuple(state), mask)


def _masked_loop(cell, params, inputs, state, mask):
    num_steps = inputs.shape[0]
    outputs = []
    for t in range(num_steps):
        output, new_state = cell.step(params, inputs[t], state)
        if mask is None:
            state = tuple(new_state)
        else:
            valid = mask[t][:, None]
            state = tuple(np.where(valid, new, old) for new, old in zip(new_state, state))
            output = np.where(valid, output, 0.0)
        outputs.append(output)
    if not outputs:
        batch = inputs.shape[1]
        return np.zeros((0, batch, cell.output_size), dtype=inputs.dtype), state
    return np.stack(outputs), state


MERGE_MODES = ("concat", "sum", "mean")


def stack(
    cells,
    params,
    inputs,
    states,
    *,
    mask=None,
    dropout=0.0,
    weight_dropout=0.0,
    variational_dropout=0.0,
    rng=None,
    merge_mode="concat",
    residual=False,
    impl=None,
):
    """Stacked, optionally bidirectional recurrence.

    Layer ``k`` reads the outputs of layer ``k - 1``, its directions merged
    on the feature axis by ``merge_mode`` (``concat``: forward first, as
    torch; ``sum`` or ``mean`` of the two). Padded steps stay zero.

    Regularization, applied only when an ``rng`` is given (training), each
    drawn once per call:

    * ``dropout``: on the outputs of every layer but the last, a fresh mask
      at every step and feature (torch's ``dropout``);
    * ``variational_dropout``: on the input of every layer (``inputs``
      included), one mask per sequence and feature shared by all steps
      (Gal and Ghahramani 2016; the "locked" dropout of Merity et al. 2017);
    * ``weight_dropout``: DropConnect on each cell's ``weight_hh``, one mask
      per call shared by all steps and sequences (Merity et al. 2017), which
      regularizes the recurrent connections without touching the state.

    All three are inverted: kept entries are scaled by ``1 / (1 - rate)``.

    Args:
        cells: ``cells[k][d]``, the cell of layer k and direction d (0 forward,
            1 reverse); every layer has the same number of directions.
        params: ``params[k][d]``, the parameter dict of that cell.
        inputs: (T, B, D).
        states: ``states[k][d]``, the initial state tuple of that cell.
        mask: (T, B) boolean or ``None``.
        dropout, weight_dropout, variational_dropout: rates in [0, 1).
        rng: :class:`numpy.random.Generator` drawing the masks, or ``None``
            for none of them (evaluation).
        merge_mode: how two directions combine: ``"concat"``, ``"sum"`` or ``"mean"``.
        residual: add each layer's input to its output for layers ``k >= 1``
            (their widths must agree).
        impl: as in :func:`unroll`.

    Returns:
        ``(outputs, finals)``: outputs (T, B, F) with F the merged width of
        the last layer, and ``finals[k][d]`` the final state tuple of each cell.
    """
    finals = []
    layer_input = inputs
    training = rng is not None
    for k, layer in enumerate(cells):
        if training and variational_dropout:
            _, B, F = layer_input.shape
            layer_input = _dropout(layer_input, variational_dropout, rng, mask_shape=(1, B, F))
        directions = []
        layer_finals = []
        for d, cell in enumerate(layer):
            cell_params = params[k][d]
            if training and weight_dropout and "weight_hh" in cell_params:
                cell_params = dict(cell_params, weight_hh=_dropout(cell_params["weight_hh"], weight_dropout, rng))
            out, final = unroll(cell, cell_params, layer_input, states[k][d], mask=mask, reverse=d == 1, impl=impl)
            directions.append(out)
            layer_finals.append(final)
        finals.append(layer_finals)
        merged = merge_directions(directions, merge_mode)
        if residual and k > 0:
            merged = merged + layer_input
        layer_input = merged
        if training and dropout and k < len(cells) - 1:
            layer_input = _dropout(layer_input, dropout, rng)
    return layer_input, finals


def merge_directions(outputs, merge_mode="concat"):
    """Combine the per-direction outputs (each (T, B, O)) of one layer."""
    if len(outputs) == 1:
        return outputs[0]
    if merge_mode == "concat":
        return np.concatenate(outputs, axis=-1)
    total = outputs[0] + outputs[1]
    return total if merge_mode == "sum" else 0.5 * total


def _dropout(values, rate, rng, mask_shape=None):
    """Inverted dropout: zero entries with probability ``rate``, scale the rest by 1/(1-rate).

    ``mask_shape`` (broadcastable to ``values``) shares one draw across the
    axes of size 1, e.g. (1, B, F) for one mask per sequence over all steps.
    """
    keep = rng.random(values.shape if mask_shape is None else mask_shape) >= rate
    scale = onp.asarray(1.0 / (1.0 - rate), dtype=values.dtype)
    return values * (keep * scale)
