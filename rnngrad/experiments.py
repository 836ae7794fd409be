# long: one short recipe per task (five, one more for the pathological problems), read side by side,
# and the one place that checks their arguments.
"""One training run per built-in task: data, network, loss, metric and baseline, wired to :func:`rnngrad.train.fit`.

:func:`run` is what ``rnngrad train`` calls; it is also the shortest
complete example of training with rnngrad, one small function per task.
Every run is reproducible from its seed (data, initialization, batches).
A run has two halves: :func:`prepare` checks every argument and reads the
data (fast, and where every mistake is caught), :meth:`Experiment.run`
trains and measures (slow) and returns a :class:`RunResult`.

Defaults (chosen so each task trains in about a minute or two on 2 cores,
except ``adding`` at long lengths, which takes several) are in :data:`DEFAULTS`.
"""

import collections
import numbers
from dataclasses import dataclass, field

import numpy as onp

from . import nn
from ._validation import check_bool, check_positive_int, check_real
from .cells import GREFF_VARIANTS, GreffLSTMCell
from .hessian_free import HessianFree, batch_pair, recurrent_predict
from .models import GRU, LSTM, RNN
from .nets import BagOfEmbeddings, RecurrentNet
from .probe import probe
from .recurrent import Recurrent
from .tasks import adding, agreement, chars, copy, order, pathological, text
from .trace import trace
from .train import FitResult, fit, minibatches, pad_sequences, stream_batches, truncated_bptt
from .utilities import make_rng

__all__ = [
    "CELLS",
    "DEFAULTS",
    "HF_DEFAULTS",
    "MIN_LENGTH",
    "OPTIMIZERS",
    "Experiment",
    "RunResult",
    "prepare",
    "run",
    "build_core",
    "greff_core",
    "flag_probes",
]

#: The model class behind each ``--cell`` name of the command line.
CELLS = {"rnn": RNN, "lstm": LSTM, "gru": GRU}

#: per task: hidden H, length T (None: the data decides), steps, batch B,
#: Adam step size, clipping norm, evaluation period, and patience (evaluations
#: without improvement before stopping early; None: never).
DEFAULTS = {
    "order": dict(hidden=32, length=8, steps=1500, batch=64, step_size=0.01, clip=5.0, eval_every=100, patience=4),
    "adding": dict(hidden=32, length=50, steps=3000, batch=64, step_size=0.01, clip=1.0, eval_every=250, patience=None),
    "copy": dict(hidden=64, length=10, steps=1500, batch=64, step_size=0.01, clip=1.0, eval_every=100, patience=None),
    "text": dict(hidden=64, length=None, steps=500, batch=32, step_size=0.005, clip=5.0, eval_every=50, patience=5),
    # agreement: an LSTM learns agreement and polarity first (about 2/3 right) and that "not" reverses
    # the feeling only later, after a plateau whose length depends on the seed (measured: test accuracy
    # 1.0 at step 2000 with seed 0, 2250 with seed 1, still 0.67 at step 1000), so no early stop.
    "agreement": dict(
        hidden=32, length=None, steps=3000, batch=32, step_size=0.02, clip=5.0, eval_every=250, patience=None
    ),
    "chars": dict(hidden=64, length=32, steps=400, batch=16, step_size=0.005, clip=5.0, eval_every=50, patience=3),
}
# the pathological problems of Martens and Sutskever (2011) besides adding: Adam's budget as for adding
for _name in pathological.PROBLEMS:
    DEFAULTS.setdefault(_name, dict(DEFAULTS["adding"]))
#: The optimizers of ``rnngrad train --optimizer``: Adam (every task) and Hessian-free (the pathological problems).
OPTIMIZERS = ("adam", "hf")
#: With ``optimizer="hf"``: the steps, the gradient batch, the curvature batch, the evaluation period, the
#: most CG iterations per step and the structural damping (the settings of docs/hessian_free.rst).
HF_DEFAULTS = dict(steps=60, batch=500, curvature_batch=100, eval_every=5, max_cg=100, structural_damping=1 / 30)
#: per task: the smallest ``length`` it can use (order: the shortest sentence;
#: adding: two marked values); the text task takes its lengths from the data.
MIN_LENGTH = {"order": order.MIN_LENGTH, "adding": 2, "copy": 1, "chars": 1}
MIN_LENGTH.update({name: problem.min_length for name, problem in pathological.PROBLEMS.items() if name != "adding"})
EMBEDDING_SIZE = 16
#: chars: the validation and test metrics read at most this many characters.
EVAL_CHARS = 20000
#: chars: the sample starts with this prime when the text has its characters.
PRIME = "The "


