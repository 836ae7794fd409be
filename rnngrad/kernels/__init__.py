"""Fused whole-sequence primitives with hand-written backpropagation through time.

:func:`kernel_for` maps a cell to the primitive that runs it over a whole
sequence, or ``None`` when the cell has none (custom cells, variants), in
which case :mod:`rnngrad.sequence` runs the traced reference loop.
"""

__all__ = ["kernel_for"]


def kernel_for(cell):
    """The fused kernel for ``cell``, or ``None`` if there is none."""
    return None
