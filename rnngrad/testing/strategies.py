# long: every strategy of the suite lives in this one module, as the style guide asks, each documented and tested
"""Hypothesis strategies that draw whole recurrent-network problems.

Every strategy takes keyword-only arguments that bound or pin what it draws;
leave one at its default to let Hypothesis explore it. The building blocks
(:func:`cells`, :func:`models`, :func:`lengths`, :func:`masks`,
:func:`sequences`, :func:`parameters`) compose into :func:`problems`, which
draws a model, its parameters, inputs and (optionally) lengths or a mask and
an initial state, as a :class:`Problem`. :func:`make_problem` builds one
deterministically, for ``@example`` edge cases.

Inputs are drawn in ``[-bound, bound]`` (default 2) and parameters by the
model's own initialization (uniform in ``[-1/sqrt(H), 1/sqrt(H)]``), which
keeps the gates away from saturation: gradients stay informative and
finite differences accurate.
"""

from dataclasses import dataclass, replace

import hypothesis.extra.numpy as hnp
import numpy as onp
from hypothesis import strategies as st

from ..cells import GRUCell, LayerNormGRUCell, LayerNormLSTMCell, LSTMCell, MGUCell, PeepholeLSTMCell, RNNCell
from ..models import GRU, LSTM, RNN

__all__ = [
    "KINDS",
    "Problem",
    "cells",
    "models",
    "lengths",
    "masks",
    "sequences",
    "parameters",
    "problems",
    "make_problem",
    "CellProblem",
    "cell_problems",
    "VARIANT_KINDS",
    "random_params",
    "variant_cells",
    "variant_models",
]

#: The built-in model kinds the strategies draw: ``"rnn"``, ``"lstm"``, ``"gru"``.
KINDS = ("rnn", "lstm", "gru")
_CELLS = {"rnn": RNNCell, "lstm": LSTMCell, "gru": GRUCell}
_MODELS = {"rnn": RNN, "lstm": LSTM, "gru": GRU}
_MASKINGS = ("none", "lengths", "mask")


def _check_kinds(kinds):
    kinds = tuple(kinds)
    unknown = [kind for kind in kinds if kind not in KINDS]
    if not kinds or unknown:
        raise ValueError(f"kinds: expected a non-empty subset of {KINDS}, got {kinds}")
    return kinds


def _maybe(draw, value, strategy, label):
    return draw(strategy, label=label) if value is None else value


@st.composite
def _options(draw, kind, hidden_size, bias, projection, nonlinearity=None):
    options = {"bias": _maybe(draw, bias, st.booleans(), "bias")}
    if kind == "rnn":
        options["nonlinearity"] = _maybe(draw, nonlinearity, st.sampled_from(["tanh", "relu"]), "nonlinearity")
    if kind == "lstm" and projection and hidden_size > 1:
        options["proj_size"] = draw(st.integers(0, hidden_size - 1), label="proj_size")
    return options


@st.composite
def cells(draw, *, kinds=KINDS, input_size=None, max_input_size=4, max_hidden_size=4, bias=None, projection=True):
    """A built-in cell (:class:`RNNCell`, :class:`LSTMCell` or :class:`GRUCell`) with drawn options.

    Args:
        kinds: the cell kinds to draw from, a subset of ``("rnn", "lstm", "gru")``.
        input_size: D; drawn in ``[1, max_input_size]`` when ``None``.
        max_input_size: upper bound for a drawn D.
        max_hidden_size: upper bound for H (drawn in ``[1, max_hidden_size]``).
        bias: pin the ``bias`` option, or ``None`` to draw it.
        projection: allow an LSTM ``proj_size`` P > 0 (drawn in ``[0, H-1]``).
    """
    kind = draw(st.sampled_from(_check_kinds(kinds)), label="kind")
    input_size = _maybe(draw, input_size, st.integers(1, max_input_size), "input_size")
    hidden_size = draw(st.integers(1, max_hidden_size), label="hidden_size")
    return _CELLS[kind](input_size, hidden_size, **draw(_options(kind, hidden_size, bias, projection)))


