r"""Stacked, bidirectional recurrent networks with torch's interface: :class:`RNN`, :class:`LSTM`, :class:`GRU`.

The models are functional: hyperparameters live on a frozen model object,
parameters in a plain dict whose keys and shapes are those of the matching
torch module's ``state_dict()``, and a call is a pure function that autograd
differentiates::

    lstm = rnngrad.LSTM(input_size=8, hidden_size=16, num_layers=2, bidirectional=True)
    params = lstm.init(seed=0)
    output, (h_n, c_n) = lstm(params, x, lengths=[5, 3, 0])

Each is a :class:`~rnngrad.Recurrent` (the generic stacked model, which runs
any cell) of the matching built-in cell.

Shapes (letters as everywhere in rnngrad): T steps, B sequences, D input
features, H hidden units, P projection size, L layers, N directions
(1 or 2), O = P if P > 0 else H.

* ``x``: (T, B, D), or (B, T, D) with ``batch_first``, or unbatched (T, D).
* ``output``: (T, B, N*O) (batch-first and unbatched likewise); steps past a
  sequence's length, or masked out, are zero.
* ``h_n``: (L*N, B, O), entry ``k*N + d`` for layer k, direction d; ``c_n``
  (LSTM): (L*N, B, H). Unbatched: the B axis is dropped.
"""

from ._validation import check_bool, check_choice, check_positive_int
from .cells import GRUCell, LayerNormGRUCell, LayerNormLSTMCell, LSTMCell, PeepholeLSTMCell, RNNCell
from .cells.rnn import NONLINEARITIES
from .recurrent import Recurrent

__all__ = ["Recurrent", "RNN", "LSTM", "GRU"]


class RNN(Recurrent):
    """Elman recurrent network, torch's ``nn.RNN``; each layer an :class:`RNNCell`.

    The arguments up to ``bidirectional`` are torch's, with its defaults.

    Args:
        input_size: D, the number of input features.
        hidden_size: H, the number of hidden units of each layer and direction.
        num_layers: L, the number of stacked layers.
        nonlinearity: ``"tanh"`` or ``"relu"``.
        bias: whether the cells have ``bias_ih`` and ``bias_hh``.
        batch_first: whether ``x``, ``mask`` and ``output`` are batch-first, (B, T, ...).
        dropout: the dropout rate on the outputs of every layer but the last, in training only.
        bidirectional: whether every layer has a reverse direction too.
        **options: beyond torch, keyword-only (see :class:`Recurrent`): ``merge_mode``,
            ``residual``, ``weight_dropout``, ``variational_dropout``, ``learn_initial_state``.

    Returns from a call: ``(output, h_n)`` (see :class:`Recurrent`).
    """

    _fields = (
        "input_size",
        "hidden_size",
        "num_layers",
        "nonlinearity",
        "bias",
        "batch_first",
        "dropout",
        "bidirectional",
    )

    def __init__(
        self,
        input_size,
        hidden_size,
        num_layers=1,
        nonlinearity="tanh",
        bias=True,
        batch_first=False,
        dropout=0.0,
        bidirectional=False,
        **options,
    ):
        # Python values on the model, as on its cells: reprs and equality must not depend on np.int64
        hidden_size = check_positive_int("hidden_size", hidden_size)
        nonlinearity = check_choice("nonlinearity", nonlinearity, NONLINEARITIES)
        bias = check_bool("bias", bias)
        self._freeze(hidden_size=hidden_size, nonlinearity=nonlinearity, bias=bias)
        super().__init__(
            lambda width: RNNCell(width, hidden_size, bias=bias, nonlinearity=nonlinearity),
            input_size,
            num_layers,
            batch_first,
            dropout,
            bidirectional,
            **options,
        )