def greff_core(variant):
    """A builder of cores of one :class:`~rnngrad.GreffLSTMCell` variant, called as the classes in :data:`CELLS` are."""

    def build(input_size, hidden_size, num_layers=1, bidirectional=False):
        make_cell = lambda d: GreffLSTMCell(d, hidden_size, variant=variant)  # noqa: E731
        return Recurrent(make_cell, input_size, num_layers, bidirectional=bidirectional)

    return build


# Greff et al.'s LSTM variants by name ("vanilla", "nfg", ...): ``rnngrad train --cell nfg``.
CELLS.update({variant: greff_core(variant) for variant in GREFF_VARIANTS})


def build_core(cell, input_size, hidden, layers=1, bidirectional=False):
    """A recurrent core by name: a key of :data:`CELLS` (``"rnn"`` is the tanh Elman network)."""
    if cell not in CELLS:
        raise ValueError(f"cell: expected one of {sorted(CELLS)}, got {cell!r}")
    return CELLS[cell](input_size, hidden, num_layers=layers, bidirectional=bidirectional)


@dataclass(frozen=True)
class RunResult:
    """What :meth:`Experiment.run` (and :func:`run`) returns.

    Attributes:
        task, cell, seed: what ran.
        settings: the budget and sizes used (:data:`DEFAULTS` with the given values).
        metric: the test metric's name (``"accuracy"``, ``"mse"``, ``"cross-entropy"``).
        maximize: whether a larger metric is better.
        test_metric: the metric of the kept parameters on the test split
            (``nan`` if training diverged).
        baseline_name, baseline: the task's reference point on the same split.
        fit: the :class:`~rnngrad.train.FitResult` of the recurrent network.
        net, params: the network and its kept parameters.
        baseline_fit, baseline_params: the trained baseline model (``order``
            with ``baseline_model=True``: the bag of embeddings), else ``None``.
        extras: task-specific numbers and strings, ready for JSON
            (``bag_test_metric``, ``recall_accuracy``, ``sample``, ``classes``,
            ``class_counts``, ``vocabulary``).
    """

    task: str
    cell: str
    seed: int
    settings: dict
    metric: str
    maximize: bool
    test_metric: float
    baseline_name: str
    baseline: float
    fit: FitResult
    net: object
    params: dict
    baseline_fit: FitResult = None
    baseline_params: dict = None
    extras: dict = field(default_factory=dict)

    @property
    def steps(self):
        """The optimizer updates applied: the step of the evaluation that ended training when it stopped early.

        (``fit.losses`` then holds one more loss, of the batch drawn at that step.)
        """
        if self.fit.stopped_early:
            return self.fit.evaluations[-1][0]
        return len(self.fit.losses)


@dataclass(frozen=True)
class Experiment:
    """A checked run, its data read, ready to train: what :func:`prepare` returns.

    Attributes:
        task, cell, layers, bidirectional, seed: as given to :func:`prepare`.
        settings: :data:`DEFAULTS` of the task (and :data:`HF_DEFAULTS` with
            ``optimizer="hf"``) with the given values; ``settings["optimizer"]`` is the optimizer.
        data: the data file's path, or ``None``.
        rows: text: the ``(labels, texts)`` read from ``data``; else ``None``.
        content: chars: the text to model; else ``None``.
    """

    task: str
    cell: str
    layers: int
    bidirectional: bool
    seed: int
    settings: dict
    data: str = None
    rows: tuple = None
    content: str = None

    @property
    def class_counts(self):
        """text: rows per label, in label order (``{}`` for other tasks)."""
        if self.rows is None:
            return {}
        return dict(sorted(collections.Counter(self.rows[0]).items()))

    def run(self, *, on_step=None, baseline_model=True):
        """Train and measure; return a :class:`RunResult`.

        Args:
            on_step: ``(step, loss, metric or None)`` progress hook; with the
                Hessian-free optimizer it also receives ``details``, a dict of the
                step's CG iterations (``cg``) and damping (``damping``).
            baseline_model: for ``order``, also train the bag-of-embeddings baseline.
        """
        runner = {
            "order": _order,
            "adding": _adding,
            "copy": _copy,
            "text": _text,
            "chars": _chars,
            "agreement": _agreement,
        }.get(self.task)
        if runner is None or self.settings["optimizer"] == "hf":
            runner = _pathological
        rng = make_rng(self.seed)
        options = dict(cell=self.cell, layers=self.layers, bidirectional=self.bidirectional, on_step=on_step)
        if self.task == "order":
            options["baseline_model"] = baseline_model
        result = runner(self, dict(self.settings), rng, **options)
        return RunResult(task=self.task, cell=self.cell, seed=self.seed, settings=dict(self.settings), **result)


