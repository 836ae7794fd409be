"""One step of each recurrent cell, and the protocol they share."""

from .base import Cell, linear, make_rng
from .gru import GRUCell
from .lstm import LSTMCell
from .rnn import RNNCell

__all__ = ["Cell", "RNNCell", "LSTMCell", "GRUCell", "linear", "make_rng"]
