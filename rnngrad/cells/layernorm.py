r"""Layer-normalized LSTM and GRU cells (Ba, Kiros and Hinton 2016).

Layer normalization rescales a vector of pre-activations by its own mean
and standard deviation over the feature axis, per sequence and per step:

.. math::

    \operatorname{LN}(a; \gamma, \beta) = \gamma \odot \frac{a - \mu(a)}{\sqrt{\sigma^2(a) + \epsilon}} + \beta,
    \qquad \epsilon = 10^{-5}

so the gates see inputs of a fixed scale whatever the size of ``x`` and
``h``, which steadies training over long sequences. Where it is applied, as in
the paper: to the input projection and to the recurrent projection
separately, each over all the gate rows together (before the split into
gates), and, in the LSTM, to the new cell state before its ``tanh``. The
cell state itself, and so the constant error carousel, is not normalized.
"""

from dataclasses import dataclass

import autograd.numpy as np
import numpy as onp

from ..activations import sigmoid, tanh
from .base import Cell, StepFromGates
from .lstm import LSTMCell

__all__ = ["LayerNormLSTMCell", "LayerNormGRUCell", "layer_norm"]

EPSILON = 1e-5


def layer_norm(a, gain, bias=None, epsilon=EPSILON):
    """``LN(a; gain, bias)`` over the last axis."""
    centred = a - np.mean(a, axis=-1, keepdims=True)
    normed = centred / np.sqrt(np.mean(centred**2, axis=-1, keepdims=True) + epsilon)
    normed = normed * gain
    return normed if bias is None else normed + bias


class _LayerNormInit:
    """Gains start at 1 and shifts at 0, so that LN starts as a pure standardization."""

    def init_param(self, name, shape, rng):
        if name.startswith("norm_"):
            return onp.zeros(shape) if name.endswith("_bias") else onp.ones(shape)
        return super().init_param(name, shape, rng)


@dataclass(frozen=True)
class LayerNormLSTMCell(_LayerNormInit, LSTMCell):
    r"""LSTM with layer normalization (Ba et al. 2016, section 3.1 and eq. 20-22).

    .. math::

        \begin{aligned}
        (i, f, g, o) &= \operatorname{LN}(x W_{ih}^\top; \gamma_{ih}) + \operatorname{LN}(h W_{hh}^\top; \gamma_{hh})
                        + b_{ih} + b_{hh}\\
        c' &= \sigma(f) \odot c + \sigma(i) \odot \tanh(g)\\
        h' &= \sigma(o) \odot \tanh\bigl(\operatorname{LN}(c'; \gamma_c, \beta_c)\bigr)
        \end{aligned}

    Parameters: ``weight_ih`` (4H, D), ``weight_hh`` (4H, P or H), ``bias_ih``,
    ``bias_hh`` (4H,) when ``bias``, ``norm_ih`` and ``norm_hh`` (4H,) gains,
    ``norm_cell_weight`` and ``norm_cell_bias`` (H,), and ``weight_hr`` (P, H)
    with a projection. Gains start at 1, shifts at 0.
    """

    def param_shapes(self):
        shapes = super().param_shapes()
        H = self.hidden_size
        shapes.update(norm_ih=(4 * H,), norm_hh=(4 * H,), norm_cell_weight=(H,), norm_cell_bias=(H,))
        return shapes

    def step_with_gates(self, params, x, state):
        h, c = state
        gates = layer_norm(np.dot(x, params["weight_ih"].T), params["norm_ih"]) + layer_norm(
            np.dot(h, params["weight_hh"].T), params["norm_hh"]
        )
        if self.bias:
            gates = gates + params["bias_ih"] + params["bias_hh"]
        a_i, a_f, a_g, a_o = np.split(gates, 4, axis=-1)
        gates = {"i": sigmoid(a_i), "f": sigmoid(a_f), "g": tanh(a_g), "o": sigmoid(a_o)}
        cell_state = gates["f"] * c + gates["i"] * gates["g"]
        shown = layer_norm(cell_state, params["norm_cell_weight"], params["norm_cell_bias"])
        return (*self.emit(params, gates["o"] * tanh(shown), cell_state), gates)


@dataclass(frozen=True)
class LayerNormGRUCell(_LayerNormInit, StepFromGates, Cell):
    r"""GRU (torch's reset-after form) with layer normalization.

    .. math::

        \begin{aligned}
        (a_r, a_z, a_n) &= \operatorname{LN}(x W_{ih}^\top; \gamma_{ih}) + b_{ih}, \qquad
        (u_r, u_z, u_n) = \operatorname{LN}(h W_{hh}^\top; \gamma_{hh}) + b_{hh}\\
        r &= \sigma(a_r + u_r), \quad z = \sigma(a_z + u_z), \quad n = \tanh(a_n + r \odot u_n)\\
        h' &= (1 - z) \odot n + z \odot h
        \end{aligned}

    Parameters: ``weight_ih`` (3H, D), ``weight_hh`` (3H, H), ``bias_ih``,
    ``bias_hh`` (3H,) when ``bias``, and the gains ``norm_ih``, ``norm_hh`` (3H,).
    """

    def param_shapes(self):
        H, D = self.hidden_size, self.input_size
        shapes = {"weight_ih": (3 * H, D), "weight_hh": (3 * H, H)}
        if self.bias:
            shapes.update(bias_ih=(3 * H,), bias_hh=(3 * H,))
        shapes.update(norm_ih=(3 * H,), norm_hh=(3 * H,))
        return shapes

    def step_with_gates(self, params, x, state):
        (h,) = state
        gi = layer_norm(np.dot(x, params["weight_ih"].T), params["norm_ih"])
        gh = layer_norm(np.dot(h, params["weight_hh"].T), params["norm_hh"])
        if self.bias:
            gi = gi + params["bias_ih"]
            gh = gh + params["bias_hh"]
        gi_r, gi_z, gi_n = np.split(gi, 3, axis=-1)
        gh_r, gh_z, gh_n = np.split(gh, 3, axis=-1)
        gates = {"r": sigmoid(gi_r + gh_r), "z": sigmoid(gi_z + gh_z)}
        gates["n"] = tanh(gi_n + gates["r"] * gh_n)
        h_new = (1.0 - gates["z"]) * gates["n"] + gates["z"] * h
        return h_new, (h_new,), gates
