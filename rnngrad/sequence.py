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

This module checks the arguments and picks the kernel of each cell once per
call; the loops themselves, on validated arguments, are in the private
``rnngrad._runners``, which the kernels use as their reference too.
"""

import numpy as onp
from autograd.tracer import getval

from . import _runners
from ._validation import (
    MERGE_MODES,
    as_input_array,
    check_bool,
    check_cell,
    check_choice,
    check_lengths,
    check_mask,
    check_params,
    check_positive_int,
    check_probability,
    check_rng,
    check_stack_layout,
    check_state,
    shape_of,
)
from .kernels import kernel_for

__all__ = ["unroll", "stack", "merge_directions", "lengths_to_mask", "IMPLEMENTATIONS", "MERGE_MODES"]

#: The values of ``impl``: ``"fused"`` (a kernel with a hand-written backward pass, built-in cells
#: only) and ``"reference"`` (the traced loop); ``None`` means fused where a kernel exists.
IMPLEMENTATIONS = ("fused", "reference")

#: The values of ``merge_mode``, how a bidirectional layer combines its two directions:
#: ``"concat"`` (forward first, torch's), ``"sum"`` or ``"mean"``.
MERGE_MODES = MERGE_MODES


def lengths_to_mask(lengths, num_steps):
    """The prefix mask (T, B): ``mask[t, b] = t < lengths[b]``, for B integer lengths in [0, T]."""
    num_steps = check_positive_int("num_steps", num_steps, minimum=0)
    try:
        batch = len(lengths)
    except TypeError as error:
        raise TypeError(f"lengths: expected a sequence of integers, got {type(lengths).__name__}") from error
    return _runners.prefix_mask(check_lengths(lengths, batch, num_steps), num_steps)


def resolve_impl(cell, impl):
    """The kernel to use for ``cell``, or ``None`` for the traced loop; ``impl`` as in :func:`unroll`."""
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


def select_kernels(cells, impl):
    """``kernels[k][d]``: :func:`resolve_impl` for every cell of a stack, once per call."""
    return tuple(tuple(resolve_impl(cell, impl) for cell in layer) for layer in cells)


def unroll(cell, params, inputs, state, *, mask=None, reverse=False, impl=None):
    """Run ``cell`` over a whole sequence in one direction.

    Args:
        cell: any object following the cell protocol (:class:`rnngrad.AbstractCell`).
        params: the cell's parameter dict.
        inputs: (T, B, D) array.
        state: tuple of (B, S_i) arrays, the state before the first step.
        mask: (T, B) boolean array, or ``None`` when every step is valid.
            Inputs at masked steps change nothing, gradients included,
            even when they are NaN or inf (those are replaced by zeros).
        reverse: run from the last step to the first. With a mask this is
            the loop over the time-flipped inputs and mask, outputs flipped
            back: a prefix-masked sequence starts at its own last valid step.
        impl: ``"fused"``, ``"reference"`` or ``None`` (fused where available).

    Returns:
        ``(outputs, final_state)``: outputs (T, B, O), zero where the mask is
        false; final_state the state after each sequence's last valid step.
    """
    check_cell("cell", cell)
    inputs, state, mask = _check_first_cell(cell, params, inputs, state, mask, "cell", "params", "state")
    reverse = check_bool("reverse", reverse)
    kernel = resolve_impl(cell, impl)
    return _runners.run_direction(cell, kernel, params, _runners.clear_padding(inputs, mask), state, mask, reverse)


def _check_first_cell(cell, params, inputs, state, mask, cell_name, params_name, state_name):
    """Check the arguments that meet the first cell: its params, the inputs, its state and the mask."""
    dtype = check_params(params, cell.param_shapes(), name=params_name)
    inputs = as_input_array("inputs", inputs, dtype)
    shape = shape_of(inputs)
    input_size = getattr(cell, "input_size", None)
    if len(shape) != 3 or (input_size is not None and shape[-1] != input_size):
        raise ValueError(f"inputs: expected shape (T, B, {input_size}) for {cell_name}, got {shape}")
    num_steps, batch = shape[:2]
    state = check_state(state_name, state, cell.state_sizes, (batch,), dtype)
    if mask is not None:
        mask = check_mask(mask, (num_steps, batch))
    return inputs, state, mask


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
    rates = {
        name: check_probability(name, rate)
        for name, rate in (
            ("dropout", dropout),
            ("weight_dropout", weight_dropout),
            ("variational_dropout", variational_dropout),
        )
    }
    check_rng("rng", rng)
    inputs, states, mask = _check_stack(cells, params, inputs, states, mask, merge_mode, residual)
    return _runners.run_stack(
        cells,
        select_kernels(cells, impl),
        params,
        inputs,
        states,
        mask=mask,
        dropout_rate=rates["dropout"],
        weight_dropout=rates["weight_dropout"],
        variational_dropout=rates["variational_dropout"],
        rng=rng,
        merge_mode=merge_mode,
        residual=residual,
    )


def _nested(name, value, counts):
    """Require ``value[k][d]`` nesting: ``len(value) == len(counts)`` and ``len(value[k]) == counts[k]``."""
    if not isinstance(value, (tuple, list)) or len(value) != len(counts):
        raise TypeError(f"{name}: expected a list of {len(counts)} layers, got {type(value).__name__}")
    for k, (layer, count) in enumerate(zip(value, counts)):
        if not isinstance(layer, (tuple, list)) or len(layer) != count:
            raise TypeError(f"{name}[{k}]: expected a list of {count} directions, got {type(layer).__name__}")


def _check_stack(cells, params, inputs, states, mask, merge_mode, residual):
    """Validate the arrays of :func:`stack` against its cells; return the converted inputs, states and mask."""
    if not isinstance(cells, (tuple, list)) or not cells:
        raise TypeError(f"cells: expected a non-empty list of layers cells[k][d], got {cells!r}")
    counts = [len(layer) if isinstance(layer, (tuple, list)) else 1 for layer in cells]
    _nested("cells", cells, counts)
    if len(set(counts)) != 1 or counts[0] not in (1, 2):
        raise ValueError(f"cells: expected 1 or 2 directions in every layer, got {counts}")
    _nested("params", params, counts)
    _nested("states", states, counts)
    check_cell("cells[0][0]", cells[0][0])
    inputs, first_state, mask = _check_first_cell(
        cells[0][0], params[0][0], inputs, states[0][0], mask, "cells[0][0]", "params[0][0]", "states[0][0]"
    )
    check_stack_layout("cells", cells, shape_of(inputs)[-1], merge_mode, residual)
    dtype = onp.dtype(getval(inputs).dtype)
    batch = shape_of(inputs)[1]
    checked = []
    for k, layer in enumerate(cells):
        layer_states = []
        for d, cell in enumerate(layer):
            where = f"[{k}][{d}]"
            if k == 0 and d == 0:
                layer_states.append(first_state)
                continue
            given = check_params(params[k][d], cell.param_shapes(), name=f"params{where}")
            if given != dtype:
                raise TypeError(f"params{where}: expected dtype {dtype} (that of params[0][0]), got {given}")
            layer_states.append(check_state(f"states{where}", states[k][d], cell.state_sizes, (batch,), dtype))
        checked.append(layer_states)
    return inputs, checked, mask


def merge_directions(outputs, merge_mode="concat"):
    """Combine the per-direction outputs of one layer, as a stacked layer does.

    Args:
        outputs: a list of one or two (T, B, O) arrays, forward first.
        merge_mode: ``"concat"`` (on the feature axis, forward first),
            ``"sum"`` or ``"mean"`` (the two must have one shape).

    Returns:
        (T, B, 2O) for ``concat``, else (T, B, O); a single direction as it is.
    """
    if not isinstance(outputs, (tuple, list)) or len(outputs) not in (1, 2):
        count = len(outputs) if isinstance(outputs, (tuple, list)) else type(outputs).__name__
        raise ValueError(f"outputs: expected a list of 1 or 2 directions' outputs, got {count}")
    check_choice("merge_mode", merge_mode, MERGE_MODES)
    shapes = [shape_of(output) for output in outputs]
    if any(len(shape) != 3 for shape in shapes):
        raise ValueError(f"outputs: expected arrays of shape (T, B, O), got shapes {shapes}")
    if len(outputs) == 2:
        agree = shapes[0][:2] == shapes[1][:2] if merge_mode == "concat" else shapes[0] == shapes[1]
        if not agree:
            raise ValueError(f"outputs: the two directions' shapes do not fit merge_mode={merge_mode!r}, got {shapes}")
    return _runners.merge(list(outputs), merge_mode)
