r"""Stacked, bidirectional recurrent networks with torch's interface.

The models are functional: hyperparameters live on a frozen model object,
parameters in a plain dict whose keys and shapes are those of the matching
torch module's ``state_dict()``, and a call is a pure function that autograd
differentiates::

    lstm = rnngrad.LSTM(input_size=8, hidden_size=16, num_layers=2, bidirectional=True)
    params = lstm.init(seed=0)
    output, (h_n, c_n) = lstm(params, x, lengths=[5, 3, 0])

Shapes (letters as everywhere in rnngrad): T steps, B sequences, D input
features, H hidden units, P projection size, L layers, N directions
(1 or 2), O = P if P > 0 else H.

* ``x``: (T, B, D), or (B, T, D) with ``batch_first``, or unbatched (T, D).
* ``output``: (T, B, N*O) (batch-first and unbatched likewise); steps past a
  sequence's length, or masked out, are zero.
* ``h_n``: (L*N, B, O), entry ``k*N + d`` for layer k, direction d; ``c_n``
  (LSTM): (L*N, B, H). Unbatched: the B axis is dropped.
"""

import autograd.numpy as np
import numpy as onp
from autograd.builtins import container_untake
from autograd.extend import defjvp, defvjp, primitive, vspace
from autograd.tracer import getval, isbox

from ._validation import (
    as_input_array,
    check_bool,
    check_choice,
    check_float_dtype,
    check_lengths,
    check_mask,
    check_params,
    check_positive_int,
    check_probability,
    check_state_array,
    shape_of,
)
from .cells import (
    GRUCell,
    LayerNormGRUCell,
    LayerNormLSTMCell,
    LSTMCell,
    PeepholeLSTMCell,
    RNNCell,
    make_rng,
)
from .sequence import MERGE_MODES, _prefix_mask, _stack, resolve_impl

__all__ = ["Recurrent", "RNN", "LSTM", "GRU"]