@st.composite
def models(
    draw,
    *,
    kinds=KINDS,
    max_input_size=4,
    max_hidden_size=4,
    max_layers=3,
    bidirectional=None,
    batch_first=None,
    bias=None,
    nonlinearity=None,
    projection=True,
):
    """A built-in model (:class:`RNN`, :class:`LSTM` or :class:`GRU`) with drawn sizes and options.

    Args:
        kinds: the model kinds to draw from, a subset of ``("rnn", "lstm", "gru")``.
        max_input_size: D is drawn in ``[1, max_input_size]``.
        max_hidden_size: H is drawn in ``[1, max_hidden_size]``.
        max_layers: L is drawn in ``[1, max_layers]``.
        bidirectional: pin it, or ``None`` to draw it.
        batch_first: pin it, or ``None`` to draw it.
        bias: pin it, or ``None`` to draw it.
        nonlinearity: pin the RNN's ``"tanh"`` or ``"relu"``, or ``None`` to draw it.
        projection: allow an LSTM ``proj_size`` P > 0.
    """
    kind = draw(st.sampled_from(_check_kinds(kinds)), label="kind")
    hidden_size = draw(st.integers(1, max_hidden_size), label="hidden_size")
    return _MODELS[kind](
        input_size=draw(st.integers(1, max_input_size), label="input_size"),
        hidden_size=hidden_size,
        num_layers=draw(st.integers(1, max_layers), label="num_layers"),
        bidirectional=_maybe(draw, bidirectional, st.booleans(), "bidirectional"),
        batch_first=_maybe(draw, batch_first, st.booleans(), "batch_first"),
        **draw(_options(kind, hidden_size, bias, projection, nonlinearity)),
    )


def lengths(*, num_steps, batch, min_length=0):
    """Sequence lengths: a (B,) int64 array with values in ``[min_length, T]``.

    Args:
        num_steps: T.
        batch: B.
        min_length: the smallest length allowed (0 gives empty sequences).
    """
    values = st.lists(st.integers(min(min_length, num_steps), num_steps), min_size=batch, max_size=batch)
    return values.map(lambda drawn: onp.asarray(drawn, dtype=onp.int64))


@st.composite
def masks(draw, *, num_steps, batch, prefix=None):
    """A (T, B) boolean mask, true at valid steps.

    Args:
        num_steps: T.
        batch: B.
        prefix: ``True`` for prefix masks (from :func:`lengths`), ``False``
            for any pattern (gaps, leading padding), ``None`` to draw either.
    """
    prefix = _maybe(draw, prefix, st.booleans(), "prefix")
    if prefix:
        drawn = draw(lengths(num_steps=num_steps, batch=batch), label="lengths")
        return onp.arange(num_steps)[:, None] < drawn[None, :]
    return draw(hnp.arrays(onp.bool_, (num_steps, batch)), label="mask")


def sequences(*, shape, dtype=onp.float64, bound=2.0):
    """An input array of ``shape`` with finite values in ``[-bound, bound]`` (no subnormals).

    Args:
        shape: e.g. (T, B, D).
        dtype: float64 or float32.
        bound: the largest magnitude; the default 2 keeps the gates of an
            initialized cell well inside their linear range.
    """
    elements = hnp.from_dtype(
        onp.dtype(dtype),
        min_value=-bound,
        max_value=bound,
        allow_nan=False,
        allow_infinity=False,
        allow_subnormal=False,
    )
    return hnp.arrays(dtype, shape, elements=elements)


def parameters(model, *, dtype=onp.float64):
    """Parameters of ``model`` (or of a cell): its own initialization from a drawn seed.

    Args:
        model: a model or a cell; anything with ``init(seed, dtype=...)``.
        dtype: float64 or float32.
    """
    return st.integers(0, 2**32 - 1).map(lambda seed: model.init(seed, dtype=dtype))


