r"""The layers around a recurrent core: embedding, linear readout and losses.

Everything here is written with :mod:`autograd.numpy` and keeps parameters in
plain dicts, like the models, so a whole network is one nested dict that
autograd differentiates. Parameter names and layouts are torch's
(``nn.Embedding.weight`` (V, E); ``nn.Linear.weight`` (out, in) and ``bias``).

Shapes: ``...`` is any leading shape (for example (T, B) or (B,)), C the
number of classes, V the vocabulary size, E the embedding size.
"""

import autograd.numpy as np
import numpy as onp
from autograd.tracer import getval

from ._validation import check_float_dtype, check_params, check_positive_int, shape_of
from .sequence import lengths_to_mask
from .utilities import make_rng

__all__ = [
    "embedding_init",
    "embedding",
    "linear_init",
    "linear",
    "log_softmax",
    "cross_entropy",
    "mean_squared_error",
    "accuracy",
]


def embedding_init(num_embeddings, embedding_dim, seed=None, *, dtype=onp.float64):
    """Draw an embedding table ``{"weight": (V, E)}`` from N(0, 1), as torch's ``nn.Embedding``."""
    num_embeddings = check_positive_int("num_embeddings", num_embeddings)
    embedding_dim = check_positive_int("embedding_dim", embedding_dim)
    dtype = check_float_dtype("dtype", dtype)
    rng = make_rng(seed)
    return {"weight": rng.standard_normal((num_embeddings, embedding_dim)).astype(dtype)}


def embedding(params, ids):
    """Look up rows of the table: ``ids`` (...) integers in [0, V) -> (..., E).

    The gradient with respect to the table accumulates over repeated ids.
    """
    table = params["weight"] if hasattr(params, "keys") else None
    if table is None or len(shape_of(table)) != 2:
        raise TypeError(f"params: expected a dict with a (V, E) array 'weight', got {type(params).__name__}")
    vocab = shape_of(table)[0]
    ids = _check_int_array("ids", ids)
    if ids.size and (ids.min() < 0 or ids.max() >= vocab):
        raise ValueError(
            f"ids: expected integers in [0, {vocab}) (the vocabulary size), got [{ids.min()}, {ids.max()}]"
        )
    return table[ids]


def linear_init(in_features, out_features, seed=None, *, bias=True, dtype=onp.float64):
    r"""Draw ``{"weight": (out, in), "bias": (out,)}`` uniform in :math:`[-1/\sqrt{in}, 1/\sqrt{in}]` (torch's)."""
    in_features = check_positive_int("in_features", in_features)
    out_features = check_positive_int("out_features", out_features)
    dtype = check_float_dtype("dtype", dtype)
    rng = make_rng(seed)
    scale = 1.0 / onp.sqrt(in_features)
    params = {"weight": rng.uniform(-scale, scale, (out_features, in_features)).astype(dtype)}
    if bias:
        params["bias"] = rng.uniform(-scale, scale, (out_features,)).astype(dtype)
    return params


def linear(params, x):
    r"""Affine map :math:`y = x W^\top + b`: ``x`` (..., in) -> (..., out)."""
    if not hasattr(params, "keys") or "weight" not in params:
        raise TypeError(f"params: expected a dict with 'weight' (and optionally 'bias'), got {type(params).__name__}")
    expected = {"weight": shape_of(params["weight"])}
    if "bias" in params:
        expected["bias"] = expected["weight"][:1]
    check_params(params, expected)
    in_features = expected["weight"][1]
    if not shape_of(x) or shape_of(x)[-1] != in_features:
        raise ValueError(f"x: expected the last axis to have size in_features={in_features}, got shape {shape_of(x)}")
    y = np.dot(x, params["weight"].T)
    return y + params["bias"] if "bias" in params else y


def log_softmax(logits):
    r"""Log-probabilities over the last axis, :math:`z_c - \log \sum_k e^{z_k}`, without overflow.

    The maximum :math:`m` is subtracted before exponentiating,
    :math:`\log\sum_k e^{z_k} = m + \log\sum_k e^{z_k - m}`. It is taken as a
    constant (no gradient flows through it): the identity holds for every
    :math:`m`, so derivatives of every order are exact.
    """
    shift = onp.max(getval(logits), axis=-1, keepdims=True)
    shifted = logits - shift
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))