class Recurrent:
    """A stacked, optionally bidirectional network of any cell.

    This is the generic model behind :class:`RNN`, :class:`LSTM` and
    :class:`GRU`; use it directly to run a custom cell with masking,
    reversal, stacking and dropout::

        net = rnngrad.Recurrent(lambda d: MyCell(d, 32), input_size=8, num_layers=2, bidirectional=True)

    Args:
        cell: a function ``input_size -> Cell`` building one layer's cell
            (it is called with D for the first layer and the merged width of
            the previous layer for the others).
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
            merged width); a custom ``cell`` function may break it.
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
        cell,
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
        if not callable(cell):
            raise TypeError(f"cell: expected a function input_size -> Cell, got {type(cell).__name__}")
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
        layer_input = self.input_size
        for k in range(self.num_layers):
            layer = tuple(cell(layer_input) for _ in range(self.num_directions))
            for built in layer:
                if not hasattr(built, "step") or not hasattr(built, "param_shapes"):
                    raise TypeError(f"cell: expected the function to return a Cell, got {type(built).__name__}")
                if built.input_size != layer_input:
                    raise ValueError(
                        f"cell: the cell built for input size {layer_input} has input_size={built.input_size}"
                    )
            sizes = [built.output_size for built in layer]
            width = sum(sizes) if self.merge_mode == "concat" else sizes[0]
            if self.merge_mode != "concat" and len(set(sizes)) > 1:
                raise ValueError(f"merge_mode: {merge_mode!r} needs equal output sizes in both directions, got {sizes}")
            if self.residual and k > 0 and width != layer_input:
                raise ValueError(
                    f"residual: layer {k} reads {layer_input} features and writes {width}; residual connections "
                    "need equal widths"
                )
            cells.append(layer)
            layer_input = width
        object.__setattr__(self, "cells", tuple(cells))
        object.__setattr__(self, "output_size", layer_input)

    # -- immutability ------------------------------------------------------
    _fields = ("input_size", "num_layers", "batch_first", "dropout", "bidirectional")
    _extras = {
        "merge_mode": "concat",
        "residual": False,
        "weight_dropout": 0.0,
        "variational_dropout": 0.0,
        "learn_initial_state": False,
    }

    def _freeze(self, **fields):
        for name, value in fields.items():
            object.__setattr__(self, name, value)

    def __setattr__(self, name, value):
        raise AttributeError(f"{type(self).__name__} is immutable: build a new one to change {name!r}")

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
                    shapes.update(
                        {f"initial_{name}{suffix}": (size,) for name, size in zip(cell.state_names, cell.state_sizes)}
                    )
        return shapes

    def init(self, seed=None, *, dtype=onp.float64, input_init="uniform", recurrent_init="uniform", forget_bias=None):
        """Draw parameters; by default as torch does, uniform in ``[-1/sqrt(H), 1/sqrt(H)]``.

        Args:
            seed: an int, a :class:`numpy.random.Generator` or ``None`` (fresh entropy).
            dtype: float64 (default) or float32; the dtype of every computation.
            input_init, recurrent_init, forget_bias: as in :meth:`rnngrad.Cell.init`
                (``"glorot"`` or ``"orthogonal"`` weights, a forget-gate bias
                such as 1.0 for the LSTM).

        Returns:
            A dict with the keys and shapes of :meth:`param_shapes`; learned
            initial states start at zero.
        """
        rng = make_rng(seed)
        dtype = check_float_dtype("dtype", dtype)
        params = {}
        for k, layer in enumerate(self.cells):
            for d, cell in enumerate(layer):
                suffix = self.key_suffix(k, d)
                drawn = cell.init(
                    rng, dtype=dtype, input_init=input_init, recurrent_init=recurrent_init, forget_bias=forget_bias
                )
                params.update({name + suffix: value for name, value in drawn.items()})
                if self.learn_initial_state:
                    params.update(
                        {
                            f"initial_{name}{suffix}": onp.zeros(size, dtype=dtype)
                            for name, size in zip(cell.state_names, cell.state_sizes)
                        }
                    )
        return params

    def split_params(self, params):
        """``params`` as ``[layer][direction]`` dicts with the cells' own key names."""
        if isbox(params):
            space = vspace(getval(params))

            def take(key):
                return _entry(params, key, space)
        else:
            take = params.__getitem__
        return [[{name: take(key) for name, key in cell_keys} for cell_keys in layer] for layer in self._layout()[1]]

    def _layout(self):
        """``(param_shapes, keys)`` with ``keys[k][d]`` the ``(name, key)`` pairs of that cell.

        Computed on the first call and kept: it depends only on the model and
        its cells, which are frozen, and every call needs it.
        """
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
            initial_state: the state before the first step, zeros if ``None``:
                an (L*N, B, O) array for single-state cells, a tuple
                ``(h_0, c_0)`` for the LSTM ((L*N, B, H) for ``c_0``).
            train: apply dropout between layers (needs ``rng`` when
                ``dropout > 0`` and there is more than one layer).
            rng: :class:`numpy.random.Generator` drawing the dropout masks.
            impl: ``"fused"``, ``"reference"`` or ``None`` (fused where available).

        Returns:
            ``(output, h_n)``, or ``(output, (h_n, c_n))`` for multi-state cells.
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

        valid = self._mask(lengths, mask, num_steps, batch, batched)
        states = self._initial_states(params, initial_state, batch, batched, dtype)
        noise_rng = self._noise_rng(train, rng)
        for layer in self.cells:
            for cell in layer:
                resolve_impl(cell, impl)

        output, finals = _stack(
            self.cells,
            self.split_params(params),
            x,
            states,
            mask=valid,
            dropout=self.dropout,
            weight_dropout=self.weight_dropout,
            variational_dropout=self.variational_dropout,
            rng=noise_rng,
            merge_mode=self.merge_mode,
            residual=self.residual,
            impl=impl,
        )

        if not batched:
            output = np.reshape(output, (num_steps, self.output_size))
        elif self.batch_first:
            output = np.swapaxes(output, 0, 1)
        num_state_arrays = len(self.cells[0][0].state_sizes)
        final = [
            _stack_states([state[i] for layer in finals for state in layer], batched) for i in range(num_state_arrays)
        ]
        return output, (final[0] if num_state_arrays == 1 else tuple(final))

    def _mask(self, lengths, mask, num_steps, batch, batched):
        if lengths is not None and mask is not None:
            raise ValueError("lengths, mask: give one of them, not both")
        if lengths is not None:
            if not batched and not isinstance(lengths, (list, tuple)) and getattr(lengths, "ndim", 0) == 0:
                lengths = [lengths]  # the one length of the one sequence
            return _prefix_mask(check_lengths(lengths, batch, num_steps), num_steps)
        if mask is not None:
            if not batched:
                return check_mask(mask, (num_steps,))[:, None]
            if self.batch_first:
                return check_mask(mask, (batch, num_steps)).T
            return check_mask(mask, (num_steps, batch))
        return None

    def _initial_states(self, params, initial_state, batch, batched, dtype):
        sizes = self.cells[0][0].state_sizes
        rows = self.num_layers * self.num_directions
        if initial_state is None and self.learn_initial_state:
            ones = onp.ones((batch, 1), dtype=dtype)
            return [
                [
                    tuple(ones * params[f"initial_{name}{self.key_suffix(k, d)}"] for name in cell.state_names)
                    for d, cell in enumerate(layer)
                ]
                for k, layer in enumerate(self.cells)
            ]
        if initial_state is None:
            return [[cell.initial_state(batch, dtype) for cell in layer] for layer in self.cells]
        if len(sizes) == 1:
            parts = (initial_state,)
        elif isinstance(getval(initial_state), (tuple, list)) and len(initial_state) == len(sizes):
            parts = tuple(initial_state[i] for i in range(len(sizes)))
        else:
            raise TypeError(
                f"initial_state: expected a tuple of {len(sizes)} arrays, got {type(initial_state).__name__}"
            )
        checked = []
        for i, part in enumerate(parts):
            name = "initial_state" if len(sizes) == 1 else f"initial_state[{i}]"
            size = self.cells[0][0].state_sizes[i]
            expected = (rows, batch, size) if batched else (rows, size)
            part = check_state_array(name, part, expected, dtype)
            checked.append(part if batched else np.reshape(part, (rows, 1, size)))
        return [
            [tuple(part[k * self.num_directions + d] for part in checked) for d in range(self.num_directions)]
            for k in range(self.num_layers)
        ]

    def _noise_rng(self, train, rng):
        """The generator for training-time noise, or ``None`` when there is none to draw."""
        check_bool("train", train)
        if rng is not None and not isinstance(rng, onp.random.Generator):
            raise TypeError(f"rng: expected a numpy.random.Generator or None, got {type(rng).__name__}")
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


