r"""Whole networks for the built-in tasks: a recurrent core between an input layer and a readout.

:class:`RecurrentNet` is the sequence classifier, regressor, tagger or
language model::

    x (T, B) token ids --embedding--> (T, B, E) --+
    x (T, B, D) features ---------------------------+--> core (RNN/LSTM/GRU) --> readout --> y

with the readout taken from the final hidden state (``readout="final"``,
y (B, K): for a bidirectional core the forward direction's state after each
sequence's last valid step beside the reverse direction's state after step 0,
as torch's ``h_n``) or from every step (``readout="steps"``, y (T, B, K)).

:class:`BagOfEmbeddings` is the order-blind baseline: the mean of the token
embeddings over the valid steps, then a linear map. It sees which words occur
and how often, never in which order.

Parameters are nested dicts whose dotted names are those of the torch module
built the same way (``embedding.weight``, ``rnn.weight_ih_l0``,
``readout.bias``), so :mod:`rnngrad.io` saves and converts them directly.
"""

import autograd.numpy as np
import numpy as onp
from autograd.tracer import getval

from . import nn
from ._runners import prefix_mask
from ._validation import check_choice, check_lengths, check_positive_int
from .recurrent import Recurrent
from .utilities import make_rng

__all__ = ["RecurrentNet", "BagOfEmbeddings"]


class RecurrentNet:
    """Input layer, recurrent core and linear readout.

    Args:
        core: a model (:class:`rnngrad.RNN`, :class:`rnngrad.LSTM`,
            :class:`rnngrad.GRU` or any :class:`rnngrad.Recurrent`), time-major.
        num_outputs: K, the number of classes or regression targets.
        vocab_size: V for token-id input (an embedding of size
            ``core.input_size``), or ``None`` for feature input (T, B, D).
        readout: ``"final"`` (one output per sequence) or ``"steps"`` (one per step).
    """

    def __init__(self, core, num_outputs, *, vocab_size=None, readout="final"):
        if not isinstance(core, Recurrent):
            raise TypeError(f"core: expected an rnngrad.Recurrent model (RNN, LSTM, GRU), got {type(core).__name__}")
        if core.batch_first:
            raise ValueError("core: expected a time-major model (batch_first=False), got batch_first=True")
        self.core = core
        self.num_outputs = check_positive_int("num_outputs", num_outputs)
        self.vocab_size = None if vocab_size is None else check_positive_int("vocab_size", vocab_size)
        self.readout = check_choice("readout", readout, ("final", "steps"))

    def param_shapes(self):
        """Nested ``{part: {name: shape}}``."""
        shapes = {}
        if self.vocab_size is not None:
            shapes["embedding"] = {"weight": (self.vocab_size, self.core.input_size)}
        shapes["rnn"] = self.core.param_shapes()
        shapes["readout"] = {"weight": (self.num_outputs, self.core.output_size), "bias": (self.num_outputs,)}
        return shapes

    def init(self, seed=None, *, dtype=onp.float64, forget_bias=None):
        """Draw parameters (torch's initialization for each part).

        Args:
            seed: an int, a :class:`numpy.random.Generator` or ``None``.
            dtype: float64 or float32.
            forget_bias: the forget gate's total bias in every cell of the core
                (:meth:`rnngrad.Cell.init`; an error for cells without a forget
                gate). A positive value (1 is usual, Jozefowicz et al. 2015)
                opens the forget gate at the start, so the memory and its
                gradient survive many steps before training has learned to hold them.
        """
        rng = make_rng(seed)
        params = {}
        if self.vocab_size is not None:
            params["embedding"] = nn.embedding_init(self.vocab_size, self.core.input_size, rng, dtype=dtype)
        params["rnn"] = self.core.init(rng, dtype=dtype, forget_bias=forget_bias)
        params["readout"] = nn.linear_init(self.core.output_size, self.num_outputs, rng, dtype=dtype)
        return params

    def __call__(self, params, x, *, lengths=None, initial_state=None, impl=None):
        """Run the network.

        Args:
            params: nested dict with the shapes of :meth:`param_shapes`.
            x: (T, B) token ids, or (T, B, D) features when ``vocab_size`` is ``None``.
            lengths: B integers in [0, T], or ``None`` when every step counts.
            initial_state: the core's initial state (see :class:`rnngrad.Recurrent`).

        Returns:
            ``(y, final_state)``: y (B, K) or (T, B, K); with ``"steps"``, y at
            a padded step is the readout of the core's zero output (its bias),
            so leave padded steps out of the loss (``lengths`` in
            :func:`rnngrad.nn.cross_entropy`). final_state is the core's
            ``h_n`` (or ``(h_n, c_n)``), the start of the next chunk in truncated BPTT.
        """
        if self.vocab_size is not None:
            if onp.ndim(getval(x)) != 2:
                raise ValueError(f"x: expected token ids of shape (T, B), got shape {onp.shape(getval(x))}")
            x = nn.embedding(params["embedding"], x)
        output, final = self.core(params["rnn"], x, lengths=lengths, initial_state=initial_state, impl=impl)
        if self.readout == "steps":
            features = output
        else:
            h_n = final[0] if isinstance(final, tuple) else final
            last_layer = h_n[-self.core.num_directions :]
            features = np.concatenate([last_layer[d] for d in range(self.core.num_directions)], axis=-1)
        return nn.linear(params["readout"], features), final


class BagOfEmbeddings:
    """Mean of token embeddings over the valid steps, then a linear map: an order-blind classifier.

    Args:
        vocab_size: V.
        embedding_dim: E.
        num_outputs: K.
    """

    def __init__(self, vocab_size, embedding_dim, num_outputs):
        self.vocab_size = check_positive_int("vocab_size", vocab_size)
        self.embedding_dim = check_positive_int("embedding_dim", embedding_dim)
        self.num_outputs = check_positive_int("num_outputs", num_outputs)

    def param_shapes(self):
        return {
            "embedding": {"weight": (self.vocab_size, self.embedding_dim)},
            "readout": {"weight": (self.num_outputs, self.embedding_dim), "bias": (self.num_outputs,)},
        }

    def init(self, seed=None, *, dtype=onp.float64):
        rng = make_rng(seed)
        return {
            "embedding": nn.embedding_init(self.vocab_size, self.embedding_dim, rng, dtype=dtype),
            "readout": nn.linear_init(self.embedding_dim, self.num_outputs, rng, dtype=dtype),
        }

    def __call__(self, params, x, *, lengths=None, initial_state=None, impl=None):
        """``x`` (T, B) token ids -> ``(logits (B, K), None)``; padding is left out of the mean."""
        ids = onp.asarray(getval(x))
        if ids.ndim != 2:
            raise ValueError(f"x: expected token ids of shape (T, B), got shape {ids.shape}")
        num_steps, batch = ids.shape
        lengths = onp.full(batch, num_steps) if lengths is None else check_lengths(lengths, batch, num_steps)
        valid = prefix_mask(lengths, num_steps).astype(params["readout"]["weight"].dtype)
        vectors = nn.embedding(params["embedding"], ids)
        mean = np.sum(vectors * valid[:, :, None], axis=0) / onp.maximum(lengths, 1)[:, None]
        return nn.linear(params["readout"], mean), None
