r"""The cell protocol: one step of a recurrent network as a pure function.

A cell is a frozen object holding hyperparameters (sizes, options) and pure
functions of a parameter dict. The protocol, :class:`AbstractCell`, is what
every part of rnngrad that runs a cell relies on:

* :meth:`~AbstractCell.param_shapes` ``() -> {name: shape}``;
* :attr:`~AbstractCell.state_sizes`, the feature size of each state array,
  the first one emitted as the output (:attr:`~AbstractCell.output_size`);
* :meth:`~AbstractCell.step` ``(params, x, state) -> (output, new_state)``
  advances the recurrence by one time step for a whole batch: ``x`` is
  ``(B, D)``, ``state`` a tuple of ``(B, S_i)`` arrays, ``output`` ``(B, O)``;
* optionally ``init(seed, *, dtype, ...)``, drawing a parameter dict (a
  model's ``init`` needs it), and ``input_size``, D (checked against the
  width a stacked layer reads when the cell states it).

:class:`Cell` adds the standard cell's fields (``input_size``,
``hidden_size``, ``bias``) and initialization (torch's uniform draw, the
structured initializers, a forget-gate bias); the built-in cells derive from
it. A wrapper around another cell derives from :class:`AbstractCell` and
needs none of those fields.

Everything that iterates over time (masking, the reverse direction, stacking,
bidirectional runs) lives in :mod:`rnngrad.sequence` and works for any cell
that follows this protocol; a new cell only says what one step does::

    @dataclass(frozen=True)
    class MinimalGatedUnit(rnngrad.Cell):
        def param_shapes(self):
            ...
        def step(self, params, x, state):
            ...

The parameters are a plain ``dict`` of arrays, never stored on the cell:
autograd differentiates dicts, lists and tuples, and a call is then a pure
function of its arguments.
"""

import abc
from dataclasses import dataclass

import autograd.numpy as np
import numpy as onp

from .._validation import (
    as_input_array,
    check_float_dtype,
    check_params,
    check_positive_int,
    check_real,
    check_state,
    shape_of,
)
from ..utilities import make_rng
from .init import draw_weight, uniform

__all__ = ["AbstractCell", "Cell", "WrappedCell", "StepFromGates", "affine"]


def affine(x, weight, bias=None):
    """``x W^T + b`` with torch's weight layout ``(out_features, in_features)``."""
    y = np.dot(x, weight.T)
    return y if bias is None else y + bias


class AbstractCell(abc.ABC):
    """The cell protocol: what a cell must define to run in rnngrad.

    Subclasses define :meth:`param_shapes`, :attr:`state_sizes` and
    :meth:`step`; :attr:`output_size`, :attr:`state_names`,
    :meth:`initial_state` and the torch-style call are built on them. An
    object of another class with the same attributes runs too: the sequence
    module and the models check for the attributes, not the class.
    """

    @abc.abstractmethod
    def param_shapes(self):
        """``{name: shape}`` of the parameters, in the order they are drawn."""

    @property
    @abc.abstractmethod
    def state_sizes(self):
        """Feature sizes of the state arrays; the first one is the emitted output."""

    @abc.abstractmethod
    def step(self, params, x, state):
        """One time step: ``(params, x (B, D), state) -> (output (B, O), new_state)``."""

    @property
    def output_size(self):
        """O, the number of features emitted at each step."""
        return self.state_sizes[0]

    @property
    def state_names(self):
        """Names of the state arrays in parameter keys (``h``, then ``c`` for the LSTM, else ``s1``, ``s2``, ...)."""
        return ("h",) + tuple(f"s{i}" for i in range(1, len(self.state_sizes)))

    def initial_state(self, batch_size, dtype=onp.float64):
        """The all-zero state for ``batch_size`` sequences."""
        return tuple(onp.zeros((batch_size, size), dtype=dtype) for size in self.state_sizes)

    def __call__(self, params, x, hx=None):
        """Apply one step, torch-style.

        Args:
            params: dict with the keys and shapes of :meth:`param_shapes`.
            x: ``(B, D)`` or, unbatched, ``(D,)``.
            hx: the state; ``None`` for zeros, an array for single-state cells,
                a tuple of arrays otherwise (``(h, c)`` for the LSTM), each
                ``(B, S)`` or unbatched ``(S,)``.

        Returns:
            The new state: an array for single-state cells, else a tuple.
        """
        dtype = check_params(params, self.param_shapes())
        x = as_input_array("x", x, dtype)
        shape = shape_of(x)
        input_size = getattr(self, "input_size", None)
        if len(shape) not in (1, 2) or (input_size is not None and shape[-1] != input_size):
            raise ValueError(
                f"x: expected shape (B, {input_size}) or ({input_size},) (input_size={input_size}), got {shape}"
            )
        batched = len(shape) == 2
        batch = shape[0] if batched else 1
        if hx is None:
            state = self.initial_state(batch, dtype)
        else:
            state = check_state("hx", hx, self.state_sizes, (batch,) if batched else (), dtype, bare=True)
        if not batched:
            x = np.reshape(x, (1, shape[0]))
            state = tuple(np.reshape(part, (1, size)) for part, size in zip(state, self.state_sizes))
        _, new_state = self.step(params, x, state)
        if not batched:
            new_state = tuple(np.reshape(s, (s.shape[-1],)) for s in new_state)
        return new_state[0] if len(new_state) == 1 else tuple(new_state)


