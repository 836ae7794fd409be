"""Hessian-free optimization: CG, the Gauss-Newton product, the damping rule, and a short run that learns."""

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import jacobian
from autograd.misc import flatten
from hypothesis import given
from hypothesis import strategies as st

from rnngrad import LSTM, RNN, HessianFree, RecurrentNet
from rnngrad.hessian_free import (
    adapt_damping,
    batch_pair,
    conjugate_gradient,
    gauss_newton_product,
    recurrent_predict,
)
from rnngrad.tasks import adding, pathological
from rnngrad.train import fit


def _spd(rng, n, condition=10.0):
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return (q * np.geomspace(1.0, condition, n)) @ q.T


def test_cg_minimizes_a_convex_quadratic_exactly_in_n_steps():
    rng = np.random.default_rng(0)
    n = 12
    A, b = _spd(rng, n, condition=50.0), rng.standard_normal(n)
    result = conjugate_gradient(lambda v: A @ v, b, max_iterations=n, tolerance=0.0, rtol=0.0)
    assert result.num_iterations == n
    np.testing.assert_allclose(result.x, np.linalg.solve(A, b), rtol=1e-8, atol=1e-10)
    # the recorded q values are those of the kept iterates, and they fall
    for x, q in zip(result.iterates, result.values):
        assert q == pytest.approx(0.5 * x @ A @ x - b @ x, abs=1e-10)
    assert all(later <= earlier + 1e-12 for earlier, later in zip(result.values, result.values[1:]))


def test_cg_keeps_iterates_at_the_backtracking_grid_and_starts_from_x0():
    rng = np.random.default_rng(1)
    A, b = _spd(rng, 40, condition=1e4), rng.standard_normal(40)
    result = conjugate_gradient(lambda v: A @ v, b, max_iterations=30, tolerance=0.0)
    assert result.iterations == [0, 1, 2, 3, 4, 5, 7, 9, 11, 14, 18, 24, 30]  # ceil(1.3 ** j), and the last
    solution = np.linalg.solve(A, b)
    warm = conjugate_gradient(lambda v: A @ v, b, solution, max_iterations=5)
    assert warm.num_iterations == 0 and np.allclose(warm.x, solution)


def test_cg_stops_early_by_martens_relative_progress():
    rng = np.random.default_rng(2)
    A, b = _spd(rng, 200, condition=1e6), rng.standard_normal(200)
    result = conjugate_gradient(lambda v: A @ v, b, max_iterations=200, tolerance=5e-2)
    assert 10 < result.num_iterations < 200


def _least_squares(rng, n_examples=60, n_features=5):
    X = rng.standard_normal((n_examples, n_features))
    y = X @ rng.standard_normal(n_features) + 0.3 * rng.standard_normal(n_examples)
    return X, y


def _linear_predict(params, batch):
    return anp.dot(batch[0], params["w"]) + params["b"]


def _half_mse(outputs, batch):
    return 0.5 * anp.mean((outputs - batch[1]) ** 2)


def test_one_step_matches_the_closed_form_least_squares_solution():
    rng = np.random.default_rng(3)
    X, y = _least_squares(rng)
    hf = HessianFree(_linear_predict, _half_mse, damping=1e-10, max_cg_iterations=6, cg_tolerance=0.0, adapt=False)
    params, info = hf.step({"w": np.zeros(5), "b": np.zeros(())}, (X, y))
    design = np.hstack([X, np.ones((len(X), 1))])
    expected, *_ = np.linalg.lstsq(design, y, rcond=None)
    np.testing.assert_allclose(np.append(params["w"], params["b"]), expected, rtol=1e-6, atol=1e-8)
    assert info.step_size == 1.0 and info.cg_iterations <= 6


def test_an_ascent_direction_is_never_taken(monkeypatch):
    from rnngrad import hessian_free

    # f(z) = sin z from z = 1, and a "solution" t * f'(1) pointing uphill, just short of the point
    # where sin comes back down to sin(1): the loss rises by less than 1% of the slope, which
    # Armijo's test alone would accept
    hf = HessianFree(lambda params, batch: params["z"], lambda z, batch: anp.sum(anp.sin(z)))
    params = {"z": np.array([1.0])}
    t = (np.pi - 2.0 - 0.01) / np.cos(1.0)
    uphill = hessian_free.CGResult([0, 1], [np.zeros(1), t * np.cos([1.0])], [0.0, -1.0], 1)
    monkeypatch.setattr(hessian_free, "conjugate_gradient", lambda *args, **kwargs: uphill)
    new, info = hf.step(params, None)
    assert new is params and info.step_size == 0.0 and info.new_loss == info.loss