def prepare(
    task="order",
    *,
    cell="lstm",
    layers=1,
    bidirectional=False,
    hidden=None,
    length=None,
    steps=None,
    seed=0,
    data=None,
    batch=None,
    step_size=None,
    label_column=None,
    text_column=None,
    optimizer="adam",
):
    """Check every argument and read the data; return an :class:`Experiment` ready to :meth:`~Experiment.run`.

    Args:
        task: ``"order"``, ``"adding"``, ``"copy"``, ``"text"``, ``"chars"``, ``"agreement"``, or
            one of the other pathological problems of
            :mod:`rnngrad.tasks.pathological` (``"multiplication"``, ``"xor"``, ...).
        cell, layers, bidirectional, hidden: the recurrent core.
        length: T (order: the longest sentence; adding: the sequence length;
            copy: the delay; chars: the truncated-BPTT chunk); at least
            :data:`MIN_LENGTH` of the task; the text task takes none.
        steps, batch, step_size: the optimization budget; ``None`` takes :data:`DEFAULTS`.
        seed: seeds data, initialization and batch order.
        data: path of the CSV (``text``, required, read by
            :func:`rnngrad.tasks.text.read_csv`) or text file (``chars``,
            optional); the other tasks make their data and refuse one.
        label_column, text_column: text: the CSV's columns, names or 0-based indices.
        optimizer: ``"adam"``, or ``"hf"`` (:class:`~rnngrad.hessian_free.HessianFree`,
            for the pathological problems; ``steps`` and ``batch`` then count
            Hessian-free steps and the gradient batch, :data:`HF_DEFAULTS`).

    Raises:
        ValueError, TypeError: the message starts with the argument's name
            (``length: expected an integer >= 2 for the adding task, got 1``);
            a problem in the data file is reported as ``data: <file>, line <n>: ...``.
    """
    if task not in DEFAULTS:
        raise ValueError(f"task: expected one of {sorted(DEFAULTS)}, got {task!r}")
    if cell not in CELLS:
        raise ValueError(f"cell: expected one of {sorted(CELLS)}, got {cell!r}")
    layers = check_positive_int("layers", layers)
    bidirectional = check_bool("bidirectional", bidirectional)
    seed = check_positive_int("seed", seed, minimum=0)
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer: expected one of {list(OPTIMIZERS)}, got {optimizer!r}")
    if optimizer == "hf" and task not in pathological.PROBLEMS:
        raise ValueError(
            f"optimizer: 'hf' trains the pathological problems ({', '.join(pathological.PROBLEMS)}), "
            f"not the {task} task"
        )
    settings = dict(DEFAULTS[task], optimizer=optimizer, **(HF_DEFAULTS if optimizer == "hf" else {}))
    for name, value in (("hidden", hidden), ("steps", steps), ("batch", batch)):
        if value is not None:
            settings[name] = check_positive_int(name, value)
    if length is not None:
        if task not in MIN_LENGTH:
            raise ValueError(f"length: the {task} task takes its sequence lengths from the data, got {length!r}")
        if isinstance(length, bool) or not isinstance(length, numbers.Integral) or length < MIN_LENGTH[task]:
            raise ValueError(f"length: expected an integer >= {MIN_LENGTH[task]} for the {task} task, got {length!r}")
        settings["length"] = int(length)
    if step_size is not None:
        settings["step_size"] = check_real("step_size", step_size, low=0.0, low_open=True)
    if task == "chars" and bidirectional:
        raise ValueError(
            "bidirectional: a language model reads left to right; the chars task takes no reverse direction"
        )
    if task != "text":
        for name, value in (("label_column", label_column), ("text_column", text_column)):
            if value is not None:
                raise ValueError(f"{name}: only the text task reads a CSV file, got {value!r} for the {task} task")
    experiment = dict(task=task, cell=cell, layers=layers, bidirectional=bidirectional, seed=seed, settings=settings)
    if task in ("order", "copy", "agreement") or task in pathological.PROBLEMS:
        if data is not None:
            raise ValueError(f"data: the {task} task makes its own data and reads no file, got {data!r}")
        return Experiment(**experiment)
    if task == "text":
        rows = _read_rows(data, label_column, text_column)
        return Experiment(**experiment, data=data, rows=rows)
    return Experiment(**experiment, data=data, content=_read_text(data, settings["batch"]))


