"""Argument checks shared by every public entry point.

Each check raises :class:`TypeError` (wrong kind of object or dtype) or
:class:`ValueError` (right kind, wrong value or shape) with a message that
names the argument, what was expected and what was given, so that no bare
NumPy broadcasting error ever reaches a user.
"""

import numbers

import numpy as onp
from autograd.tracer import getval

FLOAT_DTYPES = (onp.dtype(onp.float32), onp.dtype(onp.float64))


def shape_of(value):
    """The shape of an array or an autograd box, as a tuple."""
    return tuple(onp.shape(getval(value)))


def check_positive_int(name, value, *, minimum=1):
    """Return ``value`` as an int, requiring an integral number ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected an integer >= {minimum}, got {value!r} ({type(value).__name__})")
    if value < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {value}")
    return int(value)


def check_bool(name, value):
    if not isinstance(value, (bool, onp.bool_)):
        raise TypeError(f"{name}: expected True or False, got {value!r} ({type(value).__name__})")
    return bool(value)


def check_probability(name, value):
    """A dropout-like rate in [0, 1)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a float in [0, 1), got {value!r} ({type(value).__name__})")
    if not 0.0 <= float(value) < 1.0:
        raise ValueError(f"{name}: expected a float in [0, 1), got {value!r}")
    return float(value)


def check_choice(name, value, choices):
    try:
        known = value in choices
    except (TypeError, ValueError):  # unhashable (a list) against a set, or an array's ambiguous truth value
        known = False
    if not known:
        raise ValueError(f"{name}: expected one of {sorted(choices)}, got {value!r}")
    return value


def check_float_dtype(name, dtype):
    """Resolve ``dtype`` and require float32 or float64 (the dtypes rnngrad computes in)."""
    try:
        resolved = onp.dtype(dtype)
    except TypeError as error:
        raise TypeError(f"{name}: expected float32 or float64, got {dtype!r}") from error
    if resolved not in FLOAT_DTYPES:
        raise TypeError(f"{name}: expected float32 or float64, got {resolved}")
    return resolved


def check_params(params, expected_shapes, name="params"):
    """Check a parameter dict against ``{key: shape}`` and return its common dtype.

    The keys must match exactly (no missing, no unknown ones: an unknown key
    is almost always a typo for a missing one), every value must be a
    float32 or float64 array of the expected shape, and all must share one
    dtype, which becomes the dtype of the computation.
    """
    if not hasattr(params, "keys") or not hasattr(params, "__getitem__"):
        raise TypeError(f"{name}: expected a dict of arrays, got {type(params).__name__}")
    missing = [key for key in expected_shapes if key not in params]
    unknown = [key for key in params if key not in expected_shapes]
    if missing or unknown:
        parts = []
        if missing:
            parts.append(f"missing keys {missing}")
        if unknown:
            parts.append(f"unknown keys {unknown}")
        raise ValueError(f"{name}: {' and '.join(parts)}; expected exactly the keys {list(expected_shapes)}")
    # index the unboxed dict: taking an entry from a traced dict records a tape node, and the checks need none
    raw = getval(params)
    dtypes = {}
    for key, shape in expected_shapes.items():
        value = getval(raw[key])
        if not isinstance(value, onp.ndarray):
            raise TypeError(f"{name}[{key!r}]: expected a NumPy array of shape {shape}, got {type(value).__name__}")
        if value.shape != tuple(shape):
            raise ValueError(f"{name}[{key!r}]: expected shape {tuple(shape)}, got {value.shape}")
        if value.dtype not in FLOAT_DTYPES:
            raise TypeError(f"{name}[{key!r}]: expected dtype float32 or float64, got {value.dtype}")
        dtypes.setdefault(value.dtype, key)
    if len(dtypes) > 1:
        found = ", ".join(f"{dtype} (e.g. {key!r})" for dtype, key in dtypes.items())
        raise TypeError(f"{name}: all arrays must share one dtype, got {found}")
    if not dtypes:
        return onp.dtype(onp.float64)
    return next(iter(dtypes))


