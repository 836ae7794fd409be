"""rnngrad: recurrent neural networks as differentiable NumPy code on autograd.

The public names:

* models (stacked, bidirectional, torch's interface): :class:`RNN`,
  :class:`LSTM`, :class:`GRU`, and :class:`Recurrent` for any cell;
* cells (one step): :class:`RNNCell`, :class:`LSTMCell`, :class:`GRUCell`, and
  the protocol base :class:`Cell`;
* the sequence module: :func:`unroll`, :func:`stack`, :func:`lengths_to_mask`;
* numerically stable activations: :func:`sigmoid`, :func:`tanh`.
"""

from .activations import sigmoid, tanh
from .cells import Cell, GRUCell, LSTMCell, RNNCell
from .models import GRU, LSTM, RNN, Recurrent
from .sequence import lengths_to_mask, stack, unroll

#: The version of rnngrad (PEP 440).
__version__ = "0.1.0"

__all__ = [
    "Cell",
    "GRU",
    "GRUCell",
    "LSTM",
    "LSTMCell",
    "RNN",
    "RNNCell",
    "Recurrent",
    "lengths_to_mask",
    "sigmoid",
    "stack",
    "tanh",
    "unroll",
    "__version__",
]
