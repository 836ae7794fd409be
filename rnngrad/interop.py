r"""Weights to and from Keras 3's recurrent layers.

A torch ``state_dict`` needs no conversion: an rnngrad params dict has its
keys and shapes (``{k: torch.from_numpy(v)}`` and back). Keras stores the
same numbers transposed, with one bias instead of two and, for the GRU,
another gate order:

=========================  ======================================  ==========================================
                           rnngrad / torch                         Keras 3
=========================  ======================================  ==========================================
LSTM input weights         ``weight_ih`` (4H, D), rows i, f, g, o  ``kernel`` (D, 4H), columns i, f, c, o
LSTM recurrent weights     ``weight_hh`` (4H, H)                   ``recurrent_kernel`` (H, 4H)
LSTM bias                  ``bias_ih`` + ``bias_hh`` (4H,)          ``bias`` (4H,)
GRU input weights          ``weight_ih`` (3H, D), rows r, z, n     ``kernel`` (D, 3H), columns z, r, h
GRU recurrent weights      ``weight_hh`` (3H, H)                   ``recurrent_kernel`` (H, 3H)
GRU bias, reset after      ``bias_ih``, ``bias_hh`` (3H,)           ``bias`` (2, 3H): input row, recurrent row
GRU bias, reset before     ``bias_ih`` + ``bias_hh`` (3H,)          ``bias`` (3H,)
=========================  ======================================  ==========================================

Going to Keras, the two LSTM (or reset-before GRU) biases add up into one;
coming back, the sum lands in ``bias_ih`` and ``bias_hh`` is zero, which
computes the same function. A GRU converts only to a Keras GRU of the same
form (``reset_after`` equal on both sides): the two forms are different
functions. Keras has no LSTM projection, so ``proj_size > 0`` does not convert.
"""

import numpy as onp

from ._validation import FLOAT_DTYPES, check_params
from .cells import GRUCell, LSTMCell

__all__ = ["to_keras", "from_keras", "cell_to_keras", "cell_from_keras"]

_GRU_TO_KERAS = (1, 0, 2)  # Keras block j holds rnngrad block _GRU_TO_KERAS[j]: (z, r, n) from (r, z, n)


def _reorder(rows, hidden_size, order):
    blocks = [rows[i * hidden_size : (i + 1) * hidden_size] for i in order]
    return onp.concatenate(blocks, axis=0)


def _check_cell(cell):
    if type(cell) not in (LSTMCell, GRUCell):
        raise TypeError(f"cell: only LSTMCell and GRUCell have a Keras layout, got {type(cell).__name__}")
    if isinstance(cell, LSTMCell) and cell.proj_size:
        raise ValueError(f"cell: Keras' LSTM has no projection, got proj_size={cell.proj_size}")


def _check_model(model):
    if not all(hasattr(model, attribute) for attribute in ("cells", "split_params", "param_shapes")):
        raise TypeError(f"model: expected an rnngrad model (LSTM, GRU, Recurrent), got {type(model).__name__}")


def _weight_arrays(weights, name="weights"):
    """Keras weights as a list of float32 or float64 arrays, one dtype for all."""
    if not isinstance(weights, (tuple, list)):
        raise TypeError(f"{name}: expected a list of arrays (layer.get_weights()), got {type(weights).__name__}")
    arrays = []
    for i, weight in enumerate(weights):
        try:
            array = onp.asarray(weight)
        except ValueError as error:  # ragged nested lists
            raise TypeError(f"{name}[{i}]: expected an array, got {type(weight).__name__}") from error
        if array.dtype not in FLOAT_DTYPES:
            raise TypeError(f"{name}[{i}]: expected dtype float32 or float64, got {array.dtype}")
        arrays.append(array)
    if len({array.dtype for array in arrays}) > 1:
        raise TypeError(f"{name}: all arrays must share one dtype, got {[str(array.dtype) for array in arrays]}")
    return arrays