@primitive
def _entry(params, key, space):
    """``params[key]`` for a traced dict, as autograd's own indexing, given ``space``, the dict's vector space.

    Autograd's indexing rebuilds that space from every entry of the dict for
    the gradient of each entry it takes, work quadratic in the number of
    parameters; :meth:`Recurrent.split_params` builds it once per call.
    """
    return params[key]


defvjp(_entry, lambda ans, params, key, space: lambda g: container_untake(g, key, space))
defjvp(_entry, "same")


def _stack_states(parts, batched):
    """The final states of every layer and direction as one (L*N, B, S) array, or (L*N, S) unbatched.

    As ``np.stack``, in fewer tape nodes when traced: autograd's stack records
    two per array and a concatenate, while one concatenate and one reshape
    compute the same array (a single traced array needs only the reshape).
    Untraced, NumPy's own stack skips autograd's wrappers.
    """
    if not any(isbox(part) for part in parts):
        stacked = onp.stack(parts)
        return stacked if batched else stacked.reshape(stacked.shape[0], stacked.shape[2])
    shapes = {shape_of(part) for part in parts}
    if len(shapes) == 1 and len(shape := shapes.pop()) == 2:
        joined = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)
        return np.reshape(joined, (len(parts), *shape) if batched else (len(parts), shape[1]))
    stacked = np.stack(parts)
    return stacked if batched else np.reshape(stacked, (stacked.shape[0], stacked.shape[2]))


class RNN(Recurrent):
    """Elman recurrent network, torch's ``nn.RNN``; each layer an :class:`RNNCell`.

    The arguments up to ``bidirectional`` are torch's, with its defaults.

    Args:
        input_size: D, the number of input features.
        hidden_size: H, the number of hidden units of each layer and direction.
        num_layers: L, the number of stacked layers.
        nonlinearity: ``"tanh"`` or ``"relu"``.
        bias: whether the cells have ``bias_ih`` and ``bias_hh``.
        batch_first: whether ``x``, ``mask`` and ``output`` are batch-first, (B, T, ...).
        dropout: the dropout rate on the outputs of every layer but the last, in training only.
        bidirectional: whether every layer has a reverse direction too.
        **options: beyond torch, keyword-only (see :class:`Recurrent`): ``merge_mode``,
            ``residual``, ``weight_dropout``, ``variational_dropout``, ``learn_initial_state``.

    Returns from a call: ``(output, h_n)`` (see :class:`Recurrent`).
    """

    _fields = (
        "input_size",
        "hidden_size",
        "num_layers",
        "nonlinearity",
        "bias",
        "batch_first",
        "dropout",
        "bidirectional",
    )

    def __init__(
        self,
        input_size,
        hidden_size,
        num_layers=1,
        nonlinearity="tanh",
        bias=True,
        batch_first=False,
        dropout=0.0,
        bidirectional=False,
        **options,
    ):
        self._freeze(hidden_size=hidden_size, nonlinearity=nonlinearity, bias=bias)
        super().__init__(
            lambda d: RNNCell(d, hidden_size, bias=bias, nonlinearity=nonlinearity),
            input_size,
            num_layers,
            batch_first,
            dropout,
            bidirectional,
            **options,
        )


