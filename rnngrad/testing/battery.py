r"""``check_cell``: the properties every recurrent cell must have, in one call.

A cell that follows the protocol of :class:`rnngrad.Cell` only says what one
step does; the sequence module adds masking, reversal and truncation around
it. These properties hold for *any* correct cell, so they test a new cell
(and the sequence module around it) without knowing its equations:

==================  ================================================================
property            statement
==================  ================================================================
``shapes``          parameters, outputs, states and gradients have the declared
                    shapes; float32 in gives float32 out and float32 gradients
``purity``          the same call twice gives the same answer (no hidden state)
``loop``            :func:`rnngrad.unroll` equals a Python loop over each
                    sequence's valid steps, forward and reverse
``batch``           row b of a batch equals row b run alone; permuting the
                    batch permutes the results
``padding``         inputs at masked steps change nothing, and their gradient is
                    exactly zero; outputs at masked steps are zero
``reversal``        the reverse direction equals flipping each sequence within
                    its length, running forward, flipping back
``split``           running ``x[:s]`` then ``x[s:]`` from the carried state equals
                    one run, values and gradients (truncated BPTT rests on it)
``weight_sharing``  the gradient for the shared weights is the sum over time of
                    the gradients for per-step untied copies
``gradients``       autograd's gradients agree with finite differences
                    (:func:`autograd.test_util.check_grads`, reverse and forward)
==================  ================================================================
"""

import warnings
from contextlib import contextmanager

import autograd.numpy as np
import hypothesis
import numpy as onp
from autograd import grad as autograd_grad
from autograd.test_util import check_grads
from autograd.tracer import getval
from hypothesis import HealthCheck, given
from hypothesis import strategies as st

from ..sequence import unroll
from .references import flip_within_lengths, loop_over_cell, probe_loss
from .strategies import cell_problems, sequences

__all__ = ["check_cell", "CELL_PROPERTIES"]


@contextmanager
def _constant_output_is_fine():
    """Silence autograd's warning for a constant function: T = 0 or all steps masked are cases we test."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Output seems independent of input", UserWarning)
        yield


def quiet_grad(fun, argnum=0):
    """autograd's ``grad``, quiet when an empty sequence makes the loss constant."""
    differentiated = autograd_grad(fun, argnum)

    def quiet(*args):
        with _constant_output_is_fine():
            return differentiated(*args)

    return quiet


def _assert_close(actual, expected, rtol, atol, what):
    onp.testing.assert_allclose(getval(actual), getval(expected), rtol=rtol, atol=atol, err_msg=what)


def _assert_all_close(actual, expected, rtol, atol, what):
    actual, expected = _flat(actual), _flat(expected)
    assert len(actual) == len(expected), f"{what}: {len(actual)} arrays, expected {len(expected)}"
    for i, (a, e) in enumerate(zip(actual, expected)):
        _assert_close(a, e, rtol, atol, f"{what} [{i}]")


def _flat(tree):
    if isinstance(tree, dict):
        return [leaf for key in sorted(tree) for leaf in _flat(tree[key])]
    if isinstance(tree, (tuple, list)):
        return [leaf for item in tree for leaf in _flat(item)]
    return [tree]


def _run(problem, impl, *, params=None, inputs=None, state=None, mask=None, reverse=False):
    return unroll(
        problem.cell,
        problem.params if params is None else params,
        problem.inputs if inputs is None else inputs,
        problem.state if state is None else state,
        mask=problem.mask if mask is None else mask,
        reverse=reverse,
        impl=impl,
    )


