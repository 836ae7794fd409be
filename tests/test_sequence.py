"""The public sequence functions: unroll, stack, merge_directions, lengths_to_mask; their argument checks."""

import numpy as np
import pytest

from rnngrad.sequence import merge_directions


def _outputs(count, width=2):
    rng = np.random.default_rng(0)
    return [rng.normal(size=(3, 2, width)) for _ in range(count)]


@pytest.mark.parametrize("merge_mode, expected", [("concat", None), ("sum", "sum"), ("mean", "mean")])
def test_merge_directions_computes_each_mode(merge_mode, expected):
    forward, backward = _outputs(2)
    merged = merge_directions([forward, backward], merge_mode)
    if merge_mode == "concat":
        np.testing.assert_array_equal(merged, np.concatenate([forward, backward], axis=-1))
    else:
        total = forward + backward
        np.testing.assert_array_equal(merged, total if expected == "sum" else total / 2)


def test_merge_directions_refuses_an_unknown_mode_by_name():
    with pytest.raises(ValueError, match=r"merge_mode: expected one of .*'max'"):
        merge_directions(_outputs(2), "max")


@pytest.mark.parametrize("count", [0, 3])
def test_merge_directions_refuses_other_than_one_or_two_directions(count):
    with pytest.raises(ValueError, match=f"outputs: expected a list of 1 or 2 .*got {count}"):
        merge_directions(_outputs(count), "concat")


def test_merge_directions_refuses_shapes_that_do_not_fit_the_mode():
    forward, _ = _outputs(2)
    with pytest.raises(ValueError, match="outputs: the two directions' shapes"):
        merge_directions([forward, _outputs(1, width=3)[0]], "sum")