class LSTM(Recurrent):
    """Long short-term memory network, torch's ``nn.LSTM``; each layer an :class:`LSTMCell`.

    The arguments up to ``proj_size`` are torch's, with its defaults.

    Args:
        input_size: D, the number of input features.
        hidden_size: H, the number of hidden units of each layer and direction.
        num_layers: L, the number of stacked layers.
        bias: whether the cells have ``bias_ih`` and ``bias_hh``.
        batch_first: whether ``x``, ``mask`` and ``output`` are batch-first, (B, T, ...).
        dropout: the dropout rate on the outputs of every layer but the last, in training only.
        bidirectional: whether every layer has a reverse direction too.
        proj_size: P, 0 (default) for no projection, else ``0 < P < H``.
        peephole: use :class:`PeepholeLSTMCell` (keyword-only).
        layer_norm: use :class:`LayerNormLSTMCell` (keyword-only).
        **options: beyond torch, keyword-only (see :class:`Recurrent`): ``merge_mode``,
            ``residual``, ``weight_dropout``, ``variational_dropout``, ``learn_initial_state``.

    Returns from a call: ``(output, (h_n, c_n))`` (see :class:`Recurrent`).
    """

    _fields = (
        "input_size",
        "hidden_size",
        "num_layers",
        "bias",
        "batch_first",
        "dropout",
        "bidirectional",
        "proj_size",
    )
    _extras = {**Recurrent._extras, "peephole": False, "layer_norm": False}

    def __init__(
        self,
        input_size,
        hidden_size,
        num_layers=1,
        bias=True,
        batch_first=False,
        dropout=0.0,
        bidirectional=False,
        proj_size=0,
        *,
        peephole=False,
        layer_norm=False,
        **options,
    ):
        check_bool("peephole", peephole)
        check_bool("layer_norm", layer_norm)
        if peephole and layer_norm:
            raise ValueError("peephole, layer_norm: a cell with both is not provided; choose one")
        cell_class = PeepholeLSTMCell if peephole else LayerNormLSTMCell if layer_norm else LSTMCell
        self._freeze(hidden_size=hidden_size, bias=bias, proj_size=proj_size, peephole=peephole, layer_norm=layer_norm)
        super().__init__(
            lambda d: cell_class(d, hidden_size, bias=bias, proj_size=proj_size),
            input_size,
            num_layers,
            batch_first,
            dropout,
            bidirectional,
            **options,
        )


class GRU(Recurrent):
    """Gated recurrent unit network, torch's ``nn.GRU``; each layer a :class:`GRUCell`.

    The arguments up to ``bidirectional`` are torch's, with its defaults.

    Args:
        input_size: D, the number of input features.
        hidden_size: H, the number of hidden units of each layer and direction.
        num_layers: L, the number of stacked layers.
        bias: whether the cells have ``bias_ih`` and ``bias_hh``.
        batch_first: whether ``x``, ``mask`` and ``output`` are batch-first, (B, T, ...).
        dropout: the dropout rate on the outputs of every layer but the last, in training only.
        bidirectional: whether every layer has a reverse direction too.
        reset_after: ``False`` for the original reset-before GRU of Cho et al.
            (keyword-only; see :class:`GRUCell`).
        layer_norm: use :class:`LayerNormGRUCell` (keyword-only; reset-after only).
        **options: beyond torch, keyword-only (see :class:`Recurrent`): ``merge_mode``,
            ``residual``, ``weight_dropout``, ``variational_dropout``, ``learn_initial_state``.

    Returns from a call: ``(output, h_n)`` (see :class:`Recurrent`).
    """

    _fields = ("input_size", "hidden_size", "num_layers", "bias", "batch_first", "dropout", "bidirectional")
    _extras = {**Recurrent._extras, "reset_after": True, "layer_norm": False}

    def __init__(
        self,
        input_size,
        hidden_size,
        num_layers=1,
        bias=True,
        batch_first=False,
        dropout=0.0,
        bidirectional=False,
        *,
        reset_after=True,
        layer_norm=False,
        **options,
    ):
        check_bool("reset_after", reset_after)
        check_bool("layer_norm", layer_norm)
        if layer_norm and not reset_after:
            raise ValueError("layer_norm, reset_after: the layer-normalized GRU is reset-after only")
        self._freeze(hidden_size=hidden_size, bias=bias, reset_after=reset_after, layer_norm=layer_norm)

        def make_cell(d):
            if layer_norm:
                return LayerNormGRUCell(d, hidden_size, bias=bias)
            return GRUCell(d, hidden_size, bias=bias, reset_after=reset_after)

        super().__init__(make_cell, input_size, num_layers, batch_first, dropout, bidirectional, **options)