def _shapes(problem, data, impl, rtol, atol):
    cell, num_steps, batch = problem.cell, problem.num_steps, problem.batch
    declared = {name: tuple(shape) for name, shape in cell.param_shapes().items()}
    assert {k: v.shape for k, v in problem.params.items()} == declared, (
        "init(): keys or shapes differ from param_shapes()"
    )
    initial = cell.initial_state(batch)
    assert [s.shape for s in initial] == [(batch, size) for size in cell.state_sizes], "initial_state() shapes"
    assert cell.output_size == cell.state_sizes[0], "output_size must be state_sizes[0]"
    for dtype in (onp.float64, onp.float32):
        params = {k: v.astype(dtype) for k, v in problem.params.items()}
        inputs = problem.inputs.astype(dtype)
        state = tuple(s.astype(dtype) for s in problem.state)
        output, new_state = cell.step(
            params, inputs[0] if num_steps else onp.zeros((batch, cell.input_size), dtype), state
        )
        assert output.shape == (batch, cell.output_size), f"step() output shape {output.shape}"
        assert [s.shape for s in new_state] == [(batch, size) for size in cell.state_sizes], "step() state shapes"
        assert output.dtype == dtype and all(s.dtype == dtype for s in new_state), f"step() changes dtype {dtype}"
        outputs, final = _run(problem, impl, params=params, inputs=inputs, state=state)
        assert outputs.shape == (num_steps, batch, cell.output_size), f"unroll() outputs shape {outputs.shape}"
        assert [s.shape for s in final] == [(batch, size) for size in cell.state_sizes], "unroll() final shapes"
        assert outputs.dtype == dtype and all(s.dtype == dtype for s in final), f"unroll() changes dtype {dtype}"
        gradient = quiet_grad(lambda p, x, s: probe_loss(*_run(problem, impl, params=p, inputs=x, state=s)), (0, 1, 2))(
            params, inputs, state
        )
        for name, value in gradient[0].items():
            assert value.shape == declared[name] and value.dtype == dtype, f"gradient of {name}: {value.dtype}"
        assert gradient[1].shape == inputs.shape and gradient[1].dtype == dtype, "gradient of the inputs"
        assert all(g.shape == s.shape and g.dtype == dtype for g, s in zip(gradient[2], state)), "state gradient"


def _purity(problem, data, impl, rtol, atol):
    first = _run(problem, impl)
    second = _run(problem, impl)
    _assert_all_close(second, first, 0, 0, "a second identical call gave a different answer")


def _loop(problem, data, impl, rtol, atol):
    for reverse in (False, True):
        expected = loop_over_cell(
            problem.cell, problem.params, problem.inputs, problem.state, mask=problem.mask, reverse=reverse
        )
        _assert_all_close(_run(problem, impl, reverse=reverse), expected, rtol, atol, f"unroll vs loop {reverse=}")


def _batch(problem, data, impl, rtol, atol):
    outputs, final = _run(problem, impl)
    for b in range(problem.batch):
        alone = _run(
            problem,
            impl,
            inputs=problem.inputs[:, b : b + 1],
            state=tuple(s[b : b + 1] for s in problem.state),
            mask=problem.mask[:, b : b + 1],
        )
        _assert_all_close(alone, (outputs[:, b : b + 1], tuple(s[b : b + 1] for s in final)), rtol, atol, f"row {b}")
    order = onp.asarray(data.draw(st.permutations(range(problem.batch)), label="permutation"))
    permuted = _run(
        problem,
        impl,
        inputs=problem.inputs[:, order],
        state=tuple(s[order] for s in problem.state),
        mask=problem.mask[:, order],
    )
    _assert_all_close(permuted, (outputs[:, order], tuple(s[order] for s in final)), rtol, atol, "permuted batch")


def _padding(problem, data, impl, rtol, atol):
    noise = data.draw(sequences(shape=problem.inputs.shape, dtype=problem.inputs.dtype), label="padding")
    padded = onp.where(problem.mask[..., None], problem.inputs, noise)
    outputs, final = _run(problem, impl)
    assert not onp.any(outputs[~problem.mask]), "outputs at masked steps must be zero"
    _assert_all_close(_run(problem, impl, inputs=padded), (outputs, final), rtol, atol, "changed padding")

    def loss(params, inputs):
        return probe_loss(*_run(problem, impl, params=params, inputs=inputs))

    params_grad, inputs_grad = quiet_grad(loss, (0, 1))(problem.params, problem.inputs)
    assert not onp.any(inputs_grad[~problem.mask]), "the gradient of masked inputs must be exactly zero"
    _assert_all_close(quiet_grad(loss)(problem.params, padded), params_grad, rtol, atol, "parameter gradient, padding")


