"""Save and load parameters, and convert them to and from torch's ``state_dict``.

Files are NumPy ``.npz`` archives read with ``allow_pickle=False``: plain
arrays only, so loading a file never runs code. Nested parameter dicts (a
network of parts, such as :class:`rnngrad.nets.RecurrentNet`) are stored
under dotted names, ``{"rnn": {"weight_ih_l0": ...}}`` as ``rnn.weight_ih_l0``:
the names torch gives the ``state_dict`` of a module with the same children.
Saving then loading gives the same arrays bit for bit, dtype included.

Loading against a model (anything with ``param_shapes()``, flat or nested)
checks that the keys, shapes and dtype are the expected ones and lists every
difference in one error.
"""

import os
import zipfile

import numpy as onp

__all__ = ["save_params", "load_params", "flatten_params", "unflatten_params", "to_torch", "from_torch"]

SEPARATOR = "."


def flatten_params(params, prefix=""):
    """A nested dict of arrays as one flat dict with dotted keys (torch's naming)."""
    if not hasattr(params, "items"):
        raise TypeError(f"params: expected a dict of arrays (possibly nested), got {type(params).__name__}")
    flat = {}
    for key, value in params.items():
        if not isinstance(key, str) or SEPARATOR in key or not key:
            raise ValueError(f"params: keys must be non-empty strings without {SEPARATOR!r}, got {key!r}")
        name = prefix + key
        if hasattr(value, "items"):
            flat.update(flatten_params(value, name + SEPARATOR))
        else:
            flat[name] = value
    return flat


def unflatten_params(flat):
    """The inverse of :func:`flatten_params`: dotted keys become nested dicts."""
    nested = {}
    for name, value in flat.items():
        *parents, leaf = name.split(SEPARATOR)
        node = nested
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ValueError(f"params: {name!r} nests under a key that also holds an array")
        node[leaf] = value
    return nested


def save_params(path, params):
    """Write ``params`` (a possibly nested dict of arrays) to an ``.npz`` file, uncompressed.

    Returns:
        the path written (NumPy appends ``.npz`` when it is missing).
    """
    flat = {}
    for name, value in flatten_params(params).items():
        array = onp.asarray(value)
        if array.dtype == object:
            raise TypeError(f"params[{name!r}]: expected a numeric array, got dtype object")
        flat[name] = array
    # refuse here what load_params would refuse, before a file that cannot be read back is written
    check_against(flat, source="params")
    path = os.fspath(path)
    if not path.endswith(".npz"):
        path += ".npz"
    onp.savez(path, **flat)
    return path


def load_params(path, model=None, *, dtype=None):
    """Read parameters saved by :func:`save_params`, checked against ``model`` when given.

    Args:
        path: the ``.npz`` file.
        model: anything with ``param_shapes()`` (flat or nested ``{key: shape}``),
            or ``None`` to skip the check.
        dtype: the expected dtype of every array (for example ``numpy.float32``);
            ``None`` requires only that all arrays share one float dtype.

    Returns:
        the dict of arrays, nested like ``model.param_shapes()`` (or by the dotted names).

    Raises:
        ValueError: listing the missing keys, unknown keys, wrong shapes and
            wrong or mixed dtypes, all at once.
    """
    path = os.fspath(path)
    if dtype is not None:
        try:
            dtype = onp.dtype(dtype)
        except TypeError as error:
            raise TypeError(f"dtype: expected a NumPy dtype such as numpy.float32, got {dtype!r}") from error
    flat = _read_archive(path)
    check_against(flat, model, dtype, source=path)
    return unflatten_params(flat)


def _read_archive(path):
    """``{name: array}`` from an ``.npz`` file, or a ValueError naming the file (never unpickling)."""
    try:
        loaded = onp.load(path, allow_pickle=False)
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise
    except (ValueError, EOFError, OSError, zipfile.BadZipFile) as error:
        # NumPy blames pickling for any file that is neither .npy nor a zip archive, text included
        raise ValueError(
            f"{path}: not an .npz archive of plain arrays (truncated, corrupted or another format)"
        ) from error
    if not isinstance(loaded, onp.lib.npyio.NpzFile):
        raise ValueError(f"{path}: holds a single .npy array; save_params writes an .npz archive of named arrays")
    flat = {}
    with loaded as archive:
        for name in archive.files:
            try:
                value = archive[name]
            except (ValueError, EOFError, OSError, zipfile.BadZipFile) as error:
                raise ValueError(
                    f"{path}: member {name!r} is corrupted or holds pickled objects, which are never loaded"
                ) from error
            if not isinstance(value, onp.ndarray):
                raise ValueError(f"{path}: member {name!r} is not a .npy array")
            flat[name] = value
    return flat


def check_against(flat, model=None, dtype=None, *, source="params"):
    """Raise one ValueError listing how the flat ``{name: array}`` differs from ``model`` and ``dtype``."""
    problems = []
    if model is not None:
        if not hasattr(model, "param_shapes"):
            raise TypeError(f"model: expected an object with param_shapes(), got {type(model).__name__}")
        expected = {name: tuple(shape) for name, shape in flatten_params(model.param_shapes()).items()}
        missing = [name for name in expected if name not in flat]
        unknown = [name for name in flat if name not in expected]
        if missing:
            problems.append(f"missing keys {missing}")
        if unknown:
            problems.append(f"unknown keys {unknown}")
        for name, shape in expected.items():
            if name in flat and flat[name].shape != shape:
                problems.append(f"{name!r} has shape {flat[name].shape}, the model expects {shape}")
    dtypes = sorted({str(array.dtype) for array in flat.values()})
    if dtype is not None:
        wanted = onp.dtype(dtype)
        wrong = [name for name, array in flat.items() if array.dtype != wanted]
        if wrong:
            problems.append(f"expected dtype {wanted}, but {wrong} have {dtypes}")
    elif len(dtypes) > 1:
        problems.append(f"the arrays mix dtypes {dtypes}; expected one")
    bad = sorted({d for d in dtypes if d not in ("float32", "float64")})
    if bad:
        problems.append(f"expected float32 or float64 arrays, got {bad}")
    if problems:
        against = "does not match the model: " if model is not None else ""
        raise ValueError(f"{source}: {against}" + "; ".join(problems))


def to_torch(params):
    """A torch ``state_dict`` (dotted keys, CPU tensors, same dtype) from rnngrad parameters.

    ``torch_module.load_state_dict(to_torch(params))`` then runs the same
    network in torch. The tensors own copies of the arrays.
    """
    torch = _import_torch()
    return {name: torch.from_numpy(onp.array(value, copy=True)) for name, value in flatten_params(params).items()}


def from_torch(state_dict, model=None, *, dtype=None):
    """rnngrad parameters from a torch ``state_dict`` (or ``module.state_dict()``), checked against ``model``.

    Tensors are detached and copied to NumPy on the CPU; non-parameter
    buffers a module may hold must be removed first.
    """
    _import_torch()
    flat = {name: onp.array(tensor.detach().cpu().numpy(), copy=True) for name, tensor in state_dict.items()}
    check_against(flat, model, dtype, source="state_dict")
    return unflatten_params(flat)


def _import_torch():
    try:
        import torch
    except ImportError as error:
        raise ImportError('torch is needed for this conversion: pip install "rnngrad[torch]"') from error
    return torch
