"""One training run per built-in task: data, network, loss, metric and baseline, wired to :func:`rnngrad.train.fit`.

:func:`run` is what ``rnngrad train`` calls; it is also the shortest
complete example of training with rnngrad, one small function per task.
Every run is reproducible from its seed (data, initialization, batches).

Defaults (chosen so each task trains in about a minute or two on 2 cores,
except ``adding`` at long lengths, which takes several) are in :data:`DEFAULTS`.
"""

import numpy as onp

from . import nn
from .models import GRU, LSTM, RNN
from .nets import BagOfEmbeddings, RecurrentNet
from .tasks import adding, chars, copy, order, text
from .train import fit, minibatches, pad_sequences, stream_batches, truncated_bptt
from .utilities import make_rng

__all__ = ["CELLS", "DEFAULTS", "run", "build_core"]

#: The model class behind each ``--cell`` name of the command line.
CELLS = {"rnn": RNN, "lstm": LSTM, "gru": GRU}

#: per task: hidden H, length T (None: the data decides), steps, batch B,
#: Adam step size, clipping norm, evaluation period.
DEFAULTS = {
    "order": dict(hidden=32, length=8, steps=1500, batch=64, step_size=0.01, clip=5.0, eval_every=100),
    "adding": dict(hidden=32, length=50, steps=3000, batch=64, step_size=0.01, clip=1.0, eval_every=250),
    "copy": dict(hidden=64, length=10, steps=1500, batch=64, step_size=0.01, clip=1.0, eval_every=100),
    "text": dict(hidden=64, length=None, steps=500, batch=32, step_size=0.005, clip=5.0, eval_every=50),
    "chars": dict(hidden=64, length=32, steps=400, batch=16, step_size=0.005, clip=5.0, eval_every=50),
}
EMBEDDING_SIZE = 16
#: chars: the validation and test metrics read at most this many characters.
EVAL_CHARS = 20000


def build_core(cell, input_size, hidden, layers=1, bidirectional=False):
    """An RNN/LSTM/GRU core by name (``"rnn"`` is the tanh Elman network)."""
    if cell not in CELLS:
        raise ValueError(f"cell: expected one of {sorted(CELLS)}, got {cell!r}")
    return CELLS[cell](input_size, hidden, num_layers=layers, bidirectional=bidirectional)


def run(
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
    on_step=None,
    baseline_model=True,
):
    """Train on one task and measure the test metric.

    Args:
        task: ``"order"``, ``"adding"``, ``"copy"``, ``"text"`` or ``"chars"``.
        cell, layers, bidirectional, hidden: the recurrent core.
        length: T (order: the longest sentence; adding: the sequence length;
            copy: the delay; chars: the truncated-BPTT chunk; text: unused).
        steps, batch, step_size: the optimization budget; ``None`` takes :data:`DEFAULTS`.
        seed: seeds data, initialization and batch order.
        data: path of the CSV (``text``, required) or text file (``chars``, optional).
        on_step: ``(step, loss, metric or None)`` progress hook.
        baseline_model: for ``order``, also train the bag-of-embeddings baseline.

    Returns:
        a dict: ``metric`` (name), ``maximize``, ``test_metric``, ``baseline``
        (value) and ``baseline_name``, ``fit`` (the :class:`~rnngrad.train.FitResult`),
        ``net`` and ``params``, plus task extras (``bag_fit``, ``sample``, ...).
    """
    if task not in DEFAULTS:
        raise ValueError(f"task: expected one of {sorted(DEFAULTS)}, got {task!r}")
    settings = dict(DEFAULTS[task])
    for name, value in (("hidden", hidden), ("length", length), ("steps", steps), ("batch", batch)):
        if value is not None:
            settings[name] = value
    if step_size is not None:
        settings["step_size"] = step_size
    runner = {"order": _order, "adding": _adding, "copy": _copy, "text": _text, "chars": _chars}[task]
    rng = make_rng(seed)
    options = dict(cell=cell, layers=layers, bidirectional=bidirectional, data=data, on_step=on_step)
    if task == "order":
        options["baseline_model"] = baseline_model
    result = runner(settings, rng, **options)
    result.update(task=task, cell=cell, settings=settings, seed=seed)
    return result


def _fit(loss_fn, params, batches, settings, evaluate, maximize, on_step, patience=None):
    return fit(
        loss_fn,
        params,
        batches,
        num_steps=settings["steps"],
        step_size=settings["step_size"],
        max_grad_norm=settings["clip"],
        evaluate=evaluate,
        eval_every=settings["eval_every"],
        patience=patience,
        maximize=maximize,
        on_step=on_step,
    )


