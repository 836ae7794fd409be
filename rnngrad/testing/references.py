r"""Reference implementations that the properties compare rnngrad against.

They restate the semantics of :mod:`rnngrad.sequence` in the most literal
way, sharing no code with it: each sequence is run alone, in a plain Python
loop over *its own* valid steps, so there is no masking arithmetic to get
wrong. A masked step is simply not visited (the state is carried, the output
stays zero); the reverse direction visits the valid steps from the last to
the first::

    for b in range(B):
        for t in valid_steps(b) (reversed for the reverse direction):
            output[t, b], state_b = cell.step(params_at(t), x[t, b], state_b)

Everything here is written with :mod:`autograd.numpy`, so it can be
differentiated, and accepts *untied* parameters (one copy per time step),
which is how the weight-sharing property is stated.
"""

import autograd.numpy as np
import numpy as onp
from autograd.tracer import getval

__all__ = ["flip_within_lengths", "loop_over_cell", "loop_over_model", "probe_loss", "model_states"]


def flip_within_lengths(values, lengths):
    """Reverse each sequence within its own length, leaving the padding where it is.

    ``values`` is (T, B, ...) and ``lengths`` (B,). With T = 4 and
    ``lengths = [4, 2]``, sequence 0 ``[a, b, c, d]`` becomes ``[d, c, b, a]``
    and sequence 1 ``[a, b, p, p]`` becomes ``[b, a, p, p]``. The flip is its
    own inverse, and it works on autograd boxes.
    """
    num_steps, batch = onp.shape(getval(values))[:2]
    steps = onp.arange(num_steps)[:, None]
    lengths = onp.asarray(lengths)[None, :]
    index = onp.where(steps < lengths, lengths - 1 - steps, steps)
    return values[index, onp.arange(batch)[None, :]]


def _is_untied(params):
    return isinstance(getval(params), (list, tuple))


def _params_at(params, t):
    return params[t] if _is_untied(params) else params


def loop_over_cell(cell, params, inputs, state, *, mask=None, reverse=False):
    """Run ``cell`` over (T, B, D) ``inputs``, one sequence at a time, visiting only valid steps.

    Args:
        cell: any object following the cell protocol.
        params: the cell's parameter dict, or a list of T dicts (untied
            weights: ``params[t]`` is used at time step t).
        inputs: (T, B, D).
        state: tuple of (B, S_i) arrays.
        mask: (T, B) boolean, ``None`` for all steps valid.
        reverse: visit the valid steps from last to first.

    Returns:
        ``(outputs (T, B, O), final_state)``, outputs zero at masked steps.
    """
    inputs_raw = getval(inputs)
    num_steps, batch = inputs_raw.shape[:2]
    mask = onp.ones((num_steps, batch), bool) if mask is None else onp.asarray(mask)
    zero = onp.zeros(cell.output_size, dtype=inputs_raw.dtype)
    columns, finals = [], []
    for b in range(batch):
        sequence_state = tuple(part[b : b + 1] for part in state)
        rows = [zero] * num_steps
        steps = [t for t in range(num_steps) if mask[t, b]]
        for t in reversed(steps) if reverse else steps:
            output, sequence_state = cell.step(_params_at(params, t), inputs[t, b : b + 1], sequence_state)
            rows[t] = output[0]
        columns.append(np.stack(rows) if rows else np.zeros((0, cell.output_size), dtype=inputs_raw.dtype))
        finals.append(tuple(sequence_state))
    outputs = np.stack(columns, axis=1) if columns else np.zeros((num_steps, 0, cell.output_size))
    final = tuple(np.concatenate([f[i] for f in finals], axis=0) for i in range(len(state)))
    return outputs, final


def model_states(model, initial_state, batch, dtype):
    """``states[k][d]``: the initial state tuple of layer k, direction d, from torch's layout."""
    sizes = model.cells[0][0].state_sizes
    if initial_state is None:
        return [[cell.initial_state(batch, dtype) for cell in layer] for layer in model.cells]
    parts = (initial_state,) if len(sizes) == 1 else tuple(initial_state)
    directions = model.num_directions
    return [
        [tuple(part[k * directions + d] for part in parts) for d in range(directions)] for k in range(model.num_layers)
    ]


def loop_over_model(model, params, x, *, mask=None, initial_state=None):
    """A stacked, bidirectional model as explicit loops: time-major, batched input only.

    Layer k, direction d reads the previous layer's outputs (directions
    concatenated, forward first) and starts from ``initial_state[k*N + d]``;
    no dropout. Models with another ``merge_mode``, ``residual`` or
    ``learn_initial_state`` are not covered (NotImplementedError).

    Args:
        model: a :class:`rnngrad.Recurrent`.
        params: its parameter dict, or a list of T dicts (untied weights).
        x: (T, B, D).
        mask: (T, B) boolean or ``None``.
        initial_state: as the model takes it (time-major, batched), or ``None``.

    Returns:
        ``(output, final)`` in the model's format: ``final`` is h_n, or a
        tuple ``(h_n, c_n)`` for multi-state cells.
    """
    options = {"merge_mode": "concat", "residual": False, "learn_initial_state": False}
    unsupported = {
        name: getattr(model, name) for name, plain in options.items() if getattr(model, name, plain) != plain
    }
    if unsupported:
        raise NotImplementedError(f"loop_over_model: only plain torch-style stacks, got {unsupported}")
    x_raw = getval(x)
    untied = _is_untied(params)
    split = [model.split_params(p) for p in params] if untied else model.split_params(params)
    states = model_states(model, initial_state, x_raw.shape[1], x_raw.dtype)
    layer_input, finals = x, []
    for k, layer in enumerate(model.cells):
        halves = []
        for d, cell in enumerate(layer):
            cell_params = [s[k][d] for s in split] if untied else split[k][d]
            out, final = loop_over_cell(cell, cell_params, layer_input, states[k][d], mask=mask, reverse=d == 1)
            halves.append(out)
            finals.append(final)
        layer_input = halves[0] if len(halves) == 1 else np.concatenate(halves, axis=-1)
    stacked = tuple(np.stack([f[i] for f in finals]) for i in range(len(finals[0])))
    return layer_input, stacked[0] if len(stacked) == 1 else stacked


def probe_loss(*arrays, seed=0):
    """A scalar that depends on every entry of ``arrays``: ``sum_i sum(a_i * w_i)``, ``w_i`` fixed Gaussian.

    Gradients of a plain ``sum`` can hide bugs (a permutation of the
    outputs has the same sum); random weights, fixed by ``seed`` and by the
    arrays' shapes, make the loss sensitive to which entry is which.
    Tuples (the LSTM's ``(h_n, c_n)``) are flattened.
    """
    rng = onp.random.default_rng(seed)
    total = 0.0
    for array in arrays:
        if isinstance(getval(array), (tuple, list)):
            parts = [array[i] for i in range(len(getval(array)))]
        else:
            parts = [array]
        for part in parts:
            raw = getval(part)
            weights = rng.normal(size=raw.shape).astype(raw.dtype)
            total = total + np.sum(part * weights)
    return total