def as_input_array(name, value, dtype):
    """Return ``value`` as an array of ``dtype`` for the computation.

    Concrete real numbers (float16, ints) are converted to the dtype of the
    parameters. A value traced by autograd is used as it is, but must already
    have that dtype, because converting it would silently change what is
    being differentiated.
    """
    raw = getval(value)
    if raw is not value:
        if raw.dtype != dtype:
            raise TypeError(f"{name}: a traced input must have the parameters' dtype {dtype}, got {raw.dtype}")
        return value
    try:
        array = onp.asarray(value)
    except Exception as error:  # ragged lists and the like
        raise TypeError(f"{name}: expected an array of real numbers, got {type(value).__name__}") from error
    # float, signed or unsigned integer: not bool, nor timedelta64, which NumPy counts as an integer
    if array.dtype.kind not in "fiu":
        raise TypeError(f"{name}: expected an array of real numbers (float or int), got dtype {array.dtype}")
    return array.astype(dtype, copy=False)


def check_lengths(lengths, batch_size, num_steps, name="lengths"):
    """Validate sequence lengths and return them as an int array of shape (B,)."""
    try:
        array = onp.asarray(lengths)
    except Exception as error:
        raise TypeError(f"{name}: expected {batch_size} integers, got {type(lengths).__name__}") from error
    if array.shape != (batch_size,):
        raise ValueError(f"{name}: expected shape ({batch_size},) (one length per sequence), got {array.shape}")
    # an empty list is float64 to NumPy, yet a fine set of zero lengths; timedelta64 is an integer to NumPy
    if array.size and array.dtype.kind not in "iu":
        raise TypeError(f"{name}: expected integers, got dtype {array.dtype}")
    if array.size and (array.min() < 0 or array.max() > num_steps):
        raise ValueError(f"{name}: expected values in [0, {num_steps}] (0 to T), got {array.tolist()}")
    return array.astype(onp.int64)


def check_mask(mask, shape, name="mask"):
    """Validate a boolean mask of the given shape and return it as an array."""
    try:
        array = onp.asarray(mask)
    except Exception as error:
        raise TypeError(f"{name}: expected a boolean array of shape {shape}, got {type(mask).__name__}") from error
    if array.dtype != onp.bool_:
        raise TypeError(f"{name}: expected a boolean array, got dtype {array.dtype}")
    if array.shape != tuple(shape):
        raise ValueError(f"{name}: expected shape {tuple(shape)}, got {array.shape}")
    return array


def check_state_array(name, value, shape, dtype):
    """Validate one initial-state array (possibly traced) of a fixed shape."""
    raw = getval(value)
    if raw is value:
        value = as_input_array(name, value, dtype)
        raw = value
    if not isinstance(raw, onp.ndarray):
        raise TypeError(f"{name}: expected an array of shape {tuple(shape)}, got {type(raw).__name__}")
    if raw.shape != tuple(shape):
        raise ValueError(f"{name}: expected shape {tuple(shape)}, got {raw.shape}")
    if raw.dtype != dtype:
        raise TypeError(f"{name}: expected dtype {dtype} (the parameters' dtype), got {raw.dtype}")
    return value