def _classification(net, params, splits, settings, rng, on_step, patience):
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

    result = _fit(loss_fn, params, batches(), settings, accuracy_on("valid"), True, on_step, patience)
    return result, accuracy_on("test")(result.params)


def _order(settings, rng, *, cell, layers, bidirectional, data, on_step, baseline_model):
    splits = {}
    for name, size in (("train", 4000), ("valid", 500), ("test", 2000)):
        _, ids, labels = order.generate(size, rng, max_length=settings["length"])
        splits[name] = (ids, labels)
    vocab = len(order.VOCABULARY)
    net = RecurrentNet(build_core(cell, EMBEDDING_SIZE, settings["hidden"], layers, bidirectional), 2, vocab_size=vocab)
    result, test_accuracy = _classification(net, net.init(rng), splits, settings, rng, on_step, patience=4)
    out = dict(metric="accuracy", maximize=True, test_metric=test_accuracy, baseline=0.5, baseline_name="chance")
    if baseline_model:
        bag = BagOfEmbeddings(vocab, EMBEDDING_SIZE, 2)
        bag_fit, bag_accuracy = _classification(bag, bag.init(rng), splits, settings, rng, None, patience=4)
        out.update(bag_fit=bag_fit, bag_test_metric=bag_accuracy, bag_params=bag_fit.params)
        out.update(baseline=bag_accuracy, baseline_name="bag-of-embeddings")
    out.update(fit=result, net=net, params=result.params)
    return out


def _text(settings, rng, *, cell, layers, bidirectional, data, on_step):
    if data is None:
        raise ValueError("data: the text task needs --data PATH, a CSV file of 'label,text' rows")
    loaded = text.load(data, rng)
    splits = {name: loaded[name] for name in ("train", "valid", "test")}
    if not len(splits["valid"][1]):
        splits["valid"] = splits["train"]
    if not len(splits["test"][1]):
        raise ValueError(f"data: {data} has too few rows for a test split (need at least 10)")
    num_classes = max(2, len(loaded["classes"]))
    core = build_core(cell, EMBEDDING_SIZE * 2, settings["hidden"], layers, bidirectional)
    net = RecurrentNet(core, num_classes, vocab_size=len(loaded["vocabulary"]))
    result, test_accuracy = _classification(net, net.init(rng), splits, settings, rng, on_step, patience=5)
    majority = float(onp.mean(splits["test"][1] == onp.bincount(splits["train"][1]).argmax()))
    return dict(
        metric="accuracy",
        maximize=True,
        test_metric=test_accuracy,
        baseline=majority,
        baseline_name="majority class",
        fit=result,
        net=net,
        params=result.params,
        classes=loaded["classes"],
        vocabulary=list(loaded["vocabulary"].tokens),
    )


def init_remembering(net, rng):
    """``net.init`` with each forget gate's bias at 1.0 (open at the start) when the core's cells have one."""
    gated = all(getattr(cell, "forget_gate_block", None) is not None for layer in net.core.cells for cell in layer)
    return net.init(rng, forget_bias=1.0 if gated else None)


def _adding(settings, rng, *, cell, layers, bidirectional, data, on_step):
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


def _copy(settings, rng, *, cell, layers, bidirectional, data, on_step):
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
        recall_accuracy=recalled,
        fit=result,
        net=net,
        params=result.params,
    )


def _chars(settings, rng, *, cell, layers, bidirectional, data, on_step):
    if bidirectional:
        raise ValueError(
            "bidirectional: a language model reads left to right; the chars task takes no reverse direction"
        )
    if data is None:
        content = chars.default_text()
    else:
        with open(data, encoding="utf-8") as handle:
            content = handle.read()
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
    result = _fit(loss_fn, params, batches, settings, ce_on(valid_ids), False, on_step, patience=3)
    sample = chars.sample(net, result.params, vocabulary, "The ", 200, temperature=0.8, seed=rng)
    return dict(
        metric="cross-entropy",
        maximize=False,
        test_metric=ce_on(test_ids)(result.params),
        baseline=chars.unigram_entropy(train_ids, len(vocabulary), test_ids),
        baseline_name="unigram",
        sample=sample,
        vocabulary=list(vocabulary.chars),
        fit=result,
        net=net,
        params=result.params,
    )