def _read_rows(data, label_column, text_column):
    """text: the ``(labels, texts)`` of the CSV file ``data``, every problem reported as ``data: ...``."""
    if data is None:
        raise ValueError("data: the text task needs a CSV file of labelled texts (a label and a text per row)")
    try:
        labels, texts = text.read_csv(data, label_column=label_column, text_column=text_column)
    except OSError as error:
        raise ValueError(f"data: cannot read {data}: {error.strerror or error}") from None
    except (ValueError, TypeError) as error:
        if str(error).startswith(("label_column:", "text_column:")):
            raise
        raise ValueError(f"data: {error}") from None
    if len(labels) < 10:  # the test split (10%) must hold a row
        raise ValueError(f"data: {data} has {len(labels)} rows, too few for a test split (need at least 10)")
    return tuple(labels), tuple(texts)


def _read_text(data, batch):
    """chars: the text of the file ``data`` (the shipped one if ``None``), long enough for ``batch`` streams."""
    if data is None:
        content = chars.default_text()
    else:
        try:
            with open(data, encoding="utf-8") as handle:
                content = handle.read()
        except OSError as error:
            raise ValueError(f"data: cannot read {data}: {error.strerror or error}") from None
        except UnicodeDecodeError as error:
            raise ValueError(f"data: {data}: expected a UTF-8 text file ({error})") from None
    train_part, valid_part, test_part = chars.split_text(content)
    if len(train_part) < batch + 1 or min(len(valid_part), len(test_part)) < 2:
        raise ValueError(
            f"data: the text has {len(content)} characters; its first 90% (training) needs at least batch + 1 = "
            f"{batch + 1} and the last two 5% pieces at least 2 each (use a longer text or a smaller batch)"
        )
    return content


def run(task="order", *, on_step=None, baseline_model=True, **arguments):
    """Train on one task and measure the test metric: ``prepare(task, **arguments).run(...)``.

    Args:
        task, arguments: as for :func:`prepare` (``cell``, ``layers``,
            ``bidirectional``, ``hidden``, ``length``, ``steps``, ``seed``,
            ``data``, ``batch``, ``step_size``, ``label_column``, ``text_column``).
        on_step: ``(step, loss, metric or None)`` progress hook.
        baseline_model: for ``order``, also train the bag-of-embeddings baseline.

    Returns:
        a :class:`RunResult`.
    """
    return prepare(task, **arguments).run(on_step=on_step, baseline_model=baseline_model)


def _fit(loss_fn, params, batches, settings, evaluate, maximize, on_step):
    return fit(
        loss_fn,
        params,
        batches,
        num_steps=settings["steps"],
        step_size=settings["step_size"],
        max_grad_norm=settings["clip"],
        evaluate=evaluate,
        eval_every=settings["eval_every"],
        patience=settings["patience"],
        maximize=maximize,
        on_step=on_step,
    )