@dataclass(frozen=True)
class WrappedCell(AbstractCell):
    """A cell built around another, ``inner``: its parameters and state are the inner cell's.

    A wrapper defines ``step`` (and whatever else it changes) and needs
    no fields of its own: :meth:`param_shapes`, :attr:`state_sizes`,
    :attr:`output_size` and :attr:`state_names` are the inner cell's.
    """

    inner: AbstractCell

    def param_shapes(self):
        return self.inner.param_shapes()

    @property
    def state_sizes(self):
        return self.inner.state_sizes

    @property
    def output_size(self):
        return self.inner.output_size

    @property
    def state_names(self):
        return self.inner.state_names


class StepFromGates:
    """For a cell that defines ``step_with_gates(params, x, state) -> (output, new_state, gates)``: its step.

    One computation gives both, so the gates a trace shows are those the step used.
    """

    def step(self, params, x, state):
        """One time step: ``step_with_gates`` without the gates."""
        output, new_state, _ = self.step_with_gates(params, x, state)
        return output, new_state


@dataclass(frozen=True)
class Cell(AbstractCell):
    """The standard cell: gate-stacked weights of ``hidden_size`` units, and their initialization.

    Subclasses are frozen dataclasses and implement
    :meth:`~AbstractCell.param_shapes`, :meth:`~AbstractCell.step` and, when
    the state is not a single ``(B, hidden_size)`` array, :attr:`state_sizes`.

    Args:
        input_size: D, the number of features of each input step.
        hidden_size: H, the number of hidden units.
        bias: whether the cell has bias vectors.
    """

    input_size: int
    hidden_size: int
    bias: bool = True

    def __post_init__(self):
        # store plain Python values, so that reprs, equality and hashing do not depend on np.int64 or np.bool_
        object.__setattr__(self, "input_size", check_positive_int("input_size", self.input_size))
        object.__setattr__(self, "hidden_size", check_positive_int("hidden_size", self.hidden_size))
        if not isinstance(self.bias, (bool, onp.bool_)):
            raise TypeError(f"bias: expected True or False, got {self.bias!r}")
        object.__setattr__(self, "bias", bool(self.bias))

    @property
    def state_sizes(self):
        """Feature sizes of the state arrays: ``(hidden_size,)`` unless a subclass says otherwise."""
        return (self.hidden_size,)

    @property
    def init_scale(self):
        """Half-width of the default uniform initialization, ``1 / sqrt(hidden_size)`` (torch's)."""
        return 1.0 / onp.sqrt(self.hidden_size)

    #: index of the forget gate's block of H rows in ``weight_ih`` and ``bias_ih``, ``None`` if the cell has none
    forget_gate_block = None

    def init(self, seed=None, *, dtype=onp.float64, input_init="uniform", recurrent_init="uniform", forget_bias=None):
        """Draw a parameter dict; by default uniform in ``[-1/sqrt(H), 1/sqrt(H)]``, as torch does.

        Args:
            seed: an int, a :class:`numpy.random.Generator` or ``None`` (fresh entropy).
            dtype: float64 (default) or float32; it becomes the dtype of every
                computation with these parameters.
            input_init: how to draw ``weight_ih``: ``"uniform"`` (torch's),
                ``"glorot"`` or ``"orthogonal"`` (see :mod:`rnngrad.cells.init`).
            recurrent_init: how to draw ``weight_hh``, the same choices;
                ``"orthogonal"`` is the usual remedy for early vanishing or
                exploding of the recurrence.
            forget_bias: if given, the forget gate's rows of ``bias_ih`` are set
                to it and those of ``bias_hh`` to 0, so the gate starts at
                ``sigmoid(forget_bias)`` (Jozefowicz et al. 2015 recommend 1.0:
                remember by default). Only for cells with a forget gate
                (:attr:`forget_gate_block`) and biases.

        The parameters are drawn in the order of :meth:`~AbstractCell.param_shapes`, so a
        seed gives the same dict every time, with or without ``forget_bias``.
        """
        rng = make_rng(seed)
        dtype = check_float_dtype("dtype", dtype)
        if forget_bias is not None:
            forget_bias = check_real("forget_bias", forget_bias)
            if self.forget_gate_block is None:
                raise ValueError(f"forget_bias: {type(self).__name__} has no forget gate, got {forget_bias!r}")
            if not self.bias:
                raise ValueError(f"forget_bias: the cell has bias=False, got forget_bias={forget_bias!r}")
        methods = {"weight_ih": ("input_init", input_init), "weight_hh": ("recurrent_init", recurrent_init)}
        params = {}
        for name, shape in self.param_shapes().items():
            if name in methods:
                argument, method = methods[name]
                value = draw_weight(rng, shape, method, self.hidden_size, self.init_scale, argument)
            else:
                value = self.init_param(name, shape, rng)
            params[name] = onp.asarray(value).astype(dtype)
        if forget_bias is not None:
            H = self.hidden_size
            rows = slice(self.forget_gate_block * H, (self.forget_gate_block + 1) * H)
            params["bias_ih"][rows] = forget_bias
            params["bias_hh"][rows] = 0.0
        return params

    def init_param(self, name, shape, rng):
        """Draw one parameter other than ``weight_ih`` and ``weight_hh`` (uniform; override for gains)."""
        return uniform(rng, shape, self.init_scale)
