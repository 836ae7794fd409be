"""The LSTM with peephole connections."""

from dataclasses import dataclass

from ..activations import sigmoid, tanh
from .lstm import LSTMCell

__all__ = ["PeepholeLSTMCell"]


@dataclass(frozen=True)
class PeepholeLSTMCell(LSTMCell):
    r"""LSTM with peephole connections (Gers and Schmidhuber 2000).

    The gates also see the cell state through diagonal weights, so they can
    time their opening by the content of the memory, not only by ``h``
    (which the output gate may be hiding):

    .. math::

        \begin{aligned}
        i &= \sigma(x W_{ii}^\top + b_{ii} + h W_{hi}^\top + b_{hi} + p_i \odot c)\\
        f &= \sigma(x W_{if}^\top + b_{if} + h W_{hf}^\top + b_{hf} + p_f \odot c)\\
        g &= \tanh(x W_{ig}^\top + b_{ig} + h W_{hg}^\top + b_{hg})\\
        c' &= f \odot c + i \odot g\\
        o &= \sigma(x W_{io}^\top + b_{io} + h W_{ho}^\top + b_{ho} + p_o \odot c')\\
        h' &= o \odot \tanh(c') \quad (\text{then } h' W_{hr}^\top \text{ if } P > 0)
        \end{aligned}

    The output gate peeks at the *new* cell state, the input and forget gates
    at the old one, as in the paper.

    Parameters: those of :class:`LSTMCell` plus ``weight_ci``, ``weight_cf``,
    ``weight_co`` (H,) each, the peephole diagonals :math:`p_i, p_f, p_o`.
    """

    def param_shapes(self):
        shapes = super().param_shapes()
        H = self.hidden_size
        shapes.update(weight_ci=(H,), weight_cf=(H,), weight_co=(H,))
        return shapes

    def step_with_gates(self, params, x, state):
        h, c = state
        a_i, a_f, a_g, a_o = self.gate_preactivations(params, x, h)
        gates = {"i": sigmoid(a_i + params["weight_ci"] * c), "f": sigmoid(a_f + params["weight_cf"] * c)}
        gates["g"] = tanh(a_g)
        cell_state = gates["f"] * c + gates["i"] * gates["g"]
        gates["o"] = sigmoid(a_o + params["weight_co"] * cell_state)
        return (*self.emit(params, gates["o"] * tanh(cell_state), cell_state), gates)