def check_real(name, value, *, low=None, high=None, low_open=False, high_open=False):
    """Return ``value`` as a float, requiring a finite real number (not a bool) in the given interval.

    ``low`` and ``high`` bound it (``None``: unbounded), closed unless
    ``low_open`` or ``high_open``.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a real number, got {value!r} ({type(value).__name__})")
    value = float(value)
    below = low is not None and (value <= low if low_open else value < low)
    above = high is not None and (value >= high if high_open else value > high)
    if not onp.isfinite(value) or below or above:
        lower = "(-inf" if low is None else ("(" if low_open else "[") + f"{low:g}"
        upper = "inf)" if high is None else f"{high:g}" + (")" if high_open else "]")
        raise ValueError(f"{name}: expected a finite number in {lower}, {upper}, got {value!r}")
    return value


def check_rng(name, rng):
    """A :class:`numpy.random.Generator` or ``None``."""
    if rng is not None and not isinstance(rng, onp.random.Generator):
        raise TypeError(f"{name}: expected a numpy.random.Generator or None, got {type(rng).__name__}")
    return rng


#: What an object must have to be run as a cell (see :class:`rnngrad.AbstractCell`, where each is described).
CELL_PROTOCOL = ("param_shapes", "state_sizes", "output_size", "step")


def check_cell(name, cell):
    """Require the attributes of the cell protocol, :data:`CELL_PROTOCOL`."""
    missing = [attribute for attribute in CELL_PROTOCOL if not hasattr(cell, attribute)]
    if missing:
        raise TypeError(
            f"{name}: expected a cell ({', '.join(CELL_PROTOCOL)}), got {type(cell).__name__} without {missing}"
        )
    return cell


def check_state(name, value, sizes, leading, dtype, *, bare=False):
    """A state: one array of shape ``leading + (S_i,)`` per entry ``S_i`` of ``sizes``, of ``dtype``.

    The state is a tuple (or list) of arrays; with ``bare``, a cell with a
    single state array may be given that array alone (torch's ``h_0``).
    Entries may be traced by autograd. Returns the tuple of checked arrays.
    """
    sizes = tuple(sizes)
    raw = getval(value)
    if bare and len(sizes) == 1 and not isinstance(raw, (tuple, list)):
        return (check_state_array(name, value, (*leading, sizes[0]), dtype),)
    if not isinstance(raw, (tuple, list)) or len(raw) != len(sizes):
        shapes = ", ".join(str((*leading, size)) for size in sizes)
        raise TypeError(f"{name}: expected a tuple of {len(sizes)} arrays ({shapes}), got {type(raw).__name__}")
    return tuple(check_state_array(f"{name}[{i}]", value[i], (*leading, size), dtype) for i, size in enumerate(sizes))


MERGE_MODES = ("concat", "sum", "mean")


def check_stack_layout(name, cells, input_size, merge_mode, residual):
    """The layout of a stack of cells, ``cells[k][d]``; returns the width each layer emits.

    Every layer has the same number of directions, 1 or 2; every cell
    follows the protocol; a cell that states its ``input_size`` reads the
    width of the layer below (``input_size`` for layer 0); with ``merge_mode``
    ``"sum"`` or ``"mean"`` both directions emit the same width; with
    ``residual`` every layer above the first reads and writes one width.
    """
    if not isinstance(cells, (tuple, list)) or not cells:
        raise TypeError(f"{name}: expected a non-empty list of layers {name}[k][d], got {cells!r}")
    for k, layer in enumerate(cells):
        if not isinstance(layer, (tuple, list)):
            raise TypeError(f"{name}[{k}]: expected a list of directions, got {type(layer).__name__}")
    counts = [len(layer) for layer in cells]
    if len(set(counts)) != 1 or counts[0] not in (1, 2):
        raise ValueError(f"{name}: expected 1 or 2 directions in every layer, got {counts}")
    check_choice("merge_mode", merge_mode, MERGE_MODES)
    residual = check_bool("residual", residual)
    widths = []
    width = input_size
    for k, layer in enumerate(cells):
        for d, cell in enumerate(layer):
            check_cell(f"{name}[{k}][{d}]", cell)
            stated = getattr(cell, "input_size", None)
            if isinstance(stated, numbers.Integral) and stated != width:
                raise ValueError(f"{name}[{k}][{d}]: expected input_size={width} (what layer {k} reads), got {stated}")
        sizes = [cell.output_size for cell in layer]
        if merge_mode != "concat" and len(set(sizes)) > 1:
            raise ValueError(f"merge_mode: {merge_mode!r} needs equal output sizes in both directions, got {sizes}")
        merged = sum(sizes) if merge_mode == "concat" else sizes[0]
        if residual and k > 0 and merged != width:
            raise ValueError(
                f"residual: layer {k} reads {width} features and writes {merged}; "
                "residual connections need equal widths"
            )
        widths.append(merged)
        width = merged
    return widths
