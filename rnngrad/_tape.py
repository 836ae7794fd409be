"""Two ways to record fewer autograd tape nodes in a model call: taking dict entries and stacking states.

Both compute exactly what the plain autograd code would (``params[key]``,
``np.stack``); they exist because a model call takes every entry of a
traced parameter dict and stacks every final state, and autograd's own
versions of those two steps cost more than the recurrence at small sizes.
"""

import autograd.numpy as np
import numpy as onp
from autograd.builtins import container_untake
from autograd.extend import defjvp, defvjp, primitive, vspace
from autograd.tracer import getval, isbox

from ._validation import shape_of

__all__ = ["entry_taker", "stack_states"]


@primitive
def _entry(params, key, space):
    """``params[key]`` for a traced dict, as autograd's own indexing, given ``space``, the dict's vector space."""
    return params[key]


defvjp(_entry, lambda ans, params, key, space: lambda g: container_untake(g, key, space))
defjvp(_entry, "same")


def entry_taker(params):
    """A function ``key -> params[key]`` that records one cheap tape node per entry of a traced dict.

    Autograd's indexing rebuilds the dict's vector space from every entry for
    the gradient of each entry it takes, work quadratic in the number of
    parameters; this builds it once per call. An untraced dict is indexed as it is.
    """
    if not isbox(params):
        return params.__getitem__
    space = vspace(getval(params))
    return lambda key: _entry(params, key, space)


def stack_states(parts, batched):
    """The final states of every layer and direction as one (L*N, B, S) array, or (L*N, S) unbatched.

    As ``np.stack``, in fewer tape nodes when traced: autograd's stack records
    two per array and a concatenate, while one concatenate and one reshape
    compute the same array (a single traced array needs only the reshape).
    Untraced, NumPy's own stack skips autograd's wrappers.
    """
    if not any(isbox(part) for part in parts):
        stacked = onp.stack(parts)
        return stacked if batched else stacked.reshape(stacked.shape[0], stacked.shape[2])
    shapes = {shape_of(part) for part in parts}
    if len(shapes) == 1 and len(shape := shapes.pop()) == 2:
        joined = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)
        return np.reshape(joined, (len(parts), *shape) if batched else (len(parts), shape[1]))
    stacked = np.stack(parts)
    return stacked if batched else np.reshape(stacked, (stacked.shape[0], stacked.shape[2]))
