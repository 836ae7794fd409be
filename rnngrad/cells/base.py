"""The cell protocol: one step of a recurrent network as a pure function.

A cell is a frozen object holding hyperparameters (sizes, options) and two
pure functions of a parameter dict:

* :meth:`Cell.step` ``(params, x, state) -> (output, new_state)`` advances the
  recurrence by one time step for a whole batch: ``x`` is ``(B, D)``,
  ``state`` a tuple of ``(B, S_i)`` arrays, ``output`` ``(B, O)``.
* :meth:`Cell.init` draws a parameter dict whose keys and shapes are those of
  :meth:`Cell.param_shapes`.

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

import numbers
from dataclasses import dataclass

import autograd.numpy as np
import numpy as onp
from autograd.tracer import getval

from .._validation import (
    as_input_array,
    check_float_dtype,
    check_params,
    check_positive_int,
    check_state_array,
    shape_of,
)
from .init import draw_weight, uniform

__all__ = ["Cell", "linear", "make_rng"]


def make_rng(seed, name="seed"):
    """A :class:`numpy.random.Generator` from an int seed, a Generator or ``None``."""
    if isinstance(seed, onp.random.Generator):
        return seed
    if seed is None or (isinstance(seed, (int, onp.integer)) and not isinstance(seed, bool)):
        if seed is not None and seed < 0:
            raise ValueError(f"{name}: expected a non-negative int, got {seed}")
        return onp.random.default_rng(seed)
    raise TypeError(f"{name}: expected an int, a numpy.random.Generator or None, got {type(seed).__name__}")


def linear(x, weight, bias=None):
    """``x W^T + b`` with torch's weight layout ``(out_features, in_features)``."""
    y = np.dot(x, weight.T)
    return y if bias is None else y + bias


@dataclass(frozen=True)
class Cell:
    """Base class of recurrent cells (the cell protocol).

    Subclasses are frozen dataclasses and implement :meth:`param_shapes`,
    :meth:`step` and, when the state is not a single ``(B, hidden_size)``
    array, :attr:`state_sizes`.

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

    # -- the protocol ----------------------------------------------------
    def param_shapes(self):
        """``{name: shape}`` of the parameters, in the order they are drawn."""
        raise NotImplementedError(f"{type(self).__name__} must define param_shapes()")

    @property
    def state_sizes(self):
        """Feature sizes of the state arrays; the first one is the emitted output."""
        return (self.hidden_size,)

    @property
    def state_names(self):
        """Names of the state arrays in parameter keys (``h``, then ``c`` for the LSTM, else ``s1``, ``s2``, ...)."""
        return ("h",) + tuple(f"s{i}" for i in range(1, len(self.state_sizes)))

    @property
    def output_size(self):
        """O, the number of features emitted at each step."""
        return self.state_sizes[0]

    def step(self, params, x, state):
        """One time step: ``(params, x (B, D), state) -> (output (B, O), new_state)``."""
        raise NotImplementedError(f"{type(self).__name__} must define step()")

    # -- shared behaviour --------------------------------------------------
    @property
    def init_scale(self):
        """Half-width of the default uniform initialization, ``1 / sqrt(hidden_size)`` (torch's)."""
        return 1.0 / onp.sqrt(self.hidden_size)

    def initial_state(self, batch_size, dtype=onp.float64):
        """The all-zero state for ``batch_size`` sequences."""
        return tuple(onp.zeros((batch_size, size), dtype=dtype) for size in self.state_sizes)

    #: index of the forget gate's block of rows in ``bias_ih``, or ``None`` if the cell has none
    forget_gate = None

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
                remember by default). Only for cells with a forget gate.

        The parameters are drawn in the order of :meth:`param_shapes`, so a
        seed gives the same dict every time.
        """
        rng = make_rng(seed)
        dtype = check_float_dtype("dtype", dtype)
        if forget_bias is not None:
            if isinstance(forget_bias, bool) or not isinstance(forget_bias, numbers.Real):
                raise TypeError(f"forget_bias: expected a real number or None, got {type(forget_bias).__name__}")
            if not onp.isfinite(forget_bias):
                raise ValueError(f"forget_bias: expected a finite number, got {forget_bias!r}")
            if self.forget_gate is None:
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
            rows = slice(self.forget_gate * self.hidden_size, (self.forget_gate + 1) * self.hidden_size)
            params["bias_ih"][rows] = forget_bias
            params["bias_hh"][rows] = 0.0
        return params

    def init_param(self, name, shape, rng):
        """Draw one parameter other than ``weight_ih`` and ``weight_hh`` (uniform; override for gains)."""
        return uniform(rng, shape, self.init_scale)

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
        if len(shape) not in (1, 2) or shape[-1] != self.input_size:
            raise ValueError(
                f"x: expected shape (B, {self.input_size}) or ({self.input_size},) "
                f"(input_size={self.input_size}), got {shape}"
            )
        batched = len(shape) == 2
        batch = shape[0] if batched else 1
        if not batched:
            x = np.reshape(x, (1, self.input_size))
        state = self._check_hx(hx, batch, batched, dtype)
        _, new_state = self.step(params, x, state)
        if not batched:
            new_state = tuple(np.reshape(s, (s.shape[-1],)) for s in new_state)
        return new_state[0] if len(new_state) == 1 else tuple(new_state)

    def _check_hx(self, hx, batch, batched, dtype):
        if hx is None:
            return self.initial_state(batch, dtype)
        sizes = self.state_sizes
        if len(sizes) == 1:
            parts = (hx,)
        elif isinstance(getval(hx), (tuple, list)) and len(hx) == len(sizes):
            parts = tuple(hx[i] for i in range(len(sizes)))
        else:
            raise TypeError(f"hx: expected a tuple of {len(sizes)} arrays, got {type(hx).__name__}")
        state = []
        for i, (part, size) in enumerate(zip(parts, sizes)):
            name = "hx" if len(sizes) == 1 else f"hx[{i}]"
            shape = (batch, size) if batched else (size,)
            part = check_state_array(name, part, shape, dtype)
            state.append(part if batched else np.reshape(part, (1, size)))
        return tuple(state)
