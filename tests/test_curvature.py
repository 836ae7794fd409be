"""Curvature products on the fused kernels: forward mode, Gauss-Newton and Hessian-vector products.

The fused rules (the tangent of each kernel's forward and backward pass)
must give the reference loop's numbers to 1e-10 in float64, never run the
traced loop on the way, and agree with torch's double backward.
"""

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad, make_hvp, make_jvp, make_vjp
from autograd.builtins import tuple as traced_tuple
from autograd.misc import flatten
from autograd.test_util import check_grads
from hypothesis import given
from property_support import parity_problems, scaled, with_edge_cases

import rnngrad
from rnngrad import curvature
from rnngrad.kernels import _primitive
from rnngrad.testing import make_problem, probe_loss, problems

TOL = {"rtol": 1e-10, "atol": 1e-12}

# T = 0 without an initial state: nothing depends on the arguments, and autograd says so
pytestmark = pytest.mark.filterwarnings("ignore:Output seems independent of input")


def assert_close(mine, reference, what):
    mine, _ = flatten(mine)
    reference, _ = flatten(reference)
    scale = max(1.0, float(np.max(np.abs(reference), initial=0.0)))
    np.testing.assert_allclose(mine, reference, rtol=TOL["rtol"], atol=TOL["atol"] * scale, err_msg=what)


def _args(problem):
    """What the derivatives are taken with respect to: parameters, inputs and (if drawn) the initial state."""
    if problem.initial_state is None:
        return (problem.params, problem.x)
    return (problem.params, problem.x, problem.initial_state)


def _outputs(problem, impl):
    """``args -> (output, *final_states)``, one traced tuple (forward mode needs a traced container)."""

    def run(args):
        output, final = problem.run(args[0], args[1], args[2] if len(args) > 2 else None, impl=impl)
        return traced_tuple((output, *(final if isinstance(final, tuple) else (final,))))

    return run


def _loss(problem, impl):
    """Non-linear in every output and final state, so that the Hessian sees all of them."""

    def loss(args):
        values = _outputs(problem, impl)(args)
        return probe_loss(anp.tanh(values[0])) + sum(anp.sum(values[k] ** 2) for k in range(1, len(values)))

    return loss


def _direction(args, seed=3):
    flat, unflatten = flatten(args)
    return unflatten(np.random.default_rng(seed).normal(size=flat.shape).astype(flat.dtype))


def _squares(values):
    return probe_loss(values[0] ** 2) + sum(anp.sum(anp.sin(values[k])) for k in range(1, len(values)))


@with_edge_cases(initial_state=True)
@scaled(0.5)
@given(problem=problems(min_steps=0, max_steps=4, max_layers=2, max_hidden_size=3, batch_first=None))
def test_fused_forward_over_reverse_hessian_vector_product_equals_the_reference(problem):
    args = _args(problem)
    vector = _direction(args)
    mine = make_jvp(grad(_loss(problem, "fused")))(args)(vector)
    reference = make_jvp(grad(_loss(problem, "reference")))(args)(vector)
    assert_close(mine, reference, "(gradient, Hessian-vector product) forward over reverse")


@with_edge_cases(initial_state=True)
@scaled(0.5)
@given(problem=problems(max_steps=4, max_layers=2, max_hidden_size=3, batch_first=None))
def test_fused_gauss_newton_product_equals_the_reference(problem):
    args = _args(problem)
    vector = _direction(args, seed=5)

    def ggnvp(impl):
        run = _outputs(problem, impl)
        output, direction = make_jvp(run)(args)(vector)
        _, curved = make_jvp(grad(_squares))(output)(direction)
        return make_vjp(run)(args)[0](curved)

    assert_close(ggnvp("fused"), ggnvp("reference"), "J^T H J v")


@scaled(0.2)
@given(problem=problems(max_steps=3, max_layers=2, max_hidden_size=2, max_batch=2))
def test_third_order_equals_the_reference(problem):
    """d/dp of v . H(p) v: reverse over forward over reverse, which falls back to the reference exactly."""
    vector = _direction(problem.params)

    def curvature_along(impl):
        loss = lambda p: _loss(problem, impl)((p, problem.x))  # noqa: E731
        return lambda p: flatten(make_jvp(grad(loss))(p)(vector)[1])[0] @ flatten(vector)[0]

    assert_close(grad(curvature_along("fused"))(problem.params), grad(curvature_along("reference"))(problem.params), "")