def _classification(net, params, splits, settings, rng, on_step):
    """Train a sequence classifier on ``splits[name] = (ids list, labels)``; return (fit, test accuracy)."""
    padded = {name: pad_sequences(ids) for name, (ids, _) in splits.items()}
    labels = {name: y for name, (_, y) in splits.items()}

    def loss_fn(p, indices):
        x, lengths = pad_sequences([splits["train"][0][i] for i in indices])
        logits, _ = net(p, x, lengths=lengths)
        return nn.cross_entropy(logits, labels["train"][indices])

    def batches():
        while True:
            yield from minibatches(len(labels["train"]), settings["batch"], rng)

    def accuracy_on(name):
        def measure(p):
            x, lengths = padded[name]
            return nn.accuracy(net(p, x, lengths=lengths)[0], labels[name])

        return measure

    result = _fit(loss_fn, params, batches(), settings, accuracy_on("valid"), True, on_step)
    return result, accuracy_on("test")(result.params)


def _order(experiment, settings, rng, *, cell, layers, bidirectional, on_step, baseline_model):
    splits = {}
    for name, size in (("train", 4000), ("valid", 500), ("test", 2000)):
        _, ids, labels = order.generate(size, rng, max_length=settings["length"])
        splits[name] = (ids, labels)
    vocab = len(order.VOCABULARY)
    net = RecurrentNet(build_core(cell, EMBEDDING_SIZE, settings["hidden"], layers, bidirectional), 2, vocab_size=vocab)
    result, test_accuracy = _classification(net, net.init(rng), splits, settings, rng, on_step)
    out = dict(metric="accuracy", maximize=True, test_metric=test_accuracy, baseline=0.5, baseline_name="chance")
    if baseline_model:
        bag = BagOfEmbeddings(vocab, EMBEDDING_SIZE, 2)
        bag_fit, bag_accuracy = _classification(bag, bag.init(rng), splits, settings, rng, None)
        out.update(baseline_fit=bag_fit, baseline_params=bag_fit.params, extras={"bag_test_metric": bag_accuracy})
        out.update(baseline=bag_accuracy, baseline_name="bag-of-embeddings")
    out.update(fit=result, net=net, params=result.params)
    return out


def _text(experiment, settings, rng, *, cell, layers, bidirectional, on_step):
    loaded = text.split(*experiment.rows, rng)
    splits = {name: loaded[name] for name in ("train", "valid", "test")}
    if not len(splits["valid"][1]):
        splits["valid"] = splits["train"]
    num_classes = len(loaded["classes"])
    core = build_core(cell, EMBEDDING_SIZE * 2, settings["hidden"], layers, bidirectional)
    net = RecurrentNet(core, num_classes, vocab_size=len(loaded["vocabulary"]))
    result, test_accuracy = _classification(net, net.init(rng), splits, settings, rng, on_step)
    majority = float(onp.mean(splits["test"][1] == onp.bincount(splits["train"][1]).argmax()))
    extras = dict(
        classes=loaded["classes"], class_counts=experiment.class_counts, vocabulary=list(loaded["vocabulary"].tokens)
    )
    return dict(
        metric="accuracy",
        maximize=True,
        test_metric=test_accuracy,
        baseline=majority,
        baseline_name="majority class",
        fit=result,
        net=net,
        params=result.params,
        extras=extras,
    )


def _agreement(experiment, settings, rng, *, cell, layers, bidirectional, on_step):
    drawn = {name: agreement.generate(size, rng) for name, size in (("train", 3000), ("valid", 400), ("test", 400))}
    splits = {name: (sentences.ids, sentences.labels) for name, sentences in drawn.items()}
    core = build_core(cell, EMBEDDING_SIZE, settings["hidden"], layers, bidirectional)
    net = RecurrentNet(core, len(agreement.CLASSES), vocab_size=len(agreement.VOCABULARY))
    initial = init_remembering(net, rng)
    result, test_accuracy = _classification(net, initial, splits, settings, rng, on_step)
    majority = float(onp.mean(splits["test"][1] == onp.bincount(splits["train"][1]).argmax()))
    probes = {
        stage: flag_probes(net, params, drawn["test"], rng)
        for stage, params in (("trained", result.params), ("untrained", initial))
    }
    return dict(
        metric="accuracy",
        maximize=True,
        test_metric=test_accuracy,
        baseline=majority,
        baseline_name="majority class",
        fit=result,
        net=net,
        params=result.params,
        extras={"classes": list(agreement.CLASSES), "probes": probes},
    )


