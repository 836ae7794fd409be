"""Clipping by global norm, held exactly: the clipped norm is max_norm, whatever the scales.

A wrong epsilon or a float32 rounding of the scale shows at 1e-12 relative,
far below numpy's default tolerance (1e-7), which is what a looser test
would have let through.
"""

import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from rnngrad.train import clip_by_global_norm, global_norm

FLOAT32_MAX = float(np.finfo(np.float32).max)


def exact_norm(tree):
    """The global norm in exact rational arithmetic, rounded once (the arrays hold binary floats)."""
    from fractions import Fraction

    total = Fraction(0)
    for leaf in leaves(tree):
        for value in np.asarray(leaf, dtype=np.float64).ravel():
            total += Fraction(float(value)) ** 2
    if not total:
        return 0.0
    half = (total.numerator.bit_length() - total.denominator.bit_length()) // 2
    return math.sqrt(float(total / Fraction(2) ** (2 * half))) * 2.0**half


def leaves(tree):
    if isinstance(tree, dict):
        return [leaf for key in sorted(tree) for leaf in leaves(tree[key])]
    if isinstance(tree, (list, tuple)):
        return [leaf for item in tree for leaf in leaves(item)]
    return [tree]


@st.composite
def gradients(draw, dtype, max_magnitude):
    """A nested dict/list of arrays whose entries span many binades up to ``max_magnitude``."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1), label="seed"))
    exponent = draw(st.floats(-20, math.log10(max_magnitude) - 1, allow_nan=False), label="scale")
    scale = 10.0**exponent

    def array():
        shape = draw(st.lists(st.integers(1, 4), min_size=1, max_size=2).map(tuple))
        return np.clip(rng.normal(size=shape) * scale / 3, -max_magnitude, max_magnitude).astype(dtype)

    return {"a": array(), "b": [array(), {"c": array()}], "d": (array(),)}


#: how far below (or above) the gradient's norm max_norm lies, as a power of ten
shrink = st.one_of(st.floats(-30, -1e-9), st.sampled_from([-30.0, -8.0, -1e-6]))


@given(grads=gradients(np.float64, 1e300), log_ratio=shrink)
def test_clipped_float64_norm_equals_max_norm_to_1e_12(grads, log_ratio):
    norm = exact_norm(grads)
    max_norm = norm * 10.0**log_ratio
    assume(max_norm > 0)
    clipped, reported = clip_by_global_norm(grads, max_norm)
    assert reported == pytest.approx(norm, rel=1e-12)
    assert exact_norm(clipped) == pytest.approx(max_norm, rel=1e-12)
    assert global_norm(clipped) == pytest.approx(max_norm, rel=1e-12)
    # the direction is kept: every entry scaled by one factor
    factor = max_norm / norm
    for got, original in zip(leaves(clipped), leaves(grads)):
        np.testing.assert_allclose(got, original * factor, rtol=1e-12, atol=0)


@pytest.mark.parametrize("max_norm", [1e-300, 1e-30, 1e30, 1e150, 1e300])
def test_tiny_and_huge_max_norms_clip_exactly(max_norm):
    grads = {"w": np.array([3.0, -4.0]) * max_norm * 7.5, "b": [np.array([max_norm])]}
    clipped, _ = clip_by_global_norm(grads, max_norm)
    assert exact_norm(clipped) == pytest.approx(max_norm, rel=1e-12)


@given(grads=gradients(np.float64, 1e100), log_ratio=st.floats(1e-9, 30))
def test_a_gradient_within_max_norm_comes_back_unchanged(grads, log_ratio):
    norm = exact_norm(grads)
    max_norm = norm * 10.0**log_ratio
    assume(max_norm > 0)
    clipped, reported = clip_by_global_norm(grads, max_norm)
    assert reported == pytest.approx(norm, rel=1e-12)
    for got, original in zip(leaves(clipped), leaves(grads)):
        np.testing.assert_array_equal(got, original)


@given(grads=gradients(np.float32, FLOAT32_MAX), log_ratio=st.floats(-10, -1e-6))
def test_clipped_float32_gradient_stays_float32_with_its_norm_at_max_norm(grads, log_ratio):
    norm = exact_norm(grads)
    max_norm = norm * 10.0**log_ratio
    assume(max_norm > 0)
    clipped, _ = clip_by_global_norm(grads, max_norm)
    assert {leaf.dtype for leaf in leaves(clipped)} == {np.dtype(np.float32)}
    # each entry is rounded to float32 once: the norm is off by at most float32's half ulp, relative
    assert exact_norm(clipped) == pytest.approx(max_norm, rel=2 * float(np.finfo(np.float32).eps))


@pytest.mark.parametrize(
    "magnitude, dtype",
    [(1e20, np.float32), (FLOAT32_MAX, np.float32), (1e200, np.float64), (1e307, np.float64)],
    ids=str,
)
def test_gradients_up_to_their_dtypes_maximum_are_clipped(magnitude, dtype):
    grads = {"w": np.array([magnitude, -magnitude, magnitude / 2], dtype=dtype)}
    clipped, norm = clip_by_global_norm(grads, 1.0)
    assert math.isfinite(norm) and math.isfinite(global_norm(grads))
    assert clipped["w"].dtype == dtype
    assert exact_norm(clipped) == pytest.approx(1.0, rel=2 * float(np.finfo(dtype).eps))


def test_a_non_finite_gradient_is_returned_as_it_is():
    grads = {"w": np.array([np.inf, 1.0])}
    clipped, norm = clip_by_global_norm(grads, 1.0)
    assert norm == np.inf and clipped is grads
