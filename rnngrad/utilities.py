"""Small helpers every layer may use: random generators from seeds, frozen objects."""

import dataclasses

import numpy as onp

__all__ = ["make_rng", "Frozen"]


def make_rng(seed, name="seed"):
    """A :class:`numpy.random.Generator` from an int seed, a Generator or ``None``.

    Args:
        seed: a non-negative int (the same stream every time), a Generator
            (returned as it is, so a caller can share one stream) or ``None``
            (fresh entropy).
        name: the argument's name in error messages.
    """
    if isinstance(seed, onp.random.Generator):
        return seed
    if seed is None or (isinstance(seed, (int, onp.integer)) and not isinstance(seed, bool)):
        if seed is not None and seed < 0:
            raise ValueError(f"{name}: expected a non-negative int, got {seed}")
        return onp.random.default_rng(seed)
    raise TypeError(f"{name}: expected an int, a numpy.random.Generator or None, got {type(seed).__name__}")


class Frozen:
    """Immutability as a frozen dataclass has it, for classes whose ``__init__`` is their own (the models).

    The constructor sets its fields with ``_freeze``; setting or deleting
    an attribute afterwards raises :class:`dataclasses.FrozenInstanceError`,
    the error a frozen dataclass (every cell) raises.
    """

    def _freeze(self, **fields):
        for name, value in fields.items():
            object.__setattr__(self, name, value)

    def __setattr__(self, name, value):
        raise dataclasses.FrozenInstanceError(
            f"cannot assign to field {name!r}: {type(self).__name__} is immutable; build a new one"
        )

    def __delattr__(self, name):
        raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}: {type(self).__name__} is immutable")