def flag_probes(net, params, sentences, seed=None, *, permutations=20):
    """Probe the last layer's memory (an LSTM's ``c``, else ``h``) for each agreement flag on its window.

    Runs :func:`rnngrad.trace.trace` on ``sentences`` (an
    :class:`rnngrad.tasks.agreement.Sentences`) and :func:`rnngrad.probe.probe`
    on the forward direction of the last layer, counting only the steps of
    each flag's window.

    Returns:
        ``{flag: {"unit", "unit_accuracy", "unit_permuted", "accuracy", "permuted", "majority"}}``
        (held-out accuracies; ``*_permuted`` the mean over the label permutations).
    """
    x, lengths = pad_sequences(sentences.ids)
    record = trace(net.core, params["rnn"], nn.embedding(params["embedding"], x), lengths=lengths)
    entries = record.records[-1][0]
    states = entries["c"] if "c" in entries else entries["h"]
    found = {}
    for flag in ("negation", "plural"):
        labels, window = (onp.zeros(x.shape, bool) for _ in range(2))
        for b, (values, needed) in enumerate(zip(sentences.flags[flag], sentences.windows[flag])):
            labels[: len(values), b], window[: len(needed), b] = values, needed
        result = probe(states, labels, mask=window, permutations=permutations, seed=seed)
        found[flag] = {
            "unit": result.unit,
            "unit_accuracy": result.unit_accuracy,
            "unit_permuted": float(result.unit_permuted.mean()),
            "accuracy": result.accuracy,
            "permuted": float(result.permuted.mean()),
            "majority": result.chance,
        }
    return found


def init_remembering(net, rng):
    """``net.init`` with each forget gate's bias at 1.0 (open at the start) when the core's cells have one."""
    gated = all(getattr(cell, "forget_gate_block", None) is not None for layer in net.core.cells for cell in layer)
    return net.init(rng, forget_bias=1.0 if gated else None)


def _adding(experiment, settings, rng, *, cell, layers, bidirectional, on_step):
    length = settings["length"]
    valid = adding.generate(500, length, rng)
    test = adding.generate(2000, length, rng)
    net = RecurrentNet(build_core(cell, 2, settings["hidden"], layers, bidirectional), 1)
    params = init_remembering(net, rng)

    def loss_fn(p, batch):
        x, y = batch
        return nn.mean_squared_error(net(p, x)[0], y)

    def batches():
        while True:
            yield adding.generate(settings["batch"], length, rng)

    def mse_on(split):
        return lambda p: float(loss_fn(p, split))

    result = _fit(loss_fn, params, batches(), settings, mse_on(valid), False, on_step)
    return dict(
        metric="mse",
        maximize=False,
        test_metric=mse_on(test)(result.params),
        baseline=adding.BASELINE_MSE,
        baseline_name="trivial (predict 1)",
        fit=result,
        net=net,
        params=result.params,
    )


def _pathological(experiment, settings, rng, *, cell, layers, bidirectional, on_step):
    """A pathological problem (Martens and Sutskever 2011), by Adam or by Hessian-free optimization."""
    problem = pathological.get(experiment.task)
    length = settings["length"]
    valid = problem.generate(500, length, rng)
    test = problem.generate(2000, length, rng)
    core = build_core(cell, problem.input_size, settings["hidden"], layers, bidirectional)
    net = RecurrentNet(core, problem.num_outputs, readout=problem.readout)
    params = init_remembering(net, rng)

    def metric_on(split):
        return lambda p: problem.metric(net(p, split[0])[0], split[1])

    def batches():
        while True:
            yield problem.generate(settings["batch"], length, rng)

    if settings["optimizer"] == "adam":
        result = _fit(lambda p, b: problem.loss(net(p, b[0])[0], b[1]), params, batches(), settings,
                      metric_on(valid), False, on_step)  # fmt: skip
    else:
        hf = HessianFree(
            recurrent_predict(net),
            lambda outputs, batch: problem.loss(outputs, batch[1]),
            structural_damping=settings["structural_damping"],
            max_cg_iterations=settings["max_cg"],
        )
        size = settings["curvature_batch"]

        def with_curvature():  # the curvature batch: the first sequences of the gradient batch
            for x, y in batches():
                yield batch_pair((x, y), (x[:, :size], y[:, :size] if problem.readout == "steps" else y[:size]))

        def progress(step, loss, metric):
            info = hf.last_info
            on_step(step, loss, metric, details={"cg": info.cg_iterations, "damping": info.damping})

        result = fit(None, params, with_curvature(), num_steps=settings["steps"], optimizer=hf,
                     evaluate=metric_on(valid), eval_every=settings["eval_every"], maximize=False,
                     on_step=None if on_step is None else progress)  # fmt: skip
    return dict(
        metric=problem.metric_name,
        maximize=False,
        test_metric=metric_on(test)(result.params),
        baseline=problem.baseline,
        baseline_name="trivial (ignores the long-range inputs)",
        fit=result,
        net=net,
        params=result.params,
    )


