"""The minimal gated unit."""

from dataclasses import dataclass

import autograd.numpy as np

from ..activations import sigmoid, tanh
from .base import Cell, StepFromGates, affine

__all__ = ["MGUCell"]


@dataclass(frozen=True)
class MGUCell(StepFromGates, Cell):
    r"""Minimal gated unit (Zhou, Wu, Zhang and Zhou 2016): a GRU with one gate.

    The forget gate does the work of both of the GRU's gates: it decides
    what the candidate may see of the old state and how much of it survives:

    .. math::

        \begin{aligned}
        f &= \sigma(x W_{if}^\top + b_{if} + h W_{hf}^\top + b_{hf}) && \text{forget gate}\\
        n &= \tanh\bigl(x W_{in}^\top + b_{in} + (f \odot h) W_{hn}^\top + b_{hn}\bigr) && \text{candidate}\\
        h' &= (1 - f) \odot h + f \odot n
        \end{aligned}

    As in the paper, :math:`f = 0` keeps the state (Jacobian identity) and
    :math:`f = 1` replaces it.

    Parameters (gate rows in the order f, n): ``weight_ih`` (2H, D),
    ``weight_hh`` (2H, H), ``bias_ih`` (2H,), ``bias_hh`` (2H,).
    """

    forget_gate_block = 0  # gate rows f, n

    def param_shapes(self):
        H, D = self.hidden_size, self.input_size
        shapes = {"weight_ih": (2 * H, D), "weight_hh": (2 * H, H)}
        if self.bias:
            shapes.update(bias_ih=(2 * H,), bias_hh=(2 * H,))
        return shapes

    def step_with_gates(self, params, x, state):
        """What ``step`` returns, and the gate activations ``{"f", "n"}`` (B, H) it used (``n`` the candidate)."""
        (h,) = state
        H = self.hidden_size
        bias_hh = params.get("bias_hh")
        gi_f, gi_n = np.split(affine(x, params["weight_ih"], params.get("bias_ih")), 2, axis=-1)
        gh_f = affine(h, params["weight_hh"][:H], None if bias_hh is None else bias_hh[:H])
        gates = {"f": sigmoid(gi_f + gh_f)}
        gh_n = affine(gates["f"] * h, params["weight_hh"][H:], None if bias_hh is None else bias_hh[H:])
        gates["n"] = tanh(gi_n + gh_n)
        h_new = (1.0 - gates["f"]) * h + gates["f"] * gates["n"]
        return h_new, (h_new,), gates