def test_cg_starts_from_the_previous_solution_decayed():
    X, y = _least_squares(np.random.default_rng(7), n_features=8)
    start = {"w": np.zeros(8), "b": np.zeros(())}
    design = np.hstack([X, np.ones((len(X), 1))])
    best, *_ = np.linalg.lstsq(design, y, rcond=None)
    hf = HessianFree(_linear_predict, _half_mse, damping=1e-9, max_cg_iterations=9, cg_tolerance=0.0, adapt=False)
    hf.step(start, (X, y))
    np.testing.assert_allclose(hf.previous, flatten({"w": best[:-1], "b": best[-1]})[0], rtol=1e-6)
    # from the same point again, one CG iteration from 0.95 of that solution lands near it
    hf.max_cg_iterations = 1
    again, info = hf.step(start, (X, y))
    cold, _ = HessianFree(_linear_predict, _half_mse, damping=1e-9, max_cg_iterations=1).step(start, (X, y))
    error = np.linalg.norm(np.append(again["w"], again["b"]) - best)
    assert error < 0.05 * np.linalg.norm(best)
    assert error < 0.5 * np.linalg.norm(np.append(cold["w"], cold["b"]) - best)


def test_gauss_newton_product_equals_the_explicit_matrix_with_structural_term():
    net = RecurrentNet(RNN(2, 3, nonlinearity="tanh"), 1)
    params = net.init(0)
    x, y = adding.generate(4, 5, seed=0)
    batch = (x, y)
    predict = recurrent_predict(net)
    weight = 0.7
    product, _ = gauss_newton_product(predict, _half_mse, params, batch, structural_weight=weight)
    flat, unflatten = flatten(params)
    J_out = jacobian(lambda v: predict(unflatten(v), batch)[0])(flat).reshape(-1, flat.size)
    J_hid = jacobian(lambda v: predict(unflatten(v), batch)[1])(flat).reshape(-1, flat.size)
    # _half_mse's Hessian in the outputs is the identity over the number of outputs
    G = J_out.T @ J_out / J_out.shape[0] + weight * J_hid.T @ J_hid
    v = np.random.default_rng(4).standard_normal(flat.size)
    np.testing.assert_allclose(product(v), G @ v, rtol=1e-9, atol=1e-12)


@given(damping=st.floats(1e-6, 1e6), rho=st.floats(-1e3, 1e3, allow_nan=False))
def test_adapt_damping_moves_as_the_reduction_ratio_asks(damping, rho):
    new = adapt_damping(damping, rho)
    if rho < 0.25:
        assert new == pytest.approx(1.5 * damping)
    elif rho > 0.75:
        assert new == pytest.approx(damping * 2 / 3)
    else:
        assert new == damping
    assert adapt_damping(damping, float("nan")) > damping


@given(
    seed=st.integers(0, 2**16),
    scale=st.one_of(st.floats(0.2, 0.5), st.floats(0.6, 0.75), st.floats(0.9, 3.0)),
)
def test_damping_follows_the_reduction_ratio_on_random_quadratics(seed, scale):
    # The curvature batch scales the design by sqrt(scale): the model's curvature is `scale` times
    # the true one, a full Newton step is 1/scale times too long, and rho = 2 - 1/scale exactly.
    rng = np.random.default_rng(seed)
    X, y = _least_squares(rng, n_examples=30, n_features=4)
    hf = HessianFree(
        lambda params, batch: anp.dot(batch[0], params["w"]) - batch[1],
        lambda residual, batch: 0.5 * anp.mean(residual**2),
        damping=1e-9,
        max_cg_iterations=4,
        cg_tolerance=0.0,
        backtracking=False,
        line_search=False,
        min_damping=0.0,
    )
    curvature_batch = (np.sqrt(scale) * X, np.sqrt(scale) * y)
    _, info = hf.step({"w": np.zeros(4)}, (X, y), curvature_batch)
    assert info.rho == pytest.approx(2 - 1 / scale, rel=1e-4, abs=1e-6)
    expected = 1.5 if info.rho < 0.25 else (2 / 3 if info.rho > 0.75 else 1.0)
    assert hf.damping == pytest.approx(1e-9 * expected)


def test_backtracking_takes_an_earlier_iterate_when_it_has_the_lower_loss():
    X, y = _least_squares(np.random.default_rng(6), n_examples=80, n_features=20)
    params = {"w": np.zeros(20), "b": np.zeros(())}
    flat_curvature = (X / np.sqrt(20.0), y)  # later CG iterates overshoot more and more
    settings = dict(damping=1e-9, max_cg_iterations=5, cg_tolerance=0.0, line_search=False, adapt=False)
    _, whole = HessianFree(_linear_predict, _half_mse, backtracking=False, **settings).step(
        params, (X, y), flat_curvature
    )
    _, backtracked = HessianFree(_linear_predict, _half_mse, **settings).step(params, (X, y), flat_curvature)
    assert whole.chosen_iteration == 5
    # the loss rises along these iterates: backtracking walks back to the first iteration
    assert backtracked.chosen_iteration == 1 and backtracked.new_loss < whole.new_loss