def _copy(experiment, settings, rng, *, cell, layers, bidirectional, on_step):
    delay = settings["length"]
    valid = copy.generate(500, delay, rng)
    test = copy.generate(1000, delay, rng)
    core = build_core(cell, EMBEDDING_SIZE, settings["hidden"], layers, bidirectional)
    net = RecurrentNet(core, copy.NUM_CLASSES, vocab_size=copy.NUM_INPUTS, readout="steps")
    params = init_remembering(net, rng)

    def loss_fn(p, batch):
        x, y = batch
        return nn.cross_entropy(net(p, x)[0], y)

    def batches():
        while True:
            yield copy.generate(settings["batch"], delay, rng)

    def ce_on(split):
        return lambda p: float(loss_fn(p, split))

    result = _fit(loss_fn, params, batches(), settings, ce_on(valid), False, on_step)
    logits, _ = net(result.params, test[0])
    recalled = nn.accuracy(logits[-copy.MEMORY_LENGTH :], test[1][-copy.MEMORY_LENGTH :])
    return dict(
        metric="cross-entropy",
        maximize=False,
        test_metric=float(nn.cross_entropy(logits, test[1])),
        baseline=copy.baseline(delay),
        baseline_name="memoryless",
        fit=result,
        net=net,
        params=result.params,
        extras={"recall_accuracy": recalled},
    )


def _chars(experiment, settings, rng, *, cell, layers, bidirectional, on_step):
    content = experiment.content
    vocabulary = chars.CharVocabulary(content)
    train_ids, valid_ids, test_ids = chars.split_text(vocabulary.encode(content))
    core = build_core(cell, EMBEDDING_SIZE * 2, settings["hidden"], layers, bidirectional)
    net = RecurrentNet(core, len(vocabulary), vocab_size=len(vocabulary), readout="steps")
    params = init_remembering(net, rng)

    def chunk_loss(p, chunk, state):
        x, y = chunk
        logits, final = net(p, x, initial_state=state)
        return nn.cross_entropy(logits, y), final

    loss_fn, batches = truncated_bptt(chunk_loss, stream_batches(train_ids, settings["batch"], settings["length"]))

    def ce_on(ids):
        # One long sequence; capped so that evaluating a large user text stays quick.
        ids = ids[: EVAL_CHARS + 1]

        def measure(p):
            logits, _ = net(p, ids[:-1, None])
            return float(nn.cross_entropy(logits, ids[1:, None]))

        return measure

    # A few kilobytes of text are memorised within a few hundred steps: stop when validation turns.
    result = _fit(loss_fn, params, batches, settings, ce_on(valid_ids), False, on_step)
    # The sample continues its prime, which is shown with it: "The " when the
    # text has those characters, else the text's first word (or character).
    prime = PRIME if set(PRIME) <= set(vocabulary.chars) else content[: content.find(" ") + 1 or 1]
    drawn = chars.sample(net, result.params, vocabulary, prime, 200, temperature=0.8, seed=rng)
    return dict(
        metric="cross-entropy",
        maximize=False,
        test_metric=ce_on(test_ids)(result.params),
        baseline=chars.unigram_entropy(train_ids, len(vocabulary), test_ids),
        baseline_name="unigram",
        fit=result,
        net=net,
        params=result.params,
        extras={"sample": prime + drawn, "vocabulary": list(vocabulary.chars)},
    )
