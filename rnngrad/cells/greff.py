r"""The eight LSTM variants of Greff et al. (2017), "LSTM: A Search Space Odyssey", and their baseline."""

from dataclasses import dataclass

import autograd.numpy as np

from .._validation import check_choice
from ..activations import sigmoid, tanh
from .base import Cell, StepFromGates, affine

__all__ = ["GREFF_VARIANTS", "GreffLSTMCell"]

#: The variant names of :class:`GreffLSTMCell`: the baseline ``"vanilla"`` (the peephole
#: LSTM), then each change of Greff et al. in the paper's order.
GREFF_VARIANTS = ("vanilla", "nig", "nfg", "nog", "niaf", "noaf", "np", "cifg", "fgr")

# the gate blocks (rows of weight_ih, weight_hh, bias_ih, bias_hh) each variant drops
_DROPPED = {"nig": "i", "nfg": "f", "nog": "o", "cifg": "i"}


@dataclass(frozen=True)
class GreffLSTMCell(StepFromGates, Cell):
    r"""The LSTM of Greff et al. (2017) with peepholes, or one of their eight variants.

    Greff, Srivastava, Koutník, Steunebrink and Schmidhuber, "LSTM: A Search
    Space Odyssey" (IEEE TNNLS 2017) train the *vanilla* LSTM (with peephole
    connections, the output gate peeking at the new cell state) and eight
    variants, each removing or changing one part, to find what each part is
    worth. The baseline, in rnngrad's notation (:math:`g` is the paper's
    block input :math:`z`, :math:`h` its block output :math:`y`):

    .. math::

        \begin{aligned}
        i &= \sigma(x W_{ii}^\top + b_{ii} + h W_{hi}^\top + b_{hi} + p_i \odot c) && \text{input gate}\\
        f &= \sigma(x W_{if}^\top + b_{if} + h W_{hf}^\top + b_{hf} + p_f \odot c) && \text{forget gate}\\
        g &= \tanh(x W_{ig}^\top + b_{ig} + h W_{hg}^\top + b_{hg}) && \text{block input}\\
        c' &= f \odot c + i \odot g\\
        o &= \sigma(x W_{io}^\top + b_{io} + h W_{ho}^\top + b_{ho} + p_o \odot c') && \text{output gate}\\
        h' &= o \odot \tanh(c')
        \end{aligned}

    which is :class:`PeepholeLSTMCell`. The ``variant`` changes one line:

    ============  ==============================================================
    ``variant``   change
    ============  ==============================================================
    ``vanilla``   none (V, the baseline)
    ``nig``       no input gate: :math:`i = 1`
    ``nfg``       no forget gate: :math:`f = 1`
    ``nog``       no output gate: :math:`o = 1`
    ``niaf``      no input activation function: :math:`g = x W_{ig}^\top + b_{ig} + h W_{hg}^\top + b_{hg}`
    ``noaf``      no output activation function: :math:`h' = o \odot c'`
    ``np``        no peepholes: :math:`p_i = p_f = p_o = 0` (torch's :class:`LSTMCell`)
    ``cifg``      coupled input and forget gate: :math:`i = 1 - f`
    ``fgr``       full gate recurrence: each gate also sees the previous step's
                  gates, :math:`\hat\imath = \ldots + [i, f, o]\, R_i^\top` and the
                  same with :math:`R_f` for :math:`f` and :math:`R_o` for :math:`o`
    ============  ==============================================================

    Greff et al. write the coupling as :math:`f = 1 - i`; here the forget
    gate keeps its rows and peephole and :math:`i = 1 - f`, the same family
    of functions (:math:`1 - \sigma(a) = \sigma(-a)`), so that
    ``init(forget_bias=...)`` opens the forget gate as in the other variants.
    For ``fgr`` the previous gates are a third state array ``gates``,
    :math:`[i, f, o]` of size 3H, zero at the start like ``h`` and ``c``.

    Parameters: the gate rows present, in the order i, f, g, o, stacked as
    in :class:`LSTMCell`: ``weight_ih`` (G*H, D), ``weight_hh`` (G*H, H),
    ``bias_ih`` and ``bias_hh`` (G*H,) with G = 3 for ``nig``, ``nfg``,
    ``nog`` and ``cifg`` (rows f, g, o for ``cifg``) and 4 otherwise; the
    peephole diagonals ``weight_ci``, ``weight_cf``, ``weight_co`` (H,) of
    the gates present (none for ``np``); for ``fgr``, ``weight_gg`` (3H, 3H),
    the rows :math:`[R_i; R_f; R_o]` from ``[i, f, o]`` of the previous step.
    The state is ``(h, c)``, and ``(h, c, gates)`` for ``fgr``.

    Args:
        input_size: D.
        hidden_size: H.
        bias: whether to use ``bias_ih`` and ``bias_hh``.
        variant: one of :data:`rnngrad.cells.GREFF_VARIANTS`.
    """

    variant: str = "vanilla"

    def __post_init__(self):
        super().__post_init__()
        check_choice("variant", self.variant, GREFF_VARIANTS)

    @property
    def gates(self):
        """The gate blocks present, in row order: a subset of ``("i", "f", "g", "o")``."""
        return tuple(gate for gate in "ifgo" if gate != _DROPPED.get(self.variant))

    @property
    def peepholes(self):
        """The gates with a peephole connection (those of ``i``, ``f``, ``o`` present; none for ``np``)."""
        return () if self.variant == "np" else tuple(gate for gate in self.gates if gate != "g")

    @property
    def forget_gate_block(self):
        """The forget gate's block index in the gate rows, ``None`` for ``nfg``."""
        return self.gates.index("f") if "f" in self.gates else None

    @property
    def state_sizes(self):
        H = self.hidden_size
        return (H, H, 3 * H) if self.variant == "fgr" else (H, H)

    @property
    def state_names(self):
        return ("h", "c", "gates") if self.variant == "fgr" else ("h", "c")

    def param_shapes(self):
        H, D, G = self.hidden_size, self.input_size, len(self.gates)
        shapes = {"weight_ih": (G * H, D), "weight_hh": (G * H, H)}
        if self.bias:
            shapes.update(bias_ih=(G * H,), bias_hh=(G * H,))
        shapes.update({f"weight_c{gate}": (H,) for gate in self.peepholes})
        if self.variant == "fgr":
            shapes["weight_gg"] = (3 * H, 3 * H)
        return shapes

    def step_with_gates(self, params, x, state):
        """What ``step`` returns, and the gate activations ``{"i", "f", "g", "o"}`` (B, H) it used (none fixed at 1)."""
        h, c = state[0], state[1]
        pre = affine(x, params["weight_ih"], params.get("bias_ih")) + affine(
            h, params["weight_hh"], params.get("bias_hh")
        )
        blocks = dict(zip(self.gates, np.split(pre, len(self.gates), axis=-1)))
        if self.variant == "fgr":
            for name, recurrence in zip("ifo", np.split(np.dot(state[2], params["weight_gg"].T), 3, axis=-1)):
                blocks[name] = blocks[name] + recurrence

        def open_gate(name, cell_state):
            if name in self.peepholes:
                return sigmoid(blocks[name] + params[f"weight_c{name}"] * cell_state)
            return sigmoid(blocks[name])

        gates = {}
        if "f" in blocks:
            gates["f"] = open_gate("f", c)
        if self.variant == "cifg":
            gates["i"] = 1.0 - gates["f"]
        elif "i" in blocks:
            gates["i"] = open_gate("i", c)
        gates["g"] = blocks["g"] if self.variant == "niaf" else tanh(blocks["g"])
        cell_state = gates.get("f", 1.0) * c + gates.get("i", 1.0) * gates["g"]
        if "o" in blocks:
            gates["o"] = open_gate("o", cell_state)
        h_new = gates.get("o", 1.0) * (cell_state if self.variant == "noaf" else tanh(cell_state))
        if self.variant == "fgr":
            previous = np.concatenate([gates["i"], gates["f"], gates["o"]], axis=-1)
            return h_new, (h_new, cell_state, previous), gates
        return h_new, (h_new, cell_state), gates