FUSED_CELLS = [
    ("rnn", {"nonlinearity": "tanh"}),
    ("rnn", {"nonlinearity": "relu", "bias": False}),
    ("lstm", {}),
    ("lstm", {"proj_size": 2, "bias": False}),
    ("gru", {}),
    ("gru", {"bias": False}),
]


def _small(kind, options, **changes):
    settings = dict(num_steps=3, batch=2, hidden_size=3, bidirectional=True, lengths=[3, 1], initial_state=True)
    return make_problem(kind, **{**settings, **options, **changes})


@pytest.mark.parametrize("kind, options", FUSED_CELLS, ids=lambda v: str(v))
def test_every_fused_rule_never_runs_the_traced_loop(kind, options, monkeypatch):
    """Forward mode, forward over reverse, reverse over reverse and the GGN product run fused end to end."""
    problem = _small(kind, options, num_layers=2)
    args = _args(problem)
    vector = _direction(args)

    def refuse(*args, **kwargs):
        raise AssertionError("the traced reference loop ran")

    monkeypatch.setattr(_primitive, "_reference", refuse)
    monkeypatch.setattr(_primitive, "_reference_backward", refuse)
    make_jvp(_outputs(problem, None))(args)(vector)
    make_jvp(grad(_loss(problem, None)))(args)(vector)
    make_hvp(_loss(problem, None))(args)[0](vector)
    model_of = lambda p: problem.run(p)[0]  # noqa: E731
    curvature.ggnvp(model_of, lambda y: anp.sum(y**2), problem.params, vector[0])
    with pytest.raises(AssertionError, match="reference loop ran"):  # and the refusal does bite: third order
        grad(lambda p: flatten(make_jvp(grad(_loss(problem, None)))((p, problem.x))(vector[:2])[1])[0][0])(
            problem.params
        )


@pytest.mark.parametrize("kind, options", FUSED_CELLS, ids=lambda v: str(v))
def test_check_grads_to_second_order_in_both_modes_on_the_fused_path(kind, options):
    problem = _small(kind, options, lengths=None, mask=[[True, True], [False, True], [True, False]])
    flat, unflatten = flatten(problem.params)
    loss = lambda theta: _loss(problem, "fused")((unflatten(theta), problem.x))  # noqa: E731
    check_grads(loss, modes=["fwd", "rev"], order=2)(flat)


@pytest.mark.parametrize("kind, options", FUSED_CELLS, ids=lambda v: str(v))
def test_curvature_helpers_equal_autograd_over_the_reference(kind, options):
    problem = _small(kind, options)
    params = problem.params
    vector = _direction(params, seed=11)
    model_of = lambda impl: lambda p: problem.run(p, impl=impl)[0]  # noqa: E731
    loss_of = lambda impl: lambda p: anp.sum(anp.tanh(model_of(impl)(p)) ** 2)  # noqa: E731
    value, tangent = curvature.jvp(model_of(None), params, vector)
    assert_close((value, tangent), make_jvp(model_of("reference"))(params)(vector), "jvp")
    hessian = rnngrad_hessian(loss_of("reference"), params)
    hv = flatten(curvature.hvp(loss_of(None), params, vector))[0]
    np.testing.assert_allclose(hv, hessian @ flatten(vector)[0], **TOL)
    gauss_newton = curvature.ggnvp(model_of(None), lambda y: anp.sum(anp.tanh(y) ** 2), params, vector)
    reference = autograd_ggnvp(model_of("reference"), lambda y: anp.sum(anp.tanh(y) ** 2), params, vector)
    assert_close(gauss_newton, reference, "ggnvp")


def rnngrad_hessian(loss, params):
    from autograd import hessian

    flat, unflatten = flatten(params)
    return hessian(lambda theta: loss(unflatten(theta)))(flat)


