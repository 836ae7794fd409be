"""One step of each recurrent cell, and the protocol they share."""

from .base import AbstractCell, Cell, StepFromGates, WrappedCell, affine
from .greff import GREFF_VARIANTS, GreffLSTMCell
from .gru import GRUCell
from .layernorm import LayerNormGRUCell, LayerNormLSTMCell
from .lstm import LSTMCell
from .mgu import MGUCell
from .peephole import PeepholeLSTMCell
from .rnn import RNNCell

__all__ = [
    "AbstractCell",
    "Cell",
    "RNNCell",
    "LSTMCell",
    "GRUCell",
    "PeepholeLSTMCell",
    "LayerNormLSTMCell",
    "LayerNormGRUCell",
    "MGUCell",
    "WrappedCell",
    "StepFromGates",
    "GreffLSTMCell",
    "GREFF_VARIANTS",
    "affine",
]
