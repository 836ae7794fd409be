"""rnngrad: recurrent neural networks as differentiable NumPy code on autograd.

The public names:

* models (stacked, bidirectional, torch's interface): :class:`RNN`,
  :class:`LSTM`, :class:`GRU`, and :class:`Recurrent` for any cell;
* cells (one step): :class:`RNNCell`, :class:`LSTMCell`, :class:`GRUCell`, the
  variants :class:`PeepholeLSTMCell`, :class:`LayerNormLSTMCell`,
  :class:`LayerNormGRUCell`, :class:`MGUCell`, :class:`GreffLSTMCell` (the
  eight variants of Greff et al. 2017), the cell protocol
  :class:`AbstractCell` and the standard cell's base :class:`Cell`;
* the sequence module: :func:`unroll`, :func:`stack`, :func:`lengths_to_mask`;
* numerically stable activations: :func:`sigmoid`, :func:`tanh`;
* curvature products at a few gradients' cost: :mod:`rnngrad.curvature`
  (``jvp``, ``ggnvp``, ``hvp``);
* around the core: networks (:class:`RecurrentNet`, :class:`BagOfEmbeddings`)
  and training (:func:`fit`, and the second-order :class:`HessianFree`), with the modules :mod:`rnngrad.nn`,
  :mod:`rnngrad.nets`, :mod:`rnngrad.train`, :mod:`rnngrad.hessian_free`, :mod:`rnngrad.io`,
  :mod:`rnngrad.diagnostics`, :mod:`rnngrad.trace` (every step's states and gates),
  :mod:`rnngrad.probe` (which units track a property), :mod:`rnngrad.tasks` and
  :mod:`rnngrad.interop`.

:mod:`rnngrad.testing` (the property battery) needs Hypothesis and is imported
on its own.
"""

from . import curvature, diagnostics, hessian_free, interop, io, nets, nn, probe, tasks, trace, train
from .activations import sigmoid, tanh
from .cells import (
    AbstractCell,
    Cell,
    GreffLSTMCell,
    GRUCell,
    LayerNormGRUCell,
    LayerNormLSTMCell,
    LSTMCell,
    MGUCell,
    PeepholeLSTMCell,
    RNNCell,
)
from .hessian_free import HessianFree
from .models import GRU, LSTM, RNN
from .nets import BagOfEmbeddings, RecurrentNet
from .recurrent import Recurrent
from .sequence import lengths_to_mask, stack, unroll
from .train import fit

#: The version of rnngrad (PEP 440).
__version__ = "0.1.0"

__all__ = [
    "AbstractCell",
    "BagOfEmbeddings",
    "Cell",
    "GRU",
    "GreffLSTMCell",
    "GRUCell",
    "HessianFree",
    "LSTM",
    "LSTMCell",
    "LayerNormGRUCell",
    "LayerNormLSTMCell",
    "MGUCell",
    "PeepholeLSTMCell",
    "RNN",
    "RNNCell",
    "Recurrent",
    "RecurrentNet",
    "curvature",
    "diagnostics",
    "fit",
    "hessian_free",
    "interop",
    "io",
    "lengths_to_mask",
    "nets",
    "nn",
    "probe",
    "sigmoid",
    "stack",
    "tanh",
    "tasks",
    "trace",
    "train",
    "unroll",
    "__version__",
]