@dataclass(frozen=True, eq=False)
class Problem:
    """One drawn call of a model: everything needed to run it.

    ``x``, ``mask`` and ``initial_state`` are in the model's own layout
    (batch-first, unbatched); :attr:`valid` gives the mask time-major.
    """

    model: object
    params: dict
    x: onp.ndarray
    lengths: object = None
    mask: object = None
    initial_state: object = None

    @property
    def batched(self):
        return self.x.ndim == 3

    @property
    def num_steps(self):
        return self.x.shape[1 if self.batched and self.model.batch_first else 0]

    @property
    def batch(self):
        return self.x.shape[0 if self.model.batch_first else 1] if self.batched else 1

    @property
    def valid(self):
        """The (T, B) boolean mask of valid steps, time-major, whatever the layout."""
        if self.lengths is not None:
            return onp.arange(self.num_steps)[:, None] < onp.reshape(self.lengths, (1, -1))
        if self.mask is None:
            return onp.ones((self.num_steps, self.batch), bool)
        mask = onp.asarray(self.mask)
        if not self.batched:
            return mask[:, None]
        return mask.T if self.model.batch_first else mask

    def run(self, params=None, x=None, initial_state=None, *, impl=None, **kwargs):
        """Call the model on this problem; ``params``, ``x`` and ``initial_state`` override the drawn ones."""
        return self.model(
            self.params if params is None else params,
            self.x if x is None else x,
            lengths=self.lengths,
            mask=self.mask,
            initial_state=self.initial_state if initial_state is None else initial_state,
            impl=impl,
            **kwargs,
        )

    def replace(self, **changes):
        return replace(self, **changes)


def _initial_state(model, rng, batch, batched, dtype):
    rows = model.num_layers * model.num_directions
    shape = (rows, batch) if batched else (rows,)
    parts = tuple(rng.uniform(-1, 1, size=shape + (size,)).astype(dtype) for size in model.cells[0][0].state_sizes)
    return parts[0] if len(parts) == 1 else parts


@st.composite
def problems(
    draw,
    *,
    kinds=KINDS,
    min_steps=1,
    max_steps=5,
    max_batch=3,
    max_input_size=3,
    max_hidden_size=4,
    max_layers=3,
    bidirectional=None,
    batch_first=False,
    batched=True,
    masking=_MASKINGS,
    initial_state=None,
    bias=None,
    nonlinearity=None,
    projection=True,
    dtype=onp.float64,
    bound=2.0,
):
    """A whole :class:`Problem`: model, parameters, inputs, lengths or mask, initial state.

    Args:
        kinds: the model kinds to draw from, a subset of ``("rnn", "lstm", "gru")``.
        min_steps: the smallest T (0 allows empty sequences).
        max_steps: the largest T.
        max_batch: B is drawn in ``[1, max_batch]``.
        max_input_size: D is drawn in ``[1, max_input_size]``.
        max_hidden_size: H is drawn in ``[1, max_hidden_size]``.
        max_layers: L is drawn in ``[1, max_layers]``.
        bidirectional: pin it, or ``None`` to draw it.
        batch_first: pin it (default ``False``: time-major), or ``None`` to draw it.
        batched: pin it (default ``True``), or ``None`` to draw it; unbatched
            input is (T, D) with B = 1.
        masking: which of ``"none"``, ``"lengths"`` (prefix masks through the
            ``lengths`` argument) and ``"mask"`` (any boolean pattern) to draw.
        initial_state: ``True`` to draw a non-zero initial state, ``False``
            for zeros, ``None`` to draw either.
        bias: pin the models' ``bias``, or ``None`` to draw it.
        nonlinearity: pin the RNN's nonlinearity, or ``None`` to draw it.
        projection: allow an LSTM ``proj_size`` P > 0.
        dtype: float64 or float32, of the parameters and the inputs.
        bound: inputs lie in ``[-bound, bound]``.
    """
    model = draw(
        models(
            kinds=kinds,
            max_input_size=max_input_size,
            max_hidden_size=max_hidden_size,
            max_layers=max_layers,
            bidirectional=bidirectional,
            batch_first=batch_first,
            bias=bias,
            nonlinearity=nonlinearity,
            projection=projection,
        )
    )
    batched = _maybe(draw, batched, st.booleans(), "batched")
    num_steps = draw(st.integers(min_steps, max_steps), label="T")
    batch = draw(st.integers(1, max_batch), label="B") if batched else 1
    params = draw(parameters(model, dtype=dtype), label="params")
    if batched:
        shape = (batch, num_steps) if model.batch_first else (num_steps, batch)
    else:
        shape = (num_steps,)
    x = draw(sequences(shape=shape + (model.input_size,), dtype=dtype, bound=bound), label="x")
    masking = draw(st.sampled_from(tuple(masking)), label="masking")
    drawn_lengths = drawn_mask = None
    if masking == "lengths":
        drawn_lengths = draw(lengths(num_steps=num_steps, batch=batch), label="lengths")
        if not batched:
            drawn_lengths = int(drawn_lengths[0])
    elif masking == "mask":
        time_major = draw(masks(num_steps=num_steps, batch=batch, prefix=False), label="mask")
        drawn_mask = time_major[:, 0] if not batched else time_major.T if model.batch_first else time_major
    state = None
    if _maybe(draw, initial_state, st.booleans(), "with_initial_state"):
        seed = draw(st.integers(0, 2**32 - 1), label="state_seed")
        state = _initial_state(model, onp.random.default_rng(seed), batch, batched, dtype)
    return Problem(model, params, x, drawn_lengths, drawn_mask, state)