def _reversal(problem, data, impl, rtol, atol):
    lengths = problem.mask.sum(axis=0) if _is_prefix(problem.mask) else onp.full(problem.batch, problem.num_steps)
    mask = onp.arange(problem.num_steps)[:, None] < lengths[None, :]
    outputs, final = _run(problem, impl, mask=mask, reverse=True)
    flipped, flipped_final = _run(problem, impl, inputs=flip_within_lengths(problem.inputs, lengths), mask=mask)
    _assert_all_close((outputs, final), (flip_within_lengths(flipped, lengths), flipped_final), rtol, atol, "reverse")


def _is_prefix(mask):
    lengths = mask.sum(axis=0)
    return onp.array_equal(mask, onp.arange(mask.shape[0])[:, None] < lengths[None, :])


def _split(problem, data, impl, rtol, atol):
    cut = data.draw(st.integers(0, problem.num_steps), label="split_at")

    def whole(params, state):
        return _run(problem, impl, params=params, state=state)

    def in_two(params, state):
        first, carried = _run(
            problem, impl, params=params, inputs=problem.inputs[:cut], state=state, mask=problem.mask[:cut]
        )
        second, final = _run(
            problem, impl, params=params, inputs=problem.inputs[cut:], state=carried, mask=problem.mask[cut:]
        )
        return np.concatenate([first, second], axis=0), final

    args = (problem.params, problem.state)
    _assert_all_close(in_two(*args), whole(*args), rtol, atol, f"split at {cut}")
    gradients = [quiet_grad(lambda p, s, f=f: probe_loss(*f(p, s)), (0, 1))(*args) for f in (in_two, whole)]
    _assert_all_close(gradients[0], gradients[1], rtol, atol, f"gradient, split at {cut}")


def _weight_sharing(problem, data, impl, rtol, atol):
    for reverse in (False, True):

        def tied(params, reverse=reverse):
            return probe_loss(*_run(problem, impl, params=params, reverse=reverse))

        def untied(copies, reverse=reverse):
            return probe_loss(
                *loop_over_cell(problem.cell, copies, problem.inputs, problem.state, mask=problem.mask, reverse=reverse)
            )

        copies = [{k: v.copy() for k, v in problem.params.items()} for _ in range(problem.num_steps)]
        per_step = quiet_grad(untied)(copies)
        summed = {k: sum((g[k] for g in per_step), onp.zeros_like(v)) for k, v in problem.params.items()}
        _assert_all_close(quiet_grad(tied)(problem.params), summed, rtol, atol, f"shared vs untied gradient {reverse=}")


def _gradients(problem, data, impl, rtol, atol, order=1):
    def flat(params, inputs, state):
        outputs, final = _run(problem, impl, params=params, inputs=inputs, state=state)
        return np.concatenate([np.ravel(outputs)] + [np.ravel(s) for s in final])

    # Finite differences need a point where the cell is differentiable; Hypothesis loves exact zeros, where a
    # relu has its kink, so the check runs at a nearby generic point (the same one for a given problem).
    rng = onp.random.default_rng(0)
    inputs = problem.inputs + 1e-2 * rng.standard_normal(problem.inputs.shape).astype(problem.inputs.dtype)
    state = tuple(s + 1e-2 * rng.standard_normal(s.shape).astype(s.dtype) for s in problem.state)
    # one tuple argument, so that check_grads perturbs the inputs and the state too, not only the parameters
    with _constant_output_is_fine():
        check_grads(lambda args: flat(*args), modes=["rev", "fwd"], order=order)((problem.params, inputs, state))


