r"""The copy-memory task (Arjovsky, Shah and Bengio 2016).

The input is ten symbols drawn from eight, then :math:`T - 1` blanks, a
delimiter and ten more blanks (:math:`T + 20` steps); the target is blank
everywhere except the last ten steps, which must repeat the ten symbols::

    input   3 1 4 1 5 8 2 6 5 3  0 ... 0  9  0 0 0 0 0 0 0 0 0 0
    target  0 0 0 0 0 0 0 0 0 0  0 ... 0  0  3 1 4 1 5 8 2 6 5 3

Ids: 0 blank, 1..8 symbols, 9 delimiter (input only); targets are in 0..8.
A memoryless model can at best predict blanks for the first :math:`T + 10`
steps and a uniform guess over the eight symbols for the last ten: mean
cross-entropy per step :math:`10 \log 8 / (T + 20)`.
"""

import math

import numpy as onp

from .._validation import check_positive_int
from ..utilities import make_rng

__all__ = ["NUM_SYMBOLS", "MEMORY_LENGTH", "BLANK", "DELIMITER", "NUM_INPUTS", "NUM_CLASSES", "baseline", "generate"]

#: How many distinct symbols there are to remember (ids 1 to 8).
NUM_SYMBOLS = 8
#: How many symbols each sequence must remember and repeat.
MEMORY_LENGTH = 10
#: The id of the blank, in inputs and targets.
BLANK = 0
#: The id of the delimiter that asks for the recall (inputs only).
DELIMITER = NUM_SYMBOLS + 1
#: The size of the input vocabulary: blank, symbols, delimiter.
NUM_INPUTS = NUM_SYMBOLS + 2
#: The number of target classes: blank and symbols.
NUM_CLASSES = NUM_SYMBOLS + 1


def baseline(delay):
    """The memoryless cross-entropy ``10 log 8 / (T + 20)`` (nats per step)."""
    return MEMORY_LENGTH * math.log(NUM_SYMBOLS) / (delay + 2 * MEMORY_LENGTH)


def generate(batch_size, delay, seed=None):
    """Draw a batch with delay T.

    Returns:
        ``(x, y)``: int64 arrays (T + 20, B), input and target ids.
    """
    batch_size = check_positive_int("batch_size", batch_size)
    delay = check_positive_int("delay", delay)
    rng = make_rng(seed)
    total = delay + 2 * MEMORY_LENGTH
    symbols = rng.integers(1, NUM_SYMBOLS + 1, size=(MEMORY_LENGTH, batch_size))
    x = onp.full((total, batch_size), BLANK, dtype=onp.int64)
    y = onp.full((total, batch_size), BLANK, dtype=onp.int64)
    x[:MEMORY_LENGTH] = symbols
    x[MEMORY_LENGTH + delay - 1] = DELIMITER
    y[-MEMORY_LENGTH:] = symbols
    return x, y