def cross_entropy(logits, targets, *, mask=None, lengths=None):
    r"""Mean softmax cross-entropy :math:`-\log p(y)` over the counted positions.

    Args:
        logits: (..., C) unnormalised scores.
        targets: (...) class indices in [0, C).
        mask: (...) booleans, or weights >= 0: position ``j`` counts with
            weight ``mask[j]``; the loss is
            :math:`\sum_j w_j \ell_j / \max(\sum_j w_j, 1)`.
        lengths: for time-major (T, B, C) logits, B integers: step t of
            sequence b counts when ``t < lengths[b]`` (the models' rule).
            Give ``mask`` or ``lengths``, not both.

    Returns:
        A scalar, in nats. Padded positions contribute nothing, value or gradient.
    """
    logits_shape = shape_of(logits)
    if len(logits_shape) < 1:
        raise ValueError(f"logits: expected an array (..., C), got shape {logits_shape}")
    num_classes = logits_shape[-1]
    targets = _check_int_array("targets", targets)
    if targets.shape != logits_shape[:-1]:
        raise ValueError(
            f"targets: expected shape {logits_shape[:-1]} (the logits' shape without the class axis), "
            f"got {targets.shape}"
        )
    if targets.size and (targets.min() < 0 or targets.max() >= num_classes):
        raise ValueError(
            f"targets: expected class indices in [0, {num_classes}), got [{targets.min()}, {targets.max()}]"
        )
    one_hot = targets[..., None] == onp.arange(num_classes)
    nll = -np.sum(np.where(one_hot, log_softmax(logits), 0.0), axis=-1)
    return _weighted_mean(nll, _weights(mask, lengths, targets.shape))


def mean_squared_error(predictions, targets, *, mask=None, lengths=None):
    r"""Mean of :math:`(\hat y - y)^2` over every element of the counted positions.

    Args:
        predictions, targets: arrays of one shape (..., K).
        mask, lengths: as in :func:`cross_entropy`, over the leading (...) axes.
    """
    shape = shape_of(predictions)
    target_shape = shape_of(targets)
    if shape != target_shape:
        raise ValueError(f"targets: expected the predictions' shape {shape}, got {target_shape}")
    if not shape:
        return (predictions - targets) ** 2
    squared = np.mean((predictions - targets) ** 2, axis=-1)
    return _weighted_mean(squared, _weights(mask, lengths, shape[:-1]))


def accuracy(logits, targets, *, mask=None, lengths=None):
    """The fraction of counted positions whose arg-max class is the target (a float, no gradient)."""
    predicted = onp.argmax(getval(logits), axis=-1)
    targets = _check_int_array("targets", targets)
    if targets.shape != predicted.shape:
        raise ValueError(f"targets: expected shape {predicted.shape}, got {targets.shape}")
    weights = _weights(mask, lengths, targets.shape)
    correct = (predicted == targets).astype(onp.float64)
    if weights is None:
        return float(correct.mean()) if correct.size else 0.0
    return float((correct * weights).sum() / max(weights.sum(), 1.0))


def _check_int_array(name, value):
    array = onp.asarray(getval(value))
    if array.dtype == onp.bool_ or not onp.issubdtype(array.dtype, onp.integer):
        raise TypeError(f"{name}: expected integers, got dtype {array.dtype}")
    return array


def _weights(mask, lengths, shape):
    """Per-position weights (float array of ``shape``) from a mask or lengths, or ``None``."""
    if mask is not None and lengths is not None:
        raise ValueError("mask, lengths: give one of them, not both")
    if lengths is not None:
        if len(shape) != 2:
            raise ValueError(f"lengths: apply to time-major (T, B) positions, but the positions have shape {shape}")
        lengths = onp.asarray(lengths)
        if lengths.dtype == onp.bool_ or not onp.issubdtype(lengths.dtype, onp.integer):
            raise TypeError(f"lengths: expected integers, got dtype {lengths.dtype}")
        if lengths.shape != (shape[1],):
            raise ValueError(f"lengths: expected shape ({shape[1]},) (one length per sequence), got {lengths.shape}")
        if lengths.size and (lengths.min() < 0 or lengths.max() > shape[0]):
            raise ValueError(f"lengths: expected values in [0, {shape[0]}], got {lengths.tolist()}")
        return lengths_to_mask(lengths, shape[0]).astype(onp.float64)
    if mask is None:
        return None
    weights = onp.asarray(mask)
    if not (weights.dtype == onp.bool_ or onp.issubdtype(weights.dtype, onp.number)):
        raise TypeError(f"mask: expected booleans or real weights, got dtype {weights.dtype}")
    if weights.shape != tuple(shape):
        raise ValueError(f"mask: expected shape {tuple(shape)}, got {weights.shape}")
    weights = weights.astype(onp.float64)
    if weights.size and weights.min() < 0:
        raise ValueError("mask: expected weights >= 0, got a negative weight")
    return weights


def _weighted_mean(values, weights):
    if weights is None:
        return np.mean(values)
    weights = weights.astype(getval(values).dtype)
    return np.sum(values * weights) / max(float(weights.sum()), 1.0)