class LSTM(Recurrent):
    """Long short-term memory network, torch's ``nn.LSTM``; each layer an :class:`LSTMCell`.

    The arguments up to ``proj_size`` are torch's, with its defaults.

    Args:
        input_size: D, the number of input features.
        hidden_size: H, the number of hidden units of each layer and direction.
        num_layers: L, the number of stacked layers.
        bias: whether the cells have ``bias_ih`` and ``bias_hh``.
        batch_first: whether ``x``, ``mask`` and ``output`` are batch-first, (B, T, ...).
        dropout: the dropout rate on the outputs of every layer but the last, in training only.
        bidirectional: whether every layer has a reverse direction too.
        proj_size: P, 0 (default) for no projection, else ``0 < P < H``.
        peephole: use :class:`PeepholeLSTMCell` (keyword-only).
        layer_norm: use :class:`LayerNormLSTMCell` (keyword-only).
        **options: beyond torch, keyword-only (see :class:`Recurrent`): ``merge_mode``,
            ``residual``, ``weight_dropout``, ``variational_dropout``, ``learn_initial_state``.

    Returns from a call: ``(output, (h_n, c_n))`` (see :class:`Recurrent`).
    """

    _fields = (
        "input_size",
        "hidden_size",
        "num_layers",
        "bias",
        "batch_first",
        "dropout",
        "bidirectional",
        "proj_size",
    )
    _extras = {**Recurrent._extras, "peephole": False, "layer_norm": False}

    def __init__(
        self,
        input_size,
        hidden_size,
        num_layers=1,
        bias=True,
        batch_first=False,
        dropout=0.0,
        bidirectional=False,
        proj_size=0,
        *,
        peephole=False,
        layer_norm=False,
        **options,
    ):
        peephole = check_bool("peephole", peephole)
        layer_norm = check_bool("layer_norm", layer_norm)
        hidden_size = check_positive_int("hidden_size", hidden_size)
        proj_size = check_positive_int("proj_size", proj_size, minimum=0)
        bias = check_bool("bias", bias)
        if peephole and layer_norm:
            raise ValueError("peephole, layer_norm: a cell with both is not provided; choose one")
        cell_class = PeepholeLSTMCell if peephole else LayerNormLSTMCell if layer_norm else LSTMCell
        self._freeze(hidden_size=hidden_size, bias=bias, proj_size=proj_size, peephole=peephole, layer_norm=layer_norm)
        super().__init__(
            lambda width: cell_class(width, hidden_size, bias=bias, proj_size=proj_size),
            input_size,
            num_layers,
            batch_first,
            dropout,
            bidirectional,
            **options,
        )


class GRU(Recurrent):
    """Gated recurrent unit network, torch's ``nn.GRU``; each layer a :class:`GRUCell`.

    The arguments up to ``bidirectional`` are torch's, with its defaults.

    Args:
        input_size: D, the number of input features.
        hidden_size: H, the number of hidden units of each layer and direction.
        num_layers: L, the number of stacked layers.
        bias: whether the cells have ``bias_ih`` and ``bias_hh``.
        batch_first: whether ``x``, ``mask`` and ``output`` are batch-first, (B, T, ...).
        dropout: the dropout rate on the outputs of every layer but the last, in training only.
        bidirectional: whether every layer has a reverse direction too.
        reset_after: ``False`` for the original reset-before GRU of Cho et al.
            (keyword-only; see :class:`GRUCell`).
        layer_norm: use :class:`LayerNormGRUCell` (keyword-only; reset-after only).
        **options: beyond torch, keyword-only (see :class:`Recurrent`): ``merge_mode``,
            ``residual``, ``weight_dropout``, ``variational_dropout``, ``learn_initial_state``.

    Returns from a call: ``(output, h_n)`` (see :class:`Recurrent`).
    """

    _fields = ("input_size", "hidden_size", "num_layers", "bias", "batch_first", "dropout", "bidirectional")
    _extras = {**Recurrent._extras, "reset_after": True, "layer_norm": False}

    def __init__(
        self,
        input_size,
        hidden_size,
        num_layers=1,
        bias=True,
        batch_first=False,
        dropout=0.0,
        bidirectional=False,
        *,
        reset_after=True,
        layer_norm=False,
        **options,
    ):
        reset_after = check_bool("reset_after", reset_after)
        layer_norm = check_bool("layer_norm", layer_norm)
        hidden_size = check_positive_int("hidden_size", hidden_size)
        bias = check_bool("bias", bias)
        if layer_norm and not reset_after:
            raise ValueError("layer_norm, reset_after: the layer-normalized GRU is reset-after only")
        self._freeze(hidden_size=hidden_size, bias=bias, reset_after=reset_after, layer_norm=layer_norm)

        def make_cell(input_size):
            if layer_norm:
                return LayerNormGRUCell(input_size, hidden_size, bias=bias)
            return GRUCell(input_size, hidden_size, bias=bias, reset_after=reset_after)

        super().__init__(make_cell, input_size, num_layers, batch_first, dropout, bidirectional, **options)
