"""Fused whole-sequence primitives with hand-written backpropagation through time.

:func:`kernel_for` maps a cell to the primitive that runs it over a whole
sequence, or ``None`` when the cell has none (custom cells, variants), in
which case :mod:`rnngrad.sequence` runs the traced reference loop.

Each kernel is one direction of one layer as a single autograd primitive
(:mod:`._primitive`): the forward pass and the backward recurrence of
:mod:`.rnn`, :mod:`.lstm` and :mod:`.gru`, and the tangents of both in
:mod:`.rnn_jvp`, :mod:`.lstm_jvp` and :mod:`.gru_jvp`, are plain NumPy on
whole buffers. So the gradient, forward mode (``make_jvp``), forward over
reverse and reverse over reverse (Hessian-vector products) run fused; third
and higher orders go through autograd over the reference loop, which agrees
with the fused rules to rounding.

The kernels' large buffers come from :data:`workspace`, which keeps them
between calls and reuses one only when nothing refers to it any more (see
:class:`Workspace`); ``workspace.clear()`` hands the idle ones back.
"""

from ..cells import GRUCell, LSTMCell, RNNCell
from . import _workspace, gru, gru_jvp, lstm, lstm_jvp, rnn, rnn_jvp
from ._primitive import make_kernel
from ._workspace import Workspace

__all__ = ["kernel_for", "Workspace", "workspace"]

#: The :class:`Workspace` of the fused kernels: ``workspace.clear()`` hands its idle buffers back,
#: ``workspace.limit`` bounds the bytes it holds (1 GiB unless set) and ``workspace.limit = 0`` turns reuse off.
workspace = _workspace.workspace

_KERNELS = {
    RNNCell: make_kernel(rnn, rnn_jvp),
    LSTMCell: make_kernel(lstm, lstm_jvp),
    GRUCell: make_kernel(gru, gru_jvp),
}


def kernel_for(cell):
    """The fused kernel for ``cell``, or ``None`` if there is none.

    The match is on the exact type: a subclass of a built-in cell may
    override :meth:`~rnngrad.AbstractCell.step`, and only the reference loop runs that.
    """
    if type(cell) is GRUCell and not cell.reset_after:
        return None  # the kernel computes the reset-after form only
    return _KERNELS.get(type(cell))