def make_problem(
    kind,
    *,
    input_size=2,
    hidden_size=3,
    num_layers=1,
    bidirectional=False,
    batch_first=False,
    num_steps=3,
    batch=2,
    batched=True,
    lengths=None,
    mask=None,
    initial_state=False,
    seed=0,
    dtype=onp.float64,
    bound=2.0,
    **options,
):
    """A :class:`Problem` built deterministically from ``seed``: an edge case to pin with ``@example``.

    Args:
        kind: ``"rnn"``, ``"lstm"`` or ``"gru"``.
        input_size, hidden_size, num_layers, bidirectional, batch_first: the model.
        num_steps: T.
        batch: B (ignored when ``batched`` is false).
        batched: ``False`` for an unbatched (T, D) input.
        lengths: B lengths (one int when unbatched), or ``None``.
        mask: a boolean mask in the model's layout, or ``None``.
        initial_state: ``True`` for a random non-zero initial state.
        seed: seeds the parameters, the inputs and the initial state.
        dtype: float64 or float32.
        bound: inputs are uniform in ``[-bound, bound]``.
        **options: passed to the model (``nonlinearity``, ``proj_size``, ``bias``).
    """
    model = _MODELS[_check_kinds([kind])[0]](
        input_size, hidden_size, num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first, **options
    )
    rng = onp.random.default_rng(seed)
    params = model.init(rng, dtype=dtype)
    batch = batch if batched else 1
    if batched:
        shape = (batch, num_steps) if batch_first else (num_steps, batch)
    else:
        shape = (num_steps,)
    x = rng.uniform(-bound, bound, size=shape + (input_size,)).astype(dtype)
    if lengths is not None:
        lengths = onp.asarray(lengths, dtype=onp.int64) if batched else int(lengths)
    state = _initial_state(model, rng, batch, batched, dtype) if initial_state else None
    return Problem(model, params, x, lengths, None if mask is None else onp.asarray(mask, bool), state)


@dataclass(frozen=True, eq=False)
class CellProblem:
    """One drawn run of a single cell over a sequence, time-major.

    ``inputs`` is (T, B, D), ``state`` a tuple of (B, S_i) arrays and
    ``mask`` a (T, B) boolean array (all true when nothing is masked).
    """

    cell: object
    params: dict
    inputs: onp.ndarray
    state: tuple
    mask: onp.ndarray

    @property
    def num_steps(self):
        return self.inputs.shape[0]

    @property
    def batch(self):
        return self.inputs.shape[1]