def test_line_search_shortens_an_overshooting_step_or_refuses_it():
    X, y = _least_squares(np.random.default_rng(5))
    params = {"w": np.zeros(5), "b": np.zeros(())}
    # a curvature batch 10 times flatter than the truth: the step is 10 times too long,
    # and 0.8 ** k shrinks it enough after a few tries
    hf = HessianFree(_linear_predict, _half_mse, damping=1e-9, max_cg_iterations=6, cg_tolerance=0.0, min_damping=0.0)
    new, info = hf.step(params, (X, y), (X / np.sqrt(10.0), y))
    assert info.rho < 0 and hf.damping == pytest.approx(1.5e-9)
    assert info.new_loss < info.loss and 0 < info.step_size < 0.2
    assert float(hf.loss(new, (X, y))) == pytest.approx(info.new_loss)
    # 1000 times flatter: 20 tries of 0.8 do not get there, and no step is taken
    hf = HessianFree(_linear_predict, _half_mse, damping=1e-9, max_cg_iterations=6, cg_tolerance=0.0, min_damping=0.0)
    new, info = hf.step(params, (X, y), (X / np.sqrt(1000.0), y))
    assert info.step_size == 0.0 and info.new_loss == info.loss and new is params


def test_short_run_on_adding_beats_the_baseline():
    net = RecurrentNet(RNN(2, 16, nonlinearity="tanh"), 1)
    hf = HessianFree(recurrent_predict(net, hidden=False), lambda outputs, batch: anp.mean((outputs - batch[1]) ** 2))
    rng = np.random.default_rng(0)
    test_x, test_y = adding.generate(500, 10, seed=123)

    def batches():
        while True:
            x, y = adding.generate(200, 10, rng)
            yield batch_pair((x, y), (x[:, :100], y[:100]))

    def evaluate(params):
        return float(np.mean((net(params, test_x)[0] - test_y) ** 2))

    steps = []
    result = fit(
        None, net.init(0), batches(), num_steps=20, optimizer=hf, evaluate=evaluate, eval_every=10,
        maximize=False, on_step=lambda step, loss, metric: steps.append(step),
    )  # fmt: skip
    assert result.best_metric < 0.2 * adding.BASELINE_MSE
    assert steps == list(range(1, 21)) and len(result.losses) == 20
    assert hf.last_info is not None and hf.last_info.cg_iterations > 0


def test_recurrent_predict_matches_the_network_for_a_stacked_bidirectional_lstm():
    net = RecurrentNet(LSTM(3, 4, num_layers=2, bidirectional=True), 2)
    params = net.init(1)
    x = np.random.default_rng(2).standard_normal((6, 5, 3))
    outputs, states = recurrent_predict(net)(params, (x, None))
    np.testing.assert_allclose(outputs, net(params, x)[0], rtol=1e-12)
    assert states.shape == (6, 5, 8)


def test_recurrent_predict_gives_per_step_outputs_and_states_and_a_step_lowers_the_loss():
    problem = pathological.get("memorization")
    net = RecurrentNet(RNN(problem.input_size, 8, nonlinearity="tanh"), problem.num_outputs, readout="steps")
    params = net.init(0)
    x, y = problem.generate(16, 12, seed=0)
    outputs, states = recurrent_predict(net)(params, (x, y))
    assert outputs.shape == (12, 16, 3) and states.shape == (12, 16, 8)
    np.testing.assert_array_equal(outputs, net(params, x)[0])
    hf = HessianFree(recurrent_predict(net), lambda z, batch: problem.loss(z, batch[1]), structural_damping=0.1)
    _, info = hf.step(params, (x, y))
    assert info.new_loss < info.loss


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        (dict(damping=0.0), "damping"),
        (dict(structural_damping=-1.0), "structural_damping"),
        (dict(max_cg_iterations=0), "max_cg_iterations"),
        (dict(cg_decay=1.5), "cg_decay"),
        (dict(damping="1"), "damping"),
    ],
)
def test_bad_settings_name_the_argument(kwargs, argument):
    with pytest.raises((ValueError, TypeError), match=argument):
        HessianFree(_linear_predict, _half_mse, **kwargs)


def test_bad_callables_and_fit_options_are_refused():
    with pytest.raises(TypeError, match="predict"):
        HessianFree(None, _half_mse)
    with pytest.raises(TypeError, match="output_loss"):
        HessianFree(_linear_predict, 3)
    hf = HessianFree(_linear_predict, _half_mse)
    with pytest.raises(ValueError, match="optimizer"):
        fit(None, {"w": np.zeros(2)}, iter([]), num_steps=1, optimizer=hf, max_grad_norm=1.0)
    with pytest.raises(ValueError, match="x0"):
        conjugate_gradient(lambda v: v, np.ones(3), np.ones(2), max_iterations=3)
