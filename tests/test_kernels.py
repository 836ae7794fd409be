"""The fused kernels compute the reference loop's function: values, gradients, second order, forward mode.

Every property draws a whole problem (cell, options, stacking, direction,
lengths or any mask, initial state, dtype) from :mod:`rnngrad.testing` and
runs it through both implementations.
"""

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad, jacobian, make_hvp, make_jvp
from autograd.builtins import tuple as traced_tuple
from autograd.misc import flatten
from hypothesis import given, settings
from hypothesis import strategies as st

import rnngrad
from rnngrad.kernels import kernel_for
from rnngrad.testing import make_problem, probe_loss, problems

# relative 1e-10 in float64; float32 rounds 2**-24 per operation, and a few
# dozen of them separate the two implementations' summation orders
TOLERANCES = {np.float64: (1e-10, 1e-12), np.float32: (2e-4, 2e-5)}


def assert_close(mine, reference, dtype, what):
    rtol, atol = TOLERANCES[np.dtype(dtype).type]
    mine, _ = flatten(mine)
    reference, _ = flatten(reference)
    scale = max(1.0, float(np.max(np.abs(reference), initial=0.0)))
    np.testing.assert_allclose(mine, reference, rtol=rtol, atol=atol * scale, err_msg=what)


def _dtype(problem):
    return problem.x.dtype


def _diff_args(problem):
    """What the gradients are taken with respect to: parameters, inputs and (if drawn) the initial state."""
    if problem.initial_state is None:
        return (problem.params, problem.x)
    return (problem.params, problem.x, problem.initial_state)


def _call(problem, impl, args):
    return problem.run(args[0], args[1], args[2] if len(args) > 2 else None, impl=impl)


def _run(problem, impl):
    """``args -> (output, final)`` as one traced tuple (forward mode needs a traced container)."""

    def run(args):
        output, final = _call(problem, impl, args)
        return traced_tuple((output, traced_tuple(final) if isinstance(final, tuple) else final))

    return run


def _loss(problem, impl):
    return lambda args: probe_loss(*_call(problem, impl, args))


def _nonlinear_loss(problem, impl):
    """A loss whose Hessian sees every output: ``sum(w * tanh(y))`` and the squares of the final states."""

    def loss(args):
        output, final = _call(problem, impl, args)
        finals = final if isinstance(final, tuple) else (final,)
        return probe_loss(anp.tanh(output)) + sum(anp.sum(f**2) for f in finals)

    return loss


# T = 0 without an initial state: nothing depends on the arguments, and autograd says so
pytestmark = pytest.mark.filterwarnings("ignore:Output seems independent of input")


def float_problems(**kwargs):
    return st.sampled_from([np.float64, np.float32]).flatmap(lambda dtype: problems(dtype=dtype, **kwargs))


@given(problem=float_problems(min_steps=0, max_steps=6))
def test_fused_equals_reference_in_outputs_and_final_states(problem):
    mine = problem.run(impl="fused")
    reference = problem.run(impl="reference")
    assert mine[0].dtype == reference[0].dtype == _dtype(problem)
    assert_close(mine, reference, _dtype(problem), "outputs and final states")


@given(problem=float_problems(min_steps=0, max_steps=6))
def test_fused_equals_reference_in_every_first_order_gradient(problem):
    args = _diff_args(problem)
    mine = grad(_loss(problem, "fused"))(args)
    reference = grad(_loss(problem, "reference"))(args)
    assert_close(mine, reference, _dtype(problem), "gradients w.r.t. (params, x, initial_state)")


