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

__all__ = ["unroll", "stack", "lengths_to_mask", "IMPLEMENTATIONS"]

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


def stack(cells, params, inputs, states, *, mask=None, dropout=0.0, rng=None, impl=None):
    """Stacked, optionally bidirectional recurrence.

    Layer ``k`` reads the outputs of layer ``k - 1`` (its directions
    concatenated on the feature axis, forward first); dropout with rate
    ``dropout`` is applied to the outputs of every layer but the last when
    an ``rng`` is given (training). Padded steps stay zero.

    Args:
        cells: ``cells[k][d]``, the cell of layer k and direction d (0 forward,
            1 reverse); every layer has the same number of directions.
        params: ``params[k][d]``, the parameter dict of that cell.
        inputs: (T, B, D).
        states: ``states[k][d]``, the initial state tuple of that cell.
        mask: (T, B) boolean or ``None``.
        dropout: rate in [0, 1) between layers.
        rng: :class:`numpy.random.Generator` for the dropout masks, or ``None``
            for no dropout (evaluation).
        impl: as in :func:`unroll`.

    Returns:
        ``(outputs, finals)``: outputs (T, B, sum of the last layer's output
        sizes) and ``finals[k][d]`` the final state tuple of each cell.
    """
    finals = []
    layer_input = inputs
    for k, layer in enumerate(cells):
        directions = []
        layer_finals = []
        for d, cell in enumerate(layer):
            out, final = unroll(cell, params[k][d], layer_input, states[k][d], mask=mask, reverse=d == 1, impl=impl)
            directions.append(out)
            layer_finals.append(final)
        finals.append(layer_finals)
        layer_input = directions[0] if len(directions) == 1 else np.concatenate(directions, axis=-1)
        if dropout and rng is not None and k < len(cells) - 1:
            layer_input = _dropout(layer_input, dropout, rng)
    return layer_input, finals


def _dropout(values, rate, rng):
    """Inverted dropout: zero each entry with probability ``rate``, scale the rest by 1/(1-rate)."""
    keep = rng.random(values.shape) >= rate
    scale = onp.asarray(1.0 / (1.0 - rate), dtype=values.dtype)
    return values * (keep * scale)