def cell_to_keras(cell, params):
    """One cell's params as the list ``layer.get_weights()`` of the matching Keras layer returns.

    Args:
        cell: an :class:`~rnngrad.LSTMCell` (no projection) or :class:`~rnngrad.GRUCell`.
        params: the cell's parameter dict (keys without layer suffix).

    Returns:
        ``[kernel, recurrent_kernel, bias]``, or ``[kernel, recurrent_kernel]`` when ``bias=False``.
    """
    _check_cell(cell)
    check_params(params, cell.param_shapes())
    H = cell.hidden_size
    order = _GRU_TO_KERAS if isinstance(cell, GRUCell) else (0, 1, 2, 3)
    kernel = _reorder(params["weight_ih"], H, order).T
    recurrent_kernel = _reorder(params["weight_hh"], H, order).T
    weights = [onp.ascontiguousarray(kernel), onp.ascontiguousarray(recurrent_kernel)]
    if cell.bias:
        bias_ih = _reorder(params["bias_ih"], H, order)
        bias_hh = _reorder(params["bias_hh"], H, order)
        if isinstance(cell, GRUCell) and cell.reset_after:
            weights.append(onp.stack([bias_ih, bias_hh]))
        else:
            weights.append(bias_ih + bias_hh)
    return weights


def cell_from_keras(cell, weights):
    """The inverse of :func:`cell_to_keras`: a Keras layer's ``get_weights()`` as the cell's params.

    Raises:
        ValueError: when the number or shapes of the arrays do not fit ``cell``.
    """
    _check_cell(cell)
    H = cell.hidden_size
    gates = 3 if isinstance(cell, GRUCell) else 4
    order = _GRU_TO_KERAS if isinstance(cell, GRUCell) else (0, 1, 2, 3)  # a permutation that is its own inverse
    expected = [(cell.input_size, gates * H), (H, gates * H)]
    if cell.bias:
        expected.append((2, gates * H) if isinstance(cell, GRUCell) and cell.reset_after else (gates * H,))
    weights = _weight_arrays(weights)
    shapes = [w.shape for w in weights]
    if shapes != expected:
        raise ValueError(f"weights: expected arrays of shapes {expected} for {cell!r}, got {shapes}")
    params = {
        "weight_ih": _reorder(weights[0].T, H, order),
        "weight_hh": _reorder(weights[1].T, H, order),
    }
    if cell.bias:
        bias = weights[2]
        if bias.ndim == 2:
            params["bias_ih"] = _reorder(bias[0], H, order)
            params["bias_hh"] = _reorder(bias[1], H, order)
        else:
            params["bias_ih"] = _reorder(bias, H, order)
            params["bias_hh"] = onp.zeros_like(params["bias_ih"])
    return {key: onp.ascontiguousarray(value) for key, value in params.items()}


def to_keras(model, params):
    """A model's params as Keras weight lists, ``weights[k][d]`` for layer k and direction d.

    For a bidirectional layer, ``weights[k][0] + weights[k][1]`` is what
    ``keras.layers.Bidirectional(...).set_weights`` takes (forward first).
    """
    _check_model(model)
    check_params(params, model.param_shapes())
    return [
        [cell_to_keras(cell, p) for cell, p in zip(layer, ps)]
        for layer, ps in zip(model.cells, model.split_params(params))
    ]


def from_keras(model, weights):
    """The inverse of :func:`to_keras`: ``weights[k][d]`` lists to an rnngrad params dict for ``model``.

    With ``learn_initial_state``, Keras has no weights for the initial
    states, and they come back as zeros, their value after ``init``.
    """
    _check_model(model)
    if not isinstance(weights, (tuple, list)) or not all(isinstance(layer, (tuple, list)) for layer in weights):
        raise TypeError(f"weights: expected a list of layers, each a list of weight lists, got {weights!r:.80}")
    if len(weights) != model.num_layers or any(len(layer) != model.num_directions for layer in weights):
        raise ValueError(
            f"weights: expected {model.num_layers} layers of {model.num_directions} weight lists, "
            f"got {[len(layer) for layer in weights]}"
        )
    params = {}
    for k, layer in enumerate(model.cells):
        for d, cell in enumerate(layer):
            converted = cell_from_keras(cell, _weight_arrays(weights[k][d], f"weights[{k}][{d}]"))
            params.update({name + model.key_suffix(k, d): value for name, value in converted.items()})
    if model.learn_initial_state:
        # Keras keeps no initial state among a layer's weights: the learned ones start where init() starts them
        dtype = next(iter(params.values())).dtype
        shapes = model.param_shapes()
        params = {key: params[key] if key in params else onp.zeros(shapes[key], dtype=dtype) for key in shapes}
    return params
