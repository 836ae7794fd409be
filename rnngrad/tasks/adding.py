r"""The adding problem (Hochreiter and Schmidhuber 1997).

Each step carries two features, a value :math:`v_t \sim U(0, 1)` and a marker
:math:`m_t \in \{0, 1\}`; exactly two steps are marked, one in the first half
of the sequence and one in the second. The target is the sum of the two
marked values. To solve it a network must keep the first marked value across
up to T steps of distracting values.

The trivial predictor, the constant 1 (the mean of the target), has mean
squared error :math:`\operatorname{Var}(v_a + v_b) = 2 \cdot 1/12 = 1/6`;
a model that has learned nothing stays there.
"""

import numpy as onp

from .._validation import check_positive_int
from ..utilities import make_rng

__all__ = ["BASELINE_MSE", "generate"]

#: Mean squared error of the trivial predictor (always 1, the mean of the target): the variance 1/6.
BASELINE_MSE = 1.0 / 6.0


def generate(batch_size, length, seed=None):
    """Draw a batch.

    Returns:
        ``(x, y)``: x (T, B, 2) float64 (value, marker), y (B, 1) the sums.
    """
    batch_size = check_positive_int("batch_size", batch_size)
    length = check_positive_int("length", length, minimum=2)
    rng = make_rng(seed)
    values = rng.random((length, batch_size))
    half = length // 2
    first = rng.integers(0, half, size=batch_size)
    second = rng.integers(half, length, size=batch_size)
    markers = onp.zeros((length, batch_size))
    columns = onp.arange(batch_size)
    markers[first, columns] = 1.0
    markers[second, columns] = 1.0
    x = onp.stack([values, markers], axis=-1)
    y = (values[first, columns] + values[second, columns])[:, None]
    return x, y
