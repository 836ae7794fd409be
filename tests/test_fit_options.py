"""fit's options against their definitions: clipping inside the loop, minimising, the optimizer's step."""

import itertools

import numpy as np
import pytest

from rnngrad.train import fit, global_norm


def _quadratic(params, batch):
    return 0.5 * ((params["w"] - batch) ** 2).sum()


def _start():
    return {"w": np.array([3.0, -4.0])}


@pytest.mark.parametrize("max_grad_norm, expected", [(None, 5.0), (1e-3, 1e-3), (2.0, 2.0), (10.0, 5.0)])
def test_one_plain_sgd_step_moves_by_step_size_times_the_clipped_gradient(max_grad_norm, expected):
    """Gradient (3, -4), norm 5: one sgd step without momentum moves the parameters by step_size * min(5, max)."""
    result = fit(
        _quadratic,
        _start(),
        itertools.repeat(np.zeros(2)),
        num_steps=1,
        optimizer="sgd",
        step_size=0.1,
        mass=0.0,
        max_grad_norm=max_grad_norm,
    )
    moved = {"w": result.params["w"] - _start()["w"]}
    assert global_norm(moved) == pytest.approx(0.1 * expected, rel=1e-9)  # a difference of two numbers near 4
    np.testing.assert_allclose(moved["w"] / np.linalg.norm(moved["w"]), [-0.6, 0.8], rtol=1e-9)
    assert result.losses == [12.5]


def test_minimising_keeps_the_parameters_of_the_smallest_metric():
    metrics = iter([0.9, 0.2, 0.5, 0.4, 0.3])
    result = fit(
        _quadratic,
        _start(),
        itertools.repeat(np.zeros(2)),
        num_steps=10,
        optimizer="sgd",
        step_size=0.01,
        mass=0.0,
        evaluate=lambda p: next(metrics),
        eval_every=2,
        maximize=False,
    )
    assert result.best_metric == 0.2 and result.best_step == 4 and not result.stopped_early
    # the parameters after 4 steps of w <- w - 0.01 w
    np.testing.assert_allclose(result.params["w"], _start()["w"] * 0.99**4, rtol=1e-12)


def test_adam_takes_steps_of_about_step_size_from_the_start():
    result = fit(_quadratic, _start(), itertools.repeat(np.zeros(2)), num_steps=1, step_size=0.01)
    # Adam's first step is step_size * sign(g) per coordinate (bias-corrected moments)
    np.testing.assert_allclose(result.params["w"] - _start()["w"], [-0.01, 0.01], rtol=1e-6)
