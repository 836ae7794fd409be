"""The long short-term memory cell."""

from dataclasses import dataclass

import autograd.numpy as np

from .._validation import check_positive_int
from ..activations import sigmoid, tanh
from .base import Cell, StepFromGates, affine

__all__ = ["LSTMCell"]


@dataclass(frozen=True)
class LSTMCell(StepFromGates, Cell):
    r"""Long short-term memory cell (Hochreiter and Schmidhuber 1997), torch's form.

    .. math::

        \begin{aligned}
        i &= \sigma(x W_{ii}^\top + b_{ii} + h W_{hi}^\top + b_{hi}) && \text{input gate}\\
        f &= \sigma(x W_{if}^\top + b_{if} + h W_{hf}^\top + b_{hf}) && \text{forget gate}\\
        g &= \tanh(x W_{ig}^\top + b_{ig} + h W_{hg}^\top + b_{hg}) && \text{candidate}\\
        o &= \sigma(x W_{io}^\top + b_{io} + h W_{ho}^\top + b_{ho}) && \text{output gate}\\
        c' &= f \odot c + i \odot g\\
        h' &= o \odot \tanh(c') \quad (\text{then } h' W_{hr}^\top \text{ if } P > 0)
        \end{aligned}

    The cell state :math:`c` is the memory: the forget gate decides how much
    of it survives a step, the input gate how much of the candidate is
    written, the output gate how much is shown as :math:`h`. Because
    :math:`\partial c' / \partial c = \operatorname{diag}(f)`, an open forget
    gate carries both the memory and its gradient unchanged across any number
    of steps: the *constant error carousel*.

    Parameters (torch's packed layout, gate rows in the order i, f, g, o):
    ``weight_ih`` (4H, D), ``weight_hh`` (4H, P or H), ``bias_ih`` (4H,),
    ``bias_hh`` (4H,), and ``weight_hr`` (P, H) when ``proj_size`` P > 0.
    The state is ``(h, c)`` with ``h`` of size P (or H) and ``c`` of size H.

    Args:
        input_size: D.
        hidden_size: H.
        bias: whether to use ``bias_ih`` and ``bias_hh``.
        proj_size: P; 0 (default) for no projection, else ``0 < P < H``.
    """

    proj_size: int = 0

    forget_gate_block = 1  # gate rows i, f, g, o

    def __post_init__(self):
        super().__post_init__()
        object.__setattr__(self, "proj_size", check_positive_int("proj_size", self.proj_size, minimum=0))
        if self.proj_size >= self.hidden_size:
            raise ValueError(
                f"proj_size: expected 0 <= proj_size < hidden_size={self.hidden_size}, got {self.proj_size}"
            )

    @property
    def state_sizes(self):
        return (self.proj_size or self.hidden_size, self.hidden_size)

    @property
    def state_names(self):
        return ("h", "c")

    def param_shapes(self):
        H, D, R = self.hidden_size, self.input_size, self.proj_size or self.hidden_size
        shapes = {"weight_ih": (4 * H, D), "weight_hh": (4 * H, R)}
        if self.bias:
            shapes.update(bias_ih=(4 * H,), bias_hh=(4 * H,))
        if self.proj_size:
            shapes["weight_hr"] = (self.proj_size, H)
        return shapes

    def step_with_gates(self, params, x, state):
        """What ``step`` returns, and the gate activations ``{"i", "f", "g", "o"}`` (B, H) it used."""
        h, c = state
        a_i, a_f, a_g, a_o = self.gate_preactivations(params, x, h)
        gates = {"i": sigmoid(a_i), "f": sigmoid(a_f), "g": tanh(a_g), "o": sigmoid(a_o)}
        cell_state = gates["f"] * c + gates["i"] * gates["g"]
        return (*self.emit(params, gates["o"] * tanh(cell_state), cell_state), gates)

    def gate_preactivations(self, params, x, h):
        """The four (B, H) pre-activations ``(i, f, g, o)`` of ``x W_ih^T + b_ih + h W_hh^T + b_hh``."""
        gates = affine(x, params["weight_ih"], params.get("bias_ih")) + affine(
            h, params["weight_hh"], params.get("bias_hh")
        )
        return np.split(gates, 4, axis=-1)

    def emit(self, params, h_new, cell_state):
        """``(output, new_state)`` from the gated ``h`` (projected when P > 0) and the new cell state."""
        if self.proj_size:
            h_new = np.dot(h_new, params["weight_hr"].T)
        return h_new, (h_new, cell_state)
