"""The theory of recurrent networks as a reusable, property-based test battery.

Four parts:

* :mod:`~rnngrad.testing.strategies`: Hypothesis strategies drawing cells,
  models, lengths, masks, inputs and whole problems (:func:`problems`);
* :mod:`~rnngrad.testing.references`: literal reference loops the properties
  compare against (:func:`loop_over_model`, :func:`flip_within_lengths`);
* :mod:`~rnngrad.testing.equations`: the cells' docstring equations
  transcribed a second time in plain NumPy, and a whole model call built
  from them (:func:`~rnngrad.testing.equations.reference_model`);
* :func:`check_cell`: every property a recurrent cell must have, run on any
  cell in one call.

Hypothesis is an optional dependency of rnngrad, needed only here.
"""

try:
    import hypothesis  # noqa: F401
except ImportError as error:  # pragma: no cover - exercised by hand
    raise ImportError(
        "rnngrad.testing needs Hypothesis, an optional dependency: pip install hypothesis "
        "(or pip install 'rnngrad[test]')"
    ) from error

from .battery import CELL_PROPERTIES, check_cell
from .references import flip_within_lengths, loop_over_cell, loop_over_model, model_states, probe_loss
from .strategies import (
    KINDS,
    VARIANT_KINDS,
    CellProblem,
    Problem,
    cell_problems,
    cells,
    lengths,
    make_problem,
    masks,
    models,
    parameters,
    problems,
    random_params,
    sequences,
    variant_cells,
    variant_models,
)

__all__ = [
    "CELL_PROPERTIES",
    "KINDS",
    "CellProblem",
    "Problem",
    "cell_problems",
    "cells",
    "check_cell",
    "flip_within_lengths",
    "lengths",
    "loop_over_cell",
    "loop_over_model",
    "make_problem",
    "masks",
    "model_states",
    "models",
    "parameters",
    "probe_loss",
    "problems",
    "sequences",
    "VARIANT_KINDS",
    "random_params",
    "variant_cells",
    "variant_models",
]