def _resolve_cell(draw, cell, max_input_size):
    if isinstance(cell, st.SearchStrategy):
        return draw(cell, label="cell")
    if hasattr(cell, "step"):
        return cell
    if callable(cell):
        return cell(draw(st.integers(1, max_input_size), label="input_size"))
    raise TypeError(f"cell: expected a Cell, a function input_size -> Cell or a strategy, got {type(cell).__name__}")


@st.composite
def cell_problems(
    draw,
    cell,
    *,
    min_steps=0,
    max_steps=5,
    max_batch=3,
    max_input_size=3,
    prefix=None,
    initial_state=None,
    dtype=onp.float64,
    bound=2.0,
):
    """A :class:`CellProblem`: a cell, its parameters, inputs, a mask and an initial state.

    Args:
        cell: a cell (anything following the cell protocol), a function
            ``input_size -> cell`` (then D is drawn in ``[1, max_input_size]``),
            or a strategy drawing cells (such as :func:`cells`).
        min_steps: the smallest T (default 0: empty sequences included).
        max_steps: the largest T.
        max_batch: B is drawn in ``[1, max_batch]``.
        max_input_size: upper bound of a drawn D.
        prefix: ``True`` for prefix masks (lengths), ``False`` for any
            pattern, ``None`` to draw either.
        initial_state: ``True`` for a random state in ``[-1, 1]``, ``False``
            for zeros, ``None`` to draw either.
        dtype: float64 or float32.
        bound: inputs lie in ``[-bound, bound]``.
    """
    cell = _resolve_cell(draw, cell, max_input_size)
    num_steps = draw(st.integers(min_steps, max_steps), label="T")
    batch = draw(st.integers(1, max_batch), label="B")
    params = draw(parameters(cell, dtype=dtype), label="params")
    inputs = draw(sequences(shape=(num_steps, batch, cell.input_size), dtype=dtype, bound=bound), label="inputs")
    mask = draw(masks(num_steps=num_steps, batch=batch, prefix=prefix), label="mask")
    if _maybe(draw, initial_state, st.booleans(), "with_initial_state"):
        rng = onp.random.default_rng(draw(st.integers(0, 2**32 - 1), label="state_seed"))
        state = tuple(rng.uniform(-1, 1, size=(batch, size)).astype(dtype) for size in cell.state_sizes)
    else:
        state = tuple(cell.initial_state(batch, dtype))
    return CellProblem(cell, params, inputs, state, mask)


#: The cell kinds :func:`variant_cells` draws: every built-in cell, variants included.
VARIANT_KINDS = ("rnn", "lstm", "peephole", "layernorm_lstm", "gru", "layernorm_gru", "mgu")


def random_params(shapes, rng, *, scale=1.0, dtype=onp.float64):
    """Every parameter of ``shapes`` (``{name: shape}``) uniform in ``[-scale, scale]``.

    Unlike ``init``, which starts layer-norm gains at 1 and shifts at 0,
    every entry is random, so a gain or shift a cell forgets to apply shows.

    Args:
        shapes: ``{name: shape}``, a model's or a cell's ``param_shapes()``.
        rng: a :class:`numpy.random.Generator`.
        scale: the largest magnitude.
        dtype: float64 or float32.
    """
    return {name: rng.uniform(-scale, scale, shape).astype(dtype) for name, shape in shapes.items()}