#: The properties check_cell runs, by name: each maps to the function that states it.
CELL_PROPERTIES = {
    "shapes": _shapes,
    "purity": _purity,
    "loop": _loop,
    "batch": _batch,
    "padding": _padding,
    "reversal": _reversal,
    "split": _split,
    "weight_sharing": _weight_sharing,
    "gradients": _gradients,
}


def check_cell(
    cell,
    *,
    properties=None,
    max_steps=4,
    max_batch=3,
    max_input_size=3,
    bound=2.0,
    impl=None,
    second_order=False,
    rtol=1e-10,
    atol=1e-12,
    settings=None,
):
    """Check that ``cell`` behaves as a recurrent cell must, through the sequence module.

    Each property (see the table in this module's docstring) is a Hypothesis
    test over drawn sequence lengths, batch sizes, masks (prefix and
    arbitrary), initial states and inputs; every failing property is
    reported, each with its falsifying example::

        from rnngrad.testing import check_cell
        check_cell(lambda input_size: MinimalGatedUnit(input_size, 4))

    Args:
        cell: a cell object (its ``input_size`` is then fixed) or a function
            ``input_size -> cell`` (D is then drawn in ``[1, max_input_size]``).
        properties: names of the properties to run (keys of
            :data:`CELL_PROPERTIES`); ``None`` for all.
        max_steps: the largest T drawn (T = 0 included).
        max_batch: the largest B drawn.
        max_input_size: the largest D drawn when ``cell`` is a function.
        bound: inputs lie in ``[-bound, bound]``.
        impl: passed to :func:`rnngrad.unroll` (``None``: fused where available).
        second_order: check second derivatives too (slower).
        rtol, atol: tolerances of the value comparisons (the padding gradient
            is always required to be exactly zero).
        settings: a :class:`hypothesis.settings` for every property, e.g.
            ``settings(max_examples=50)``; ``None`` inherits the active
            profile.

    Raises:
        AssertionError: naming every property that failed, with its error.
    """
    names = list(CELL_PROPERTIES) if properties is None else list(properties)
    unknown = [name for name in names if name not in CELL_PROPERTIES]
    if unknown:
        raise ValueError(f"properties: unknown {unknown}; expected names from {list(CELL_PROPERTIES)}")
    if settings is not None and not isinstance(settings, hypothesis.settings):
        raise TypeError(f"settings: expected a hypothesis.settings or None, got {type(settings).__name__}")
    base = hypothesis.settings(
        parent=settings or hypothesis.settings(),
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    strategy = cell_problems(cell, max_steps=max_steps, max_batch=max_batch, max_input_size=max_input_size, bound=bound)
    failures = []
    for name in names:
        prop = CELL_PROPERTIES[name]
        if name == "gradients" and second_order:
            prop = _second_order

        run = _as_test(prop, name, impl, rtol, atol)
        try:
            base(given(strategy, st.data())(run))()
        except Exception as error:  # report every failing property, not only the first
            failures.append((name, error))
    if failures:
        described = getattr(cell, "__name__", None) or repr(cell)
        lines = [f"check_cell: {described} failed {len(failures)} of {len(names)} properties: "]
        lines[0] += ", ".join(name for name, _ in failures)
        for name, error in failures:
            notes = "\n".join(getattr(error, "__notes__", []))
            lines.append(f"[{name}] {type(error).__name__}: {error}\n{notes}".rstrip())
        raise AssertionError("\n\n".join(lines)) from failures[0][1]


def _as_test(prop, name, impl, rtol, atol):
    def run(problem, data):
        prop(problem, data, impl, rtol, atol)

    run.__name__ = run.__qualname__ = f"check_cell_{name}"
    return run


def _second_order(problem, data, impl, rtol, atol):
    _gradients(problem, data, impl, rtol, atol, order=2)
