r"""Initializers for a cell's parameters, drawn from a :class:`numpy.random.Generator`.

The weight matrices of the built-in cells stack one block per gate,
``(G*H, fan_in)``; the structured initializers treat each gate's ``(H, fan_in)``
block on its own, so that every gate starts with the same statistics.

==============  ============================================================
name            draw
==============  ============================================================
``uniform``     :math:`U(-1/\sqrt{H}, 1/\sqrt{H})`, torch's default for every parameter
``orthogonal``  each gate block a (semi-)orthogonal matrix (Saxe et al. 2014):
                :math:`W W^\top = I` or :math:`W^\top W = I`, so the linear part of the
                recurrence neither shrinks nor grows a state at the start
``glorot``      each gate block :math:`U(-a, a)`, :math:`a = \sqrt{6 / (\text{fan\_in} + H)}`
                (Glorot and Bengio 2010)
==============  ============================================================
"""

import numpy as onp

from .._validation import check_choice

__all__ = ["WEIGHT_INITS", "uniform", "orthogonal_blocks", "glorot_blocks"]


def uniform(rng, shape, scale):
    """``U(-scale, scale)`` of the given shape (float64)."""
    return rng.uniform(-scale, scale, size=shape)


def _orthogonal(rng, rows, cols):
    flip = rows < cols
    a = rng.normal(size=(cols, rows) if flip else (rows, cols))
    q, r = onp.linalg.qr(a)
    q = q * onp.sign(onp.diag(r))  # the sign fix makes the draw uniform over orthogonal matrices
    return q.T if flip else q


def orthogonal_blocks(rng, shape, block_rows):
    """Stack ``shape[0] // block_rows`` independent (semi-)orthogonal ``(block_rows, shape[1])`` blocks."""
    blocks = shape[0] // block_rows
    return onp.concatenate([_orthogonal(rng, block_rows, shape[1]) for _ in range(blocks)], axis=0)


def glorot_blocks(rng, shape, block_rows):
    """Glorot-uniform with fan-out ``block_rows`` (one gate) and fan-in ``shape[1]``."""
    limit = onp.sqrt(6.0 / (shape[1] + block_rows))
    return rng.uniform(-limit, limit, size=shape)


#: The names accepted by ``Cell.init(input_init=..., recurrent_init=...)``: ``"uniform"`` (torch's),
#: ``"orthogonal"`` and ``"glorot"`` (the last two drawn for each gate's block of rows on its own).
WEIGHT_INITS = ("uniform", "orthogonal", "glorot")


def draw_weight(rng, shape, method, hidden_size, scale, name):
    """Draw one gate-stacked weight matrix with ``method`` (a name from :data:`WEIGHT_INITS`)."""
    check_choice(name, method, WEIGHT_INITS)
    if method == "uniform":
        return uniform(rng, shape, scale)
    if method == "orthogonal":
        return orthogonal_blocks(rng, shape, hidden_size)
    return glorot_blocks(rng, shape, hidden_size)