@st.composite
def variant_cells(draw, *, kinds=VARIANT_KINDS, max_input_size=4, max_hidden_size=4):
    """Any built-in cell, variants included, with any of its options drawn.

    The options: ``bias``; the RNN's ``nonlinearity``; the LSTMs' ``proj_size``
    (the plain, peephole and layer-normalized ones); the GRU's ``reset_after``.

    Args:
        kinds: a subset of :data:`VARIANT_KINDS`.
        max_input_size: D is drawn in ``[1, max_input_size]``.
        max_hidden_size: H is drawn in ``[1, max_hidden_size]``.
    """
    unknown = [kind for kind in kinds if kind not in VARIANT_KINDS]
    if not kinds or unknown:
        raise ValueError(f"kinds: expected a non-empty subset of {VARIANT_KINDS}, got {tuple(kinds)}")
    kind = draw(st.sampled_from(tuple(kinds)), label="kind")
    input_size = draw(st.integers(1, max_input_size), label="input_size")
    hidden = draw(st.integers(1, max_hidden_size), label="hidden_size")
    bias = draw(st.booleans(), label="bias")
    if kind == "rnn":
        nonlinearity = draw(st.sampled_from(["tanh", "relu"]), label="nonlinearity")
        return RNNCell(input_size, hidden, bias=bias, nonlinearity=nonlinearity)
    if kind in ("lstm", "peephole", "layernorm_lstm"):
        cls = {"lstm": LSTMCell, "peephole": PeepholeLSTMCell, "layernorm_lstm": LayerNormLSTMCell}[kind]
        proj = draw(st.integers(0, hidden - 1), label="proj_size") if hidden > 1 else 0
        return cls(input_size, hidden, bias=bias, proj_size=proj)
    if kind == "gru":
        return GRUCell(input_size, hidden, bias=bias, reset_after=draw(st.booleans(), label="reset_after"))
    if kind == "layernorm_gru":
        return LayerNormGRUCell(input_size, hidden, bias=bias)
    return MGUCell(input_size, hidden, bias=bias)


@st.composite
def variant_models(
    draw,
    *,
    kinds=KINDS,
    max_input_size=3,
    max_hidden_size=3,
    max_layers=3,
    merge_modes=("concat", "sum", "mean"),
    residual=None,
    learn_initial_state=None,
):
    """A built-in model of any cell variant, with every option of the models drawn.

    Draws the torch arguments (sizes, layers, ``bias``, ``batch_first``,
    ``bidirectional``, the RNN's ``nonlinearity``, the LSTM's ``proj_size``),
    the variants (peephole or layer-normalized LSTM; reset-before or
    layer-normalized GRU) and the options beyond torch (``merge_mode``,
    ``residual``, ``learn_initial_state``). Dropout rates stay 0: give them
    to the model by hand where a property needs them.

    Args:
        kinds: a subset of ``("rnn", "lstm", "gru")``.
        max_input_size: D is drawn in ``[1, max_input_size]``.
        max_hidden_size: H is drawn in ``[1, max_hidden_size]``.
        max_layers: L is drawn in ``[1, max_layers]``.
        merge_modes: the merge modes to draw from.
        residual: pin it, or ``None`` to draw it.
        learn_initial_state: pin it, or ``None`` to draw it.
    """
    kind = draw(st.sampled_from(_check_kinds(kinds)), label="kind")
    hidden = draw(st.integers(1, max_hidden_size), label="hidden_size")
    options = dict(
        input_size=draw(st.integers(1, max_input_size), label="input_size"),
        hidden_size=hidden,
        num_layers=draw(st.integers(1, max_layers), label="num_layers"),
        bias=draw(st.booleans(), label="bias"),
        batch_first=draw(st.booleans(), label="batch_first"),
        bidirectional=draw(st.booleans(), label="bidirectional"),
        merge_mode=draw(st.sampled_from(tuple(merge_modes)), label="merge_mode"),
        residual=_maybe(draw, residual, st.booleans(), "residual"),
        learn_initial_state=_maybe(draw, learn_initial_state, st.booleans(), "learn_initial_state"),
    )
    if kind == "rnn":
        return RNN(nonlinearity=draw(st.sampled_from(["tanh", "relu"]), label="nonlinearity"), **options)
    if kind == "lstm":
        variant = draw(st.sampled_from(["plain", "peephole", "layer_norm"]), label="variant")
        proj = draw(st.integers(0, hidden - 1), label="proj_size") if hidden > 1 else 0
        return LSTM(proj_size=proj, peephole=variant == "peephole", layer_norm=variant == "layer_norm", **options)
    variant = draw(st.sampled_from(["reset_after", "reset_before", "layer_norm"]), label="variant")
    return GRU(reset_after=variant != "reset_before", layer_norm=variant == "layer_norm", **options)
