"""The gated recurrent unit."""

from dataclasses import dataclass

import autograd.numpy as np

from .._validation import check_bool
from ..activations import sigmoid, tanh
from .base import Cell, StepFromGates, affine

__all__ = ["GRUCell"]


@dataclass(frozen=True)
class GRUCell(StepFromGates, Cell):
    r"""Gated recurrent unit (Cho et al. 2014) in torch's reset-after form.

    .. math::

        \begin{aligned}
        r &= \sigma(x W_{ir}^\top + b_{ir} + h W_{hr}^\top + b_{hr}) && \text{reset gate}\\
        z &= \sigma(x W_{iz}^\top + b_{iz} + h W_{hz}^\top + b_{hz}) && \text{update gate}\\
        n &= \tanh\bigl(x W_{in}^\top + b_{in} + r \odot (h W_{hn}^\top + b_{hn})\bigr) && \text{candidate}\\
        h' &= (1 - z) \odot n + z \odot h
        \end{aligned}

    The update gate interpolates between keeping the state (:math:`z = 1`,
    Jacobian :math:`\partial h'/\partial h = I`) and replacing it with the
    candidate (:math:`z = 0`); the reset gate decides how much of the old
    state the candidate may see. Note the trap torch documents too: the reset
    gate multiplies :math:`h W_{hn}^\top + b_{hn}` *after* the matmul (the
    form of cuDNN), where the paper applies it to :math:`h` before.

    With ``reset_after=False`` the cell is the original reset-before form of
    Cho et al. (2014), with the same parameters:

    .. math::

        n = \tanh\bigl(x W_{in}^\top + b_{in} + (r \odot h) W_{hn}^\top + b_{hn}\bigr)

    Parameters (torch's layout, gate rows in the order r, z, n):
    ``weight_ih`` (3H, D), ``weight_hh`` (3H, H), ``bias_ih`` (3H,),
    ``bias_hh`` (3H,).

    Args:
        input_size: D.
        hidden_size: H.
        bias: whether to use ``bias_ih`` and ``bias_hh``.
        reset_after: ``True`` (torch's and cuDNN's form, the default) or
            ``False`` (the paper's: reset applied to ``h`` before the matmul;
            Keras' ``reset_after=False``). Only the default has a fused kernel.
    """

    reset_after: bool = True

    def __post_init__(self):
        super().__post_init__()
        check_bool("reset_after", self.reset_after)

    def param_shapes(self):
        H, D = self.hidden_size, self.input_size
        shapes = {"weight_ih": (3 * H, D), "weight_hh": (3 * H, H)}
        if self.bias:
            shapes.update(bias_ih=(3 * H,), bias_hh=(3 * H,))
        return shapes

    def step_with_gates(self, params, x, state):
        """What ``step`` returns, and the gate activations ``{"r", "z", "n"}`` (B, H) it used (``n`` the candidate)."""
        (h,) = state
        gi_r, gi_z, gi_n = np.split(affine(x, params["weight_ih"], params.get("bias_ih")), 3, axis=-1)
        if self.reset_after:
            gh_r, gh_z, gh_n = np.split(affine(h, params["weight_hh"], params.get("bias_hh")), 3, axis=-1)
            gates = {"r": sigmoid(gi_r + gh_r), "z": sigmoid(gi_z + gh_z)}
            gates["n"] = tanh(gi_n + gates["r"] * gh_n)
        else:
            H = self.hidden_size
            bias_hh = params.get("bias_hh")
            gh_r, gh_z = np.split(
                affine(h, params["weight_hh"][: 2 * H], None if bias_hh is None else bias_hh[: 2 * H]), 2, axis=-1
            )
            gates = {"r": sigmoid(gi_r + gh_r), "z": sigmoid(gi_z + gh_z)}
            gates["n"] = tanh(
                gi_n
                + affine(gates["r"] * h, params["weight_hh"][2 * H :], None if bias_hh is None else bias_hh[2 * H :])
            )
        h_new = (1.0 - gates["z"]) * gates["n"] + gates["z"] * h
        return h_new, (h_new,), gates
