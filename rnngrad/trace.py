r"""Look inside a model: every step's state and gate activations, by layer, direction and name.

:func:`trace` runs a model on the arguments of an ordinary call and records,
for every layer and direction, what each cell held after each step (its
state arrays by their names: ``h``, and ``c`` for the LSTM) and the gate
activations it used (``i``, ``f``, ``g``, ``o`` for the LSTM; ``r``, ``z``,
``n`` for the GRU; none for the Elman RNN)::

    record = rnngrad.trace.trace(lstm, params, x, lengths=[5, 3])
    record.values("c", layer=0)        # (T, B, H): the cell state after each step
    record.values("f", layer=0)        # (T, B, H): the forget gate at each step

A cell shows its gates through the optional method
``step_with_gates(params, x, state) -> (output, new_state, {name: (B, H)})``
of the cell protocol (every built-in cell has it); a cell without it shows
its states only.

Semantics at padding, as the model's: after a masked step a state holds
what it held before (the state the sequence carries), and the gates, which
the model does not use there, are NaN. The records run the reference loop,
so the output and final state of a trace equal the model's call with
``impl="reference"`` exactly, and the fused path's to rounding.
"""

from dataclasses import dataclass, field

import numpy as onp
from autograd.tracer import getval

from . import _runners
from .cells import WrappedCell
from .recurrent import Recurrent

__all__ = ["trace", "Trace"]


@dataclass(frozen=True, eq=False)
class _Recorder(WrappedCell):
    """``inner``, remembering the state before each step and the gates it used, in visiting order."""

    visits: list = field(default_factory=list)

    def step(self, params, x, state):
        with_gates = getattr(self.inner, "step_with_gates", None)
        if with_gates is None:
            output, new_state = self.inner.step(params, x, state)
            gates = {}
        else:
            output, new_state, gates = with_gates(params, x, state)
        self.visits.append((tuple(getval(part) for part in state), {k: getval(v) for k, v in gates.items()}))
        return output, new_state


@dataclass(frozen=True)
class Trace:
    """What :func:`trace` recorded.

    Attributes:
        output, final: what the model's call returns (its layout: batch-first
            or unbatched as the call's ``x``).
        mask: the valid steps, (T, B) (batch-first (B, T), unbatched (T,)).
        records: ``records[k][d]``, a dict ``{name: array}`` for layer k and
            direction d, each array (T, B, S) in the call's layout: the
            cell's state arrays after each step by their names, and its gate
            activations at each step.
    """

    output: object
    final: object
    mask: object
    records: tuple

    def values(self, name, layer=-1, direction=0):
        """The record ``name`` (``"h"``, ``"c"``, ``"f"``, ...) of one layer and direction."""
        entries = self.records[layer][direction]
        if name not in entries:
            raise KeyError(
                f"name: expected one of {sorted(entries)} for layer {layer}, direction {direction}, got {name!r}"
            )
        return entries[name]


def trace(model, params, x, *, lengths=None, mask=None, initial_state=None):
    """Run ``model`` as ``model(params, x, ...)`` does and record every step of every cell.

    Args:
        model: a :class:`~rnngrad.Recurrent` (an RNN, LSTM, GRU or any cell's stack).
        params, x, lengths, mask, initial_state: as in a call of ``model``
            (evaluation: no dropout).

    Returns:
        a :class:`Trace`.
    """
    if not isinstance(model, Recurrent):
        raise TypeError(f"model: expected an rnngrad.Recurrent (RNN, LSTM, GRU), got {type(model).__name__}")
    call = model.prepare(params, x, lengths=lengths, mask=mask, initial_state=initial_state)
    recorders = tuple(tuple(_Recorder(cell) for cell in layer) for layer in model.cells)
    output, finals = _runners.run_stack(
        recorders,
        tuple((None,) * len(layer) for layer in recorders),
        call.params,
        call.inputs,
        call.states,
        mask=call.mask,
        dropout_rate=0.0,
        weight_dropout=0.0,
        variational_dropout=0.0,
        rng=None,
        merge_mode=model.merge_mode,
        residual=model.residual,
    )
    num_steps, batch = onp.shape(getval(call.inputs))[:2]
    valid = onp.ones((num_steps, batch), dtype=bool) if call.mask is None else call.mask
    records = tuple(
        tuple(
            _by_time(recorder, finals[k][d], valid, reverse=d == 1, layout=_layout_of(model, call))
            for d, recorder in enumerate(layer)
        )
        for k, layer in enumerate(recorders)
    )
    output, final = model.finish(call, output, finals)
    return Trace(output=getval(output), final=final, mask=_layout_of(model, call)(valid), records=records)


def _layout_of(model, call):
    """The function taking a time-major (T, B, ...) array to the call's layout."""

    def layout(values):
        if not call.batched:
            return values[:, 0]
        return onp.swapaxes(values, 0, 1) if model.batch_first else values

    return layout


def _by_time(recorder, final, valid, reverse, layout):
    """The recorder's visits as ``{name: (T, B, S)}`` in time order: states after each step, gates at it."""
    visits = recorder.visits
    num_steps = len(visits)
    cell = recorder.inner
    # the state after visit v is the state before visit v + 1 (the loop hands on the held state), the last one final
    after = [visits[v + 1][0] for v in range(num_steps - 1)] + [tuple(getval(part) for part in final)]
    order = onp.arange(num_steps)[::-1] if reverse else onp.arange(num_steps)
    records = {}
    for i, name in enumerate(cell.state_names):
        stacked = onp.stack([after[v][i] for v in range(num_steps)]) if num_steps else None
        records[name] = _in_time_order(stacked, order, num_steps, valid.shape[1], cell.state_sizes[i])
    for name in visits[0][1] if visits else ():
        stacked = onp.stack([visit[1][name] for visit in visits])
        gate = _in_time_order(stacked, order, num_steps, valid.shape[1], stacked.shape[-1])
        records[name] = onp.where(valid[:, :, None], gate, onp.nan)
    return {name: layout(values) for name, values in records.items()}


def _in_time_order(stacked, order, num_steps, batch, size):
    if stacked is None:
        return onp.zeros((0, batch, size))
    ordered = onp.empty_like(stacked)
    ordered[order] = stacked
    return ordered
