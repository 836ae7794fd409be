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

import numbers

import autograd.numpy as np
import numpy as onp
from autograd.tracer import getval

from ._validation import (
    as_input_array,
    check_bool,
    check_choice,
    check_lengths,
    check_mask,
    check_params,
    check_positive_int,
    check_probability,
    check_state_array,
    shape_of,
)
from .kernels import kernel_for

__all__ = ["unroll", "stack", "merge_directions", "lengths_to_mask", "IMPLEMENTATIONS", "MERGE_MODES"]

#: The values of ``impl``: ``"fused"`` (a kernel with a hand-written backward pass, built-in cells
#: only) and ``"reference"`` (the traced loop); ``None`` means fused where a kernel exists.
IMPLEMENTATIONS = ("fused", "reference")


def lengths_to_mask(lengths, num_steps):
    """The prefix mask (T, B): ``mask[t, b] = t < lengths[b]``, for B integer lengths in [0, T]."""
    num_steps = check_positive_int("num_steps", num_steps, minimum=0)
    try:
        batch = len(lengths)
    except TypeError as error:
        raise TypeError(f"lengths: expected a sequence of integers, got {type(lengths).__name__}") from error
    return _prefix_mask(check_lengths(lengths, batch, num_steps), num_steps)


def _prefix_mask(lengths, num_steps):
    """:func:`lengths_to_mask` of lengths already checked (an int array of shape (B,))."""
    return onp.arange(num_steps)[:, None] < lengths[None, :]


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
    inputs, state, mask = _check_unroll(cell, params, inputs, state, mask)
    return _unroll(cell, params, _clear_padding(inputs, mask), state, mask, check_bool("reverse", reverse), impl)


def _check_cell(cell, name="cell"):
    if not all(hasattr(cell, attribute) for attribute in ("step", "param_shapes", "state_sizes", "output_size")):
        raise TypeError(f"{name}: expected a Cell (step, param_shapes, state_sizes), got {type(cell).__name__}")


def _check_unroll(cell, params, inputs, state, mask, where=""):
    """Validate one direction's arguments; ``where`` (such as ``[1][0]``) locates them inside :func:`stack`."""
    _check_cell(cell, f"cell{where}" if not where else f"cells{where}")
    dtype = check_params(params, cell.param_shapes(), name=f"params{where}")
    inputs = as_input_array("inputs", inputs, dtype)
    shape = shape_of(inputs)
    input_size = getattr(cell, "input_size", None)
    if len(shape) != 3 or (isinstance(input_size, numbers.Integral) and shape[-1] != input_size):
        raise ValueError(f"inputs: expected shape (T, B, {input_size}) for cell{where}, got {shape}")
    num_steps, batch = shape[:2]
    state = _check_state(f"state{where}" if not where else f"states{where}", cell, state, batch, dtype)
    if mask is not None:
        mask = check_mask(mask, (num_steps, batch))
    return inputs, state, mask


def _check_state(name, cell, state, batch, dtype):
    """A cell's state: a tuple of one (B, S_i) array per entry of ``cell.state_sizes``, of the params' dtype."""
    sizes = tuple(cell.state_sizes)
    if not isinstance(getval(state), (tuple, list)) or len(state) != len(sizes):
        raise TypeError(f"{name}: expected a tuple of {len(sizes)} arrays (B, S), got {type(state).__name__}")
    return tuple(
        check_state_array(f"{name}[{i}]", part, (batch, size), dtype)
        for i, (part, size) in enumerate(zip(state, sizes))
    )


def _clear_padding(inputs, mask):
    """``inputs`` with NaN and inf at masked steps replaced by 0.

    Such an entry would reach the weight gradients as 0 * NaN although its
    step is discarded. Finite padding is left as it is: it already changes
    nothing for a cell whose rows are independent, and a cell that mixes the
    batch stays detectable by the padding check of rnngrad.testing. Called
    once where inputs enter (:func:`unroll`, the first layer of :func:`stack`):
    the layers above read outputs, which are zero at masked steps.
    """
    if mask is None:
        return inputs
    # most calls have no padding, or only finite padding: scan only the padded steps to find out
    padded = ~mask
    if not padded.any() or onp.isfinite(getval(inputs)[padded]).all():
        return inputs
    return np.where(padded[:, :, None] & ~onp.isfinite(getval(inputs)), 0.0, inputs)


def _unroll(cell, params, inputs, state, mask, reverse, impl):
    """:func:`unroll` on validated arguments whose padding is already cleared."""
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
    # np.array, not np.stack: autograd's stack (a concatenate) spends O(T) per step in its
    # backward pass, O(T^2) in all, while np.array's backward takes each step's slice directly
    return np.array(outputs), state