@settings(max_examples=max(3, settings().max_examples // 2))
@given(problem=problems(max_steps=4, max_layers=2, max_hidden_size=3))
def test_fused_equals_reference_in_hessian_vector_products(problem):
    args = _diff_args(problem)
    flat, unflatten = flatten(args)
    vector = unflatten(np.random.default_rng(7).normal(size=flat.shape))
    mine = make_hvp(_nonlinear_loss(problem, "fused"))(args)[0](vector)
    reference = make_hvp(_nonlinear_loss(problem, "reference"))(args)[0](vector)
    assert_close(mine, reference, np.float64, "Hessian-vector product")


@settings(max_examples=max(3, settings().max_examples // 2))
@given(problem=problems(max_steps=4, max_layers=2, max_hidden_size=3))
def test_fused_equals_reference_in_grad_of_grad(problem):
    """d/dx of |d loss / d params|^2: reverse over reverse, with the inputs and the parameters mixed."""

    def squared_gradient(impl):
        loss = _loss(problem, impl)
        return lambda x: anp.sum(flatten(grad(loss)((problem.params, x)))[0] ** 2)

    mine = grad(squared_gradient("fused"))(problem.x)
    reference = grad(squared_gradient("reference"))(problem.x)
    assert_close(mine, reference, np.float64, "grad of grad")


@settings(max_examples=max(3, settings().max_examples // 2))
@given(problem=float_problems(max_steps=5, max_layers=2))
def test_fused_equals_reference_in_forward_mode(problem):
    args = _diff_args(problem)
    flat, unflatten = flatten(args)
    tangent = unflatten(np.random.default_rng(3).normal(size=flat.shape).astype(flat.dtype))
    mine = make_jvp(_run(problem, "fused"))(args)(tangent)
    reference = make_jvp(_run(problem, "reference"))(args)(tangent)
    assert_close(mine, reference, _dtype(problem), "(value, tangent) in forward mode")


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_fused_jacobian_applies_one_vjp_many_times(kind):
    """``jacobian`` reuses one backward pass for every output: the fused VJP must not consume its residuals."""
    problem = make_problem(kind, num_steps=3, batch=2, lengths=[3, 1], bidirectional=True, initial_state=True)

    def outputs(impl):
        return lambda x: problem.run(x=x, impl=impl)[0]

    np.testing.assert_allclose(jacobian(outputs("fused"))(problem.x), jacobian(outputs("reference"))(problem.x))


@pytest.mark.parametrize(
    "cell",
    [rnngrad.RNNCell(2, 3), rnngrad.RNNCell(2, 3, nonlinearity="relu"), rnngrad.LSTMCell(2, 3, proj_size=1)]
    + [rnngrad.LSTMCell(2, 3, bias=False), rnngrad.GRUCell(2, 3)],
    ids=repr,
)
def test_kernel_for_covers_the_built_in_cells(cell):
    assert callable(kernel_for(cell))


def test_kernel_for_refuses_the_reset_before_gru_which_it_does_not_compute():
    assert kernel_for(rnngrad.GRUCell(2, 3, reset_after=False)) is None


def test_kernel_for_refuses_subclasses_which_may_override_the_step():
    class ScaledLSTM(rnngrad.LSTMCell):
        def step(self, params, x, state):
            output, (h, c) = super().step(params, x, state)
            return 2 * output, (2 * h, c)

    assert kernel_for(ScaledLSTM(2, 3)) is None
    cell = ScaledLSTM(2, 3)
    params = cell.init(0)
    x = np.ones((2, 1, 2))
    state = cell.initial_state(1)
    with pytest.raises(ValueError, match="impl"):
        rnngrad.sequence.unroll(cell, params, x, state, impl="fused")
    output, _ = rnngrad.sequence.unroll(cell, params, x, state)
    np.testing.assert_allclose(output, rnngrad.sequence.unroll(cell, params, x, state, impl="reference")[0])


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_fused_zero_steps_returns_the_initial_state_and_no_output(kind):
    problem = make_problem(kind, num_steps=0, batch=2, bidirectional=True, initial_state=True)
    output, final = problem.run(impl="fused")
    assert output.shape == (0, 2, problem.model.output_size)
    assert_close(final, problem.initial_state, np.float64, "final state")


def test_fused_sigmoid_saturates_without_warnings_or_nan():
    """Pre-activations far beyond exp's range: the gates are exactly 0 or 1, gradients finite."""
    model = rnngrad.GRU(1, 2)
    params = {key: np.full_like(value, 1e3) for key, value in model.init(0).items()}
    x = np.array([[[-1.0]], [[1.0]], [[-1.0]]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        mine = grad(lambda p: probe_loss(model(p, x, impl="fused")))(params)
    reference = grad(lambda p: probe_loss(model(p, x, impl="reference")))(params)
    assert_close(mine, reference, np.float64, "saturated gradients")
