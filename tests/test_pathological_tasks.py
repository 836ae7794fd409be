"""The pathological problems: each generator's shapes, dtypes, seeding, baseline and a hand-checked example."""

import numpy as np
import pytest

from rnngrad.tasks import PATHOLOGICAL, pathological

# (problem, x shape, y shape, y dtype) for batch 3 and length 20
SHAPES = {
    "adding": ((20, 3, 2), (3, 1), np.float64),
    "multiplication": ((20, 3, 2), (3, 1), np.float64),
    "xor": ((20, 3, 2), (3, 1), np.float64),
    "temporal_order": ((20, 3, 8), (3,), np.int64),
    "temporal_order_3": ((20, 3, 8), (3,), np.int64),
    "random_permutation": ((20, 3, 100), (20, 3), np.int64),
    "memorization": ((20, 3, 4), (20, 3), np.int64),
}


def test_registry_lists_every_problem_of_the_paper():
    assert set(PATHOLOGICAL) == set(SHAPES)
    assert pathological.get("xor").name == "xor"
    with pytest.raises(ValueError, match="name"):
        pathological.get("parity")


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_generator_shapes_dtypes_and_problem_sizes(name):
    problem = pathological.get(name)
    x, y = problem.generate(3, 20, 0)
    x_shape, y_shape, y_dtype = SHAPES[name]
    assert x.shape == x_shape and x.dtype == np.float64
    assert y.shape == y_shape and y.dtype == y_dtype
    assert x.shape[-1] == problem.input_size


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_generator_is_determined_by_its_seed(name):
    problem = pathological.get(name)
    first, again, other = (problem.generate(8, 30, seed) for seed in (5, 5, 6))
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))


def _trivial_outputs(name, x, y):
    """What the best predictor that ignores the long-range inputs outputs."""
    batch = x.shape[1]
    if name in ("adding", "multiplication"):
        return np.full((batch, 1), 1.0 if name == "adding" else 0.25)
    if name == "xor":
        return np.zeros((batch, 1))  # logit 0: the bit is called 0 (> 0 is 1)
    if name in ("temporal_order", "temporal_order_3"):
        return np.eye(pathological.get(name).num_outputs)[np.zeros(batch, dtype=int)]
    # per-step problems: the right answer everywhere except the remembered symbols, called 0
    outputs = np.eye(pathological.get(name).num_outputs)[y]
    remembered = slice(-1, None) if name == "random_permutation" else slice(-5, None)
    outputs[remembered] = np.eye(pathological.get(name).num_outputs)[0]
    return outputs


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_baseline_is_the_metric_of_the_trivial_predictor(name):
    problem = pathological.get(name)
    # 100-symbol one-hot inputs are large: fewer sequences for the permutation problem
    x, y = problem.generate(*((4000, 20) if name == "random_permutation" else (20000, 40)), 1)
    measured = problem.metric(_trivial_outputs(name, x, y), y)
    assert measured == pytest.approx(problem.baseline, rel=0.05)
    assert not problem.solved(measured)


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_perfect_outputs_solve_the_problem_and_lower_the_loss(name):
    problem = pathological.get(name)
    x, y = problem.generate(50, 30, 2)
    if problem.metric_name == "mse":
        perfect = y
    elif name == "xor":
        perfect = 20.0 * (2 * y - 1)
    else:
        perfect = 20.0 * np.eye(problem.num_outputs)[y]
    assert problem.solved(problem.metric(perfect, y))
    assert float(problem.loss(perfect, y)) < float(problem.loss(_trivial_outputs(name, x, y), y))


def test_temporal_order_hand_checked_example():
    x, y = pathological.generate_temporal_order(2, 20, seed=3)
    # windows [2, 4) and [10, 12); start 7, end 6, X = 4, Y = 5
    assert x.argmax(-1).T.tolist() == [
        [7, 0, 0, 4, 0, 1, 2, 1, 2, 0, 1, 4, 1, 2, 0, 3, 3, 1, 2, 6],  # X then X: class 0
        [7, 0, 5, 2, 0, 1, 1, 0, 2, 0, 4, 2, 1, 2, 2, 3, 1, 2, 2, 6],  # Y then X: class 2
    ]
    assert y.tolist() == [0, 2]
    x, y = pathological.generate_temporal_order(1, 20, seed=3, bits=3)
    # windows [2, 4), [6, 8), [12, 14): X Y X spells 010 = 2
    assert x.argmax(-1).T.tolist() == [[7, 0, 4, 0, 0, 3, 3, 5, 0, 0, 1, 1, 4, 1, 1, 0, 2, 2, 0, 6]]
    assert y.tolist() == [2]


def test_memorization_hand_checked_example():
    x, y = pathological.generate_memorization(2, 12, seed=1)
    # 5 bits, blanks (2), the trigger (3) at step 12 - 5 - 1 = 6, the bits again as targets at the end
    assert x.argmax(-1).T.tolist() == [[0, 1, 0, 1, 0, 2, 3, 2, 2, 2, 2, 2], [1, 1, 0, 1, 0, 2, 3, 2, 2, 2, 2, 2]]
    assert y.T.tolist() == [[2, 2, 2, 2, 2, 2, 2, 0, 1, 0, 1, 0], [2, 2, 2, 2, 2, 2, 2, 1, 1, 0, 1, 0]]


def test_random_permutation_hand_checked_example():
    x, y = pathological.generate_random_permutation(2, 6, seed=2)
    assert x.argmax(-1).T.tolist() == [[1, 12, 42, 46, 34, 81], [0, 31, 81, 11, 60, 73]]
    # the next symbol at every step, and the first symbol at the last step
    assert y.T.tolist() == [[12, 42, 46, 34, 81, 1], [31, 81, 11, 60, 73, 0]]


def test_xor_and_multiplication_hand_checked_examples():
    x, y = pathological.generate_xor(3, 10, seed=4)
    assert x[..., 1].T.nonzero()[1].tolist() == [0, 4, 0, 2, 0, 3]  # the two markers of each sequence
    assert x[..., 0].T[[0, 1, 2], [0, 0, 0]].tolist() == [1.0, 1.0, 1.0]
    assert x[..., 0].T[[0, 1, 2], [4, 2, 3]].tolist() == [1.0, 0.0, 0.0]
    assert y.ravel().tolist() == [0.0, 1.0, 1.0]  # 1 xor 1, 1 xor 0, 1 xor 0
    x, y = pathological.generate_multiplication(1, 10, seed=5)
    assert x[:, 0, 1].nonzero()[0].tolist() == [0, 1]
    assert y[0, 0] == pytest.approx(x[0, 0, 0] * x[1, 0, 0])


def test_marked_positions_follow_the_paper_windows():
    x, _ = pathological.generate_multiplication(2000, 100, seed=7)
    first, second = np.sort(x[..., 1].T.nonzero()[1].reshape(-1, 2), axis=1).T
    assert first.min() == 0 and first.max() == 9
    assert second.min() == 10 and second.max() == 49


@pytest.mark.parametrize(
    "call, argument",
    [
        (lambda: pathological.generate_temporal_order(4, 9), "length"),
        (lambda: pathological.generate_temporal_order(4, 20, bits=4), "bits"),
        (lambda: pathological.generate_memorization(4, 10), "length"),
        (lambda: pathological.generate_memorization(4, 30, num_values=1), "num_values"),
        (lambda: pathological.generate_xor(0, 10), "batch_size"),
        (lambda: pathological.generate_random_permutation(4, 1), "length"),
    ],
)
def test_bad_arguments_name_the_argument(call, argument):
    with pytest.raises(ValueError, match=argument):
        call()
