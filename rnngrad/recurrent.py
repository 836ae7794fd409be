r"""The generic stacked, bidirectional network of any cell, behind :class:`~rnngrad.RNN`, LSTM and GRU.

A model is frozen (:class:`rnngrad.utilities.Frozen`, as a cell is) and holds
hyperparameters and the cells of every layer and direction; its parameters
are a plain dict, and a call is a pure function that autograd differentiates::

    net = rnngrad.Recurrent(lambda d: MyCell(d, 32), input_size=8, num_layers=2, bidirectional=True)
    params = net.init(seed=0)
    output, h_n = net(params, x, lengths=[5, 3, 0])

Shapes (T steps, B sequences, D features, L layers, N directions, O each
cell's output size, S a state array's size): ``x`` (T, B, D), or (B, T, D)
with ``batch_first``, or unbatched (T, D); ``output`` (T, B, N*O) (O when
``merge_mode`` is ``sum`` or ``mean``), zero at masked steps; each final state
array (L*N, B, S), entry ``k*N + d`` for layer k, direction d.
"""

import dataclasses

import autograd.numpy as np
import numpy as onp

from . import _runners
from ._tape import entry_taker, stack_states
from ._validation import (
    MERGE_MODES,
    as_input_array,
    check_bool,
    check_choice,
    check_float_dtype,
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
from .sequence import select_kernels
from .utilities import Frozen, make_rng

__all__ = ["Recurrent", "PreparedCall"]


@dataclasses.dataclass(frozen=True)
class PreparedCall:
    """A model call's arguments, checked and in the stack's layout (:meth:`Recurrent.prepare`).

    Attributes:
        inputs: (T, B, D), time-major; an unbatched call has B = 1.
        mask: (T, B) boolean, or ``None`` when every step counts.
        states: ``states[k][d]``, the state tuple each cell starts from.
        params: ``params[k][d]``, each cell's parameter dict with its own key names.
        rng: the generator of the training noise, or ``None`` when there is none to draw.
        batched: whether the call's ``x`` had a batch axis.
    """

    inputs: object
    mask: object
    states: list
    params: list
    rng: object
    batched: bool


class Recurrent(Frozen):
    """A stacked, optionally bidirectional network of any cell.

    This is the generic model behind :class:`~rnngrad.RNN`,
    :class:`~rnngrad.LSTM` and :class:`~rnngrad.GRU`; use it directly to run
    a custom cell with masking, reversal, stacking and dropout.

    Args:
        make_cell: a function ``input_size -> cell`` building one layer's
            cell (it is called with D for the first layer and the merged width
            of the previous layer for the others); any object following the
            cell protocol (:class:`~rnngrad.AbstractCell`).
        input_size: D.
        num_layers: L, the number of stacked layers.
        batch_first: whether ``x`` and ``output`` are (B, T, ...) (the
            ``mask`` then is (B, T) too).
        dropout: rate of dropout on the outputs of every layer but the last,
            applied only in training (``train=True`` with an ``rng``).
        bidirectional: add a reverse direction to every layer.
        merge_mode: how the two directions' outputs combine, for the next
            layer and for ``output``: ``"concat"`` (torch's, width N*O),
            ``"sum"`` or ``"mean"`` (width O).
        residual: add each layer's input to its output for layers 1 to L-1
            (He et al. 2016). Their widths must agree, which holds for the
            built-in models (every layer above the first reads and writes the
            merged width); a custom ``make_cell`` may break it.
        weight_dropout: DropConnect rate on every ``weight_hh`` in training
            (the weight-dropped LSTM of Merity et al. 2017).
        variational_dropout: rate of dropout on every layer's input in
            training with one mask per sequence shared by all steps (Gal and
            Ghahramani 2016).
        learn_initial_state: add parameters ``initial_{name}_l{k}[_reverse]``
            of shape (S,), one per state array of each cell (``h``, and ``c``
            for the LSTM), broadcast over the batch and used when the call
            gives no ``initial_state``. They start at zero.

    Parameter keys are the cell's own names with the suffix ``_l{k}``, plus
    ``_reverse`` for the reverse direction (``weight_ih_l1_reverse``).
    """

    def __init__(
        self,
        make_cell,
        input_size,
        num_layers=1,
        batch_first=False,
        dropout=0.0,
        bidirectional=False,
        *,
        merge_mode="concat",
        residual=False,
        weight_dropout=0.0,
        variational_dropout=0.0,
        learn_initial_state=False,
    ):
        if not callable(make_cell):
            raise TypeError(f"make_cell: expected a function input_size -> cell, got {type(make_cell).__name__}")
        self._freeze(
            input_size=check_positive_int("input_size", input_size),
            num_layers=check_positive_int("num_layers", num_layers),
            batch_first=check_bool("batch_first", batch_first),
            dropout=check_probability("dropout", dropout),
            bidirectional=check_bool("bidirectional", bidirectional),
            merge_mode=check_choice("merge_mode", merge_mode, MERGE_MODES),
            residual=check_bool("residual", residual),
            weight_dropout=check_probability("weight_dropout", weight_dropout),
            variational_dropout=check_probability("variational_dropout", variational_dropout),
            learn_initial_state=check_bool("learn_initial_state", learn_initial_state),
        )
        cells = []
        width = self.input_size
        for _ in range(self.num_layers):
            layer = tuple(make_cell(width) for _ in range(self.num_directions))
            cells.append(layer)
            # the layout check of the layers built so far gives the width the next layer reads
            width = check_stack_layout("make_cell", cells, self.input_size, self.merge_mode, self.residual)[-1]
        states = {len(cell.state_sizes) for layer in cells for cell in layer}
        if len(states) != 1:
            raise ValueError(f"make_cell: every cell must have the same number of state arrays, got {sorted(states)}")
        self._freeze(cells=tuple(cells), output_size=width)

    # -- hyperparameters ---------------------------------------------------
    _fields = ("input_size", "num_layers", "batch_first", "dropout", "bidirectional")
    _extras = {
        "merge_mode": "concat",
        "residual": False,
        "weight_dropout": 0.0,
        "variational_dropout": 0.0,
        "learn_initial_state": False,
    }

    def _options(self):
        """The hyperparameters: torch's, then the extras that differ from their defaults."""
        options = {name: getattr(self, name) for name in self._fields}
        options.update(
            {name: getattr(self, name) for name, default in self._extras.items() if getattr(self, name) != default}
        )
        return options

    def __repr__(self):
        args = ", ".join(f"{name}={value!r}" for name, value in self._options().items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other):
        return type(self) is type(other) and self.cells == other.cells and self._options() == other._options()

    def __hash__(self):
        return hash((type(self), self.cells, tuple(self._options().items())))

    # -- structure ---------------------------------------------------------
    @property
    def num_directions(self):
        """N, the number of directions (2 if bidirectional, else 1)."""
        return 2 if self.bidirectional else 1

    @staticmethod
    def key_suffix(layer, direction):
        """``_l{layer}`` plus ``_reverse`` for direction 1, as in torch."""
        return f"_l{layer}" + ("_reverse" if direction else "")

    def param_shapes(self):
        """``{key: shape}`` in torch's ``state_dict`` order (learned initial states after each cell's)."""
        shapes = {}
        for k, layer in enumerate(self.cells):
            for d, cell in enumerate(layer):
                suffix = self.key_suffix(k, d)
                shapes.update({name + suffix: shape for name, shape in cell.param_shapes().items()})
                if self.learn_initial_state:
                    shapes.update({key: (size,) for key, size in self._initial_state_keys(cell, suffix)})
        return shapes

    @staticmethod
    def _initial_state_keys(cell, suffix):
        return [(f"initial_{name}{suffix}", size) for name, size in zip(cell.state_names, cell.state_sizes)]

    def init(self, seed=None, *, dtype=onp.float64, input_init="uniform", recurrent_init="uniform", forget_bias=None):
        """Draw parameters; by default as torch does, uniform in ``[-1/sqrt(H), 1/sqrt(H)]``.

        Each cell draws its own with its ``init`` (:meth:`rnngrad.Cell.init`),
        layer by layer and forward before reverse, from one generator.

        Args:
            seed: an int, a :class:`numpy.random.Generator` or ``None`` (fresh entropy).
            dtype: float64 (default) or float32; the dtype of every computation.
            input_init: how to draw each ``weight_ih``: ``"uniform"`` (torch's),
                ``"glorot"`` or ``"orthogonal"``.
            recurrent_init: how to draw each ``weight_hh``, the same choices.
            forget_bias: the forget gate's total bias in every cell (1.0 is
                usual for the LSTM), or ``None`` to leave the draw; an error
                for cells without a forget gate.

        Returns:
            A dict with the keys and shapes of :meth:`param_shapes`; learned
            initial states start at zero.
        """
        rng = make_rng(seed)
        dtype = check_float_dtype("dtype", dtype)
        params = {}
        for k, layer in enumerate(self.cells):
            for d, cell in enumerate(layer):
                if not callable(getattr(cell, "init", None)):
                    raise TypeError(f"{type(cell).__name__} has no init(); draw its parameters yourself")
                suffix = self.key_suffix(k, d)
                drawn = cell.init(
                    rng, dtype=dtype, input_init=input_init, recurrent_init=recurrent_init, forget_bias=forget_bias
                )
                params.update({name + suffix: value for name, value in drawn.items()})
                if self.learn_initial_state:
                    params.update({key: onp.zeros(size, dtype) for key, size in self._initial_state_keys(cell, suffix)})
        return params

    def split_params(self, params):
        """``params`` as ``[layer][direction]`` dicts with the cells' own key names."""
        take = entry_taker(params)
        return [[{name: take(key) for name, key in cell_keys} for cell_keys in layer] for layer in self._layout()[1]]

    def _layout(self):
        """``(param_shapes, keys)``, ``keys[k][d]`` the ``(name, key)`` pairs of a cell; kept (the model is frozen)."""
        layout = self.__dict__.get("_call_layout")
        if layout is None:
            keys = tuple(
                tuple(
                    tuple((name, name + self.key_suffix(k, d)) for name in cell.param_shapes())
                    for d, cell in enumerate(layer)
                )
                for k, layer in enumerate(self.cells)
            )
            layout = (self.param_shapes(), keys)
            object.__setattr__(self, "_call_layout", layout)
        return layout

    # -- the call ----------------------------------------------------------
    def __call__(self, params, x, *, lengths=None, mask=None, initial_state=None, train=False, rng=None, impl=None):
        """Run the network.

        Args:
            params: dict with the keys and shapes of :meth:`param_shapes`.
            x: (T, B, D), (B, T, D) if ``batch_first``, or unbatched (T, D).
            lengths: B integers in [0, T]; step t of sequence b is valid when
                t < lengths[b]. For unbatched input, one integer.
            mask: boolean (T, B) ((B, T) if ``batch_first``, (T,) unbatched),
                true at valid steps; any pattern is allowed. Give ``lengths``
                or ``mask``, not both.
            initial_state: the state before the first step, zeros (or the
                learned initial state) if ``None``: an (L*N, B, O) array for
                single-state cells, a tuple ``(h_0, c_0)`` for the LSTM
                ((L*N, B, H) for ``c_0``); unbatched, without the B axis.
            train: apply dropout (needs ``rng`` when a dropout rate applies).
            rng: :class:`numpy.random.Generator` drawing the dropout masks.
            impl: ``"fused"``, ``"reference"`` or ``None`` (fused where available).

        Returns:
            ``(output, h_n)``, or ``(output, (h_n, c_n))`` for multi-state cells.
        """
        call = self.prepare(params, x, lengths=lengths, mask=mask, initial_state=initial_state, train=train, rng=rng)
        output, finals = _runners.run_stack(
            self.cells,
            select_kernels(self.cells, impl),
            call.params,
            call.inputs,
            call.states,
            mask=call.mask,
            dropout_rate=self.dropout,
            weight_dropout=self.weight_dropout,
            variational_dropout=self.variational_dropout,
            rng=call.rng,
            merge_mode=self.merge_mode,
            residual=self.residual,
        )
        return self.finish(call, output, finals)

    def prepare(self, params, x, *, lengths=None, mask=None, initial_state=None, train=False, rng=None):
        """The checked, time-major arguments of a call, as the stack runs on them.

        Takes the arguments of a call (``impl`` aside) and returns a
        :class:`PreparedCall`; :meth:`finish` turns the stack's result back
        into what the call returns. Tools that run the stack their own way
        (:func:`rnngrad.trace.trace`) start here.
        """
        dtype = check_params(params, self._layout()[0])
        x = as_input_array("x", x, dtype)
        shape = shape_of(x)
        layout = "(B, T, D)" if self.batch_first else "(T, B, D)"
        if len(shape) not in (2, 3):
            raise ValueError(f"x: expected a 3-d array {layout} or an unbatched (T, D), got shape {shape}")
        if shape[-1] != self.input_size:
            raise ValueError(f"x: expected the last axis to have size input_size={self.input_size}, got shape {shape}")
        batched = len(shape) == 3
        if not batched:
            x = np.reshape(x, (shape[0], 1, shape[1]))
        elif self.batch_first:
            x = np.swapaxes(x, 0, 1)
        num_steps, batch = shape_of(x)[:2]
        return PreparedCall(
            inputs=x,
            mask=self._mask(lengths, mask, num_steps, batch, batched),
            states=self._initial_states(params, initial_state, batch, batched, dtype),
            params=self.split_params(params),
            rng=self._noise_rng(train, rng),
            batched=batched,
        )

    def finish(self, call, output, finals):
        """What a call returns, from the stack's time-major ``output`` and ``finals[k][d]`` for ``call``."""
        num_steps = shape_of(output)[0]
        if not call.batched:
            output = np.reshape(output, (num_steps, self.output_size))
        elif self.batch_first:
            output = np.swapaxes(output, 0, 1)
        count = len(self.cells[0][0].state_sizes)
        final = [stack_states([state[i] for layer in finals for state in layer], call.batched) for i in range(count)]
        return output, (final[0] if count == 1 else tuple(final))

    def _mask(self, lengths, mask, num_steps, batch, batched):
        if lengths is not None and mask is not None:
            raise ValueError("lengths, mask: give one of them, not both")
        if lengths is not None:
            if not batched and not isinstance(lengths, (list, tuple)) and getattr(lengths, "ndim", 0) == 0:
                lengths = [lengths]  # the one length of the one sequence
            return _runners.prefix_mask(check_lengths(lengths, batch, num_steps), num_steps)
        if mask is not None:
            if not batched:
                return check_mask(mask, (num_steps,))[:, None]
            if self.batch_first:
                return check_mask(mask, (batch, num_steps)).T
            return check_mask(mask, (num_steps, batch))
        return None

    def _initial_states(self, params, initial_state, batch, batched, dtype):
        """``states[k][d]``, the state tuple each cell starts from."""
        if initial_state is None and self.learn_initial_state:
            ones = onp.ones((batch, 1), dtype=dtype)
            return [
                [
                    tuple(ones * params[key] for key, _ in self._initial_state_keys(cell, self.key_suffix(k, d)))
                    for d, cell in enumerate(layer)
                ]
                for k, layer in enumerate(self.cells)
            ]
        if initial_state is None:
            return [[cell.initial_state(batch, dtype) for cell in layer] for layer in self.cells]
        rows = self.num_layers * self.num_directions
        sizes = self.cells[0][0].state_sizes
        leading = (rows, batch) if batched else (rows,)
        parts = check_state("initial_state", initial_state, sizes, leading, dtype, bare=True)
        if not batched:
            parts = tuple(np.reshape(part, (rows, 1, size)) for part, size in zip(parts, sizes))
        N = self.num_directions
        return [[tuple(part[k * N + d] for part in parts) for d in range(N)] for k in range(self.num_layers)]

    def _noise_rng(self, train, rng):
        """The generator for training-time noise, or ``None`` when there is none to draw."""
        check_bool("train", train)
        check_rng("rng", rng)
        if not train:
            return None
        rates = {
            "dropout": self.dropout if self.num_layers > 1 else 0.0,
            "weight_dropout": self.weight_dropout,
            "variational_dropout": self.variational_dropout,
        }
        active = {name: rate for name, rate in rates.items() if rate}
        if not active:
            return None
        if rng is None:
            settings = ", ".join(f"{name}={rate}" for name, rate in active.items())
            raise ValueError(
                f"rng: training with {settings} needs a numpy.random.Generator for the dropout masks, got None"
            )
        return rng