def autograd_ggnvp(model, loss, params, vector):
    """autograd's own make_ggnvp on the flat parameter vector (the double-VJP construction)."""
    from autograd.differential_operators import make_ggnvp

    flat, unflatten = flatten(params)
    product = make_ggnvp(lambda theta: model(unflatten(theta)), loss)(flat)
    return unflatten(product(flatten(vector)[0]))


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda p, v: curvature.hvp("loss", p, v), "fun"),
        (lambda p, v: curvature.hvp(lambda q: 0.0, [p], v), "params"),
        (lambda p, v: curvature.hvp(lambda q: 0.0, p, {**v, "weight_ih_l0": v["weight_ih_l0"][:1]}), "vector"),
        (lambda p, v: curvature.jvp(lambda q: 0.0, p, {}), "tangent"),
        (lambda p, v: curvature.ggnvp(lambda q: 0.0, "loss", p, v), "loss"),
    ],
)
def test_bad_arguments_are_refused_by_name(call, message):
    params = rnngrad.RNN(2, 3).init(0)
    with pytest.raises((TypeError, ValueError), match=message):
        call(params, params)


@scaled(0.5)
@given(configuration=parity_problems(max_input_size=3, max_hidden_size=4, max_layers=2, max_steps=4, max_batch=3))
def test_hessian_vector_product_equals_torchs_double_backward(configuration):
    torch_reference = pytest.importorskip("torch_reference")
    torch = torch_reference.torch
    kind, options, steps, batch, lengths, seed, _ = configuration
    model = {"rnn": rnngrad.RNN, "lstm": rnngrad.LSTM, "gru": rnngrad.GRU}[kind](**options)
    rng = np.random.default_rng(seed)
    params = model.init(rng)
    shape = (batch, steps) if options["batch_first"] else (steps, batch)
    x = rng.normal(size=shape + (options["input_size"],))
    weights = rng.normal(size=shape + (model.output_size,))
    vector = {key: rng.normal(size=value.shape) for key, value in params.items()}

    def loss(p):
        output, final = model(p, x, lengths=lengths)
        finals = final if isinstance(final, tuple) else (final,)
        return anp.sum(weights * output**2) + sum(anp.sum(anp.tanh(f)) for f in finals)

    mine = curvature.hvp(loss, params, vector)

    module = torch_reference.torch_module(kind, options)
    module.load_state_dict({key: torch.from_numpy(value) for key, value in params.items()})
    names, leaves = zip(*module.named_parameters())
    output, finals = torch_reference.torch_forward(
        module, torch.from_numpy(x), lengths, batch_first=options["batch_first"]
    )
    total = (torch.from_numpy(weights) * output**2).sum() + sum(torch.tanh(f).sum() for f in finals)
    gradient = torch.autograd.grad(total, leaves, create_graph=True)
    along = sum((g * torch.from_numpy(vector[name])).sum() for name, g in zip(names, gradient))
    theirs = torch.autograd.grad(along, leaves, allow_unused=True)
    for name, value in zip(names, theirs):
        expected = np.zeros_like(params[name]) if value is None else value.numpy()
        np.testing.assert_allclose(mine[name], expected, rtol=1e-9, atol=1e-11, err_msg=name)


@pytest.mark.parametrize(
    "model",
    [
        rnngrad.LSTM(4, 3, num_layers=2, bidirectional=True, dropout=0.3, proj_size=2),
        rnngrad.GRU(4, 4, num_layers=3, bidirectional=True, residual=True, merge_mode="sum"),
        rnngrad.RNN(4, 3, num_layers=2, learn_initial_state=True, nonlinearity="relu"),
        rnngrad.LSTM(4, 3, num_layers=2, variational_dropout=0.2, weight_dropout=0.1, batch_first=True),
    ],
    ids=repr,
)
def test_curvature_helpers_through_every_model_option_never_run_the_traced_loop(model, monkeypatch):
    rng = np.random.default_rng(0)
    params = model.init(seed=0)
    vector = {key: rng.normal(size=value.shape) for key, value in params.items()}
    x = rng.normal(size=(3, 5, 4) if model.batch_first else (5, 3, 4))

    def outputs(p):
        return model(p, x, lengths=[5, 2, 0], train=True, rng=np.random.default_rng(1))[0]

    def refuse(*args, **kwargs):
        raise AssertionError("the traced reference loop ran")

    monkeypatch.setattr(_primitive, "_reference", refuse)
    monkeypatch.setattr(_primitive, "_reference_backward", refuse)
    curvature.jvp(outputs, params, vector)
    curvature.hvp(lambda p: anp.sum(outputs(p) ** 2), params, vector)
    curvature.ggnvp(outputs, lambda y: anp.sum(y**2), params, vector)