#: The values of ``merge_mode``, how a bidirectional layer combines its two directions:
#: ``"concat"`` (forward first, torch's), ``"sum"`` or ``"mean"``.
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
    inputs, states, mask = _check_stack(
        cells, params, inputs, states, mask, (dropout, weight_dropout, variational_dropout), rng, merge_mode, residual
    )
    return _stack(
        cells,
        params,
        inputs,
        states,
        mask=mask,
        dropout=dropout,
        weight_dropout=weight_dropout,
        variational_dropout=variational_dropout,
        rng=rng,
        merge_mode=merge_mode,
        residual=residual,
        impl=impl,
    )


def _nested(name, value, lengths):
    """Require ``value[k][d]`` nesting: ``len(value) == len(lengths)`` and ``len(value[k]) == lengths[k]``."""
    if not isinstance(value, (tuple, list)) or len(value) != len(lengths):
        raise TypeError(f"{name}: expected a list of {len(lengths)} layers, got {type(value).__name__}")
    for k, (layer, count) in enumerate(zip(value, lengths)):
        if not isinstance(layer, (tuple, list)) or len(layer) != count:
            raise TypeError(f"{name}[{k}]: expected a list of {count} directions, got {type(layer).__name__}")


def _check_stack(cells, params, inputs, states, mask, rates, rng, merge_mode, residual):
    """Validate the arguments of :func:`stack`; return the converted inputs, states and mask."""
    if not isinstance(cells, (tuple, list)) or not cells:
        raise TypeError(f"cells: expected a non-empty list of layers cells[k][d], got {cells!r}")
    _nested("cells", cells, [1 if not isinstance(layer, (tuple, list)) else len(layer) for layer in cells])
    directions = {len(layer) for layer in cells}
    if len(directions) != 1 or directions.pop() not in (1, 2):
        raise ValueError(f"cells: expected 1 or 2 directions in every layer, got {[len(layer) for layer in cells]}")
    counts = [len(layer) for layer in cells]
    _nested("params", params, counts)
    _nested("states", states, counts)
    for name, rate in zip(("dropout", "weight_dropout", "variational_dropout"), rates):
        check_probability(name, rate)
    check_choice("merge_mode", merge_mode, MERGE_MODES)
    check_bool("residual", residual)
    if rng is not None and not isinstance(rng, onp.random.Generator):
        raise TypeError(f"rng: expected a numpy.random.Generator or None, got {type(rng).__name__}")
    checked_states = []
    width = None
    for k, layer in enumerate(cells):
        layer_states = []
        for d, cell in enumerate(layer):
            where = f"[{k}][{d}]"
            _check_cell(cell, f"cells{where}")
            if k == 0 and d == 0:
                inputs, state, mask = _check_unroll(cell, params[0][0], inputs, states[0][0], mask, where)
                dtype = onp.dtype(getval(inputs).dtype)
                width = shape_of(inputs)[-1]
                batch = shape_of(inputs)[1]
            else:
                given = check_params(params[k][d], cell.param_shapes(), name=f"params{where}")
                if given != dtype:
                    raise TypeError(f"params{where}: expected dtype {dtype} (that of params[0][0]), got {given}")
                if getattr(cell, "input_size", width) != width:
                    raise ValueError(
                        f"cells{where}: expected input_size={width} (what layer {k} reads), got {cell.input_size}"
                    )
                state = _check_state(f"states{where}", cell, states[k][d], batch, dtype)
            layer_states.append(state)
        checked_states.append(layer_states)
        sizes = [cell.output_size for cell in layer]
        if merge_mode != "concat" and len(set(sizes)) > 1:
            raise ValueError(f"merge_mode: {merge_mode!r} needs equal output sizes in both directions, got {sizes}")
        merged = sum(sizes) if merge_mode == "concat" else sizes[0]
        if residual and k > 0 and merged != width:
            raise ValueError(f"residual: layer {k} reads {width} features and writes {merged}; they must be equal")
        width = merged
    return inputs, checked_states, mask


def _stack(
    cells,
    params,
    inputs,
    states,
    *,
    mask,
    dropout,
    weight_dropout,
    variational_dropout,
    rng,
    merge_mode,
    residual,
    impl,
):
    """:func:`stack` on validated arguments (the models validate theirs themselves)."""
    finals = []
    layer_input = _clear_padding(inputs, mask)
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
            out, final = _unroll(cell, cell_params, layer_input, states[k][d], mask, d == 1, impl)
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
