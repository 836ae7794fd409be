"""``rnngrad trace``: run a network trained by ``rnngrad train`` on one sentence; draw its states and gates.

A run directory holds ``params.npz`` and ``metrics.json`` (the task, the
cell, the sizes and, for ``text`` and ``chars``, the vocabulary); from them
:func:`load_run` rebuilds the network, :func:`encode` turns a sentence into
its token ids as the task reads them, and :func:`rnngrad.trace.trace`
records every step. :func:`trace_figure` draws one heatmap per record
(state or gate): units down, the sentence's tokens across.
"""

import json
import os
import re

import numpy as onp

from . import experiments, nn
from ._report import pyplot
from .io import load_params
from .nets import RecurrentNet
from .tasks import agreement, chars, order, text
from .trace import trace

__all__ = ["TRACEABLE", "Run", "load_run", "encode", "trace_sentence", "trace_figure", "trace_command"]

#: The tasks whose networks read tokens of a sentence (adding and copy read numbers).
TRACEABLE = ("order", "agreement", "text", "chars")
# records that are sigmoids, drawn on [0, 1]; the others (states, tanh candidates) around 0
_SIGMOID_GATES = ("i", "f", "o", "r", "z")


class Run:
    """A trained run read back: ``task``, ``net``, ``params``, ``metrics`` (the parsed metrics.json)."""

    def __init__(self, task, net, params, metrics):
        self.task, self.net, self.params, self.metrics = task, net, params, metrics


def load_run(run):
    """Read ``run``/metrics.json and ``run``/params.npz (as written by ``rnngrad train``) and rebuild the network."""
    metrics_path, params_path = os.path.join(run, "metrics.json"), os.path.join(run, "params.npz")
    for path in (metrics_path, params_path):
        if not os.path.isfile(path):
            raise ValueError(f"run: expected a directory written by 'rnngrad train', but {path} does not exist")
    try:
        with open(metrics_path, encoding="utf-8") as handle:
            metrics = json.load(handle)
    except (OSError, ValueError) as error:
        raise ValueError(f"run: cannot read {metrics_path}: {error}") from None
    task = metrics.get("task")
    if task not in TRACEABLE:
        raise ValueError(f"run: expected a run of a task that reads sentences, one of {list(TRACEABLE)}, got {task!r}")
    params = load_params(params_path)
    try:
        vocab_size, embedding_size = onp.shape(params["embedding"]["weight"])
        num_outputs = onp.shape(params["readout"]["weight"])[0]
        core = experiments.build_core(
            metrics["cell"],
            embedding_size,
            metrics["settings"]["hidden"],
            metrics["layers"],
            metrics["bidirectional"],
        )
    except (KeyError, TypeError) as error:
        raise ValueError(f"run: {run} is not a run of 'rnngrad train' (missing {error})") from None
    net = RecurrentNet(core, num_outputs, vocab_size=vocab_size, readout="steps" if task == "chars" else "final")
    params = load_params(params_path, net)  # now checked against the rebuilt network's shapes
    return Run(task, net, params, metrics)


def encode(run, sentence):
    """``(ids (T,) int64, tokens)``: ``sentence`` as the run's task reads it; unknown words are an error."""
    if not isinstance(sentence, str) or not sentence.strip():
        raise ValueError(f"sentence: expected a non-empty text, got {sentence!r}")
    if run.task == "chars":
        vocabulary = chars.CharVocabulary("".join(run.metrics["vocabulary"]))
        missing = sorted(set(sentence) - set(vocabulary.chars))
        if missing:
            raise ValueError(f"sentence: the characters {missing} are not in the run's vocabulary")
        return vocabulary.encode(sentence), list(sentence)
    if run.task == "text":
        tokens = text.tokenize(sentence)
        if not tokens:
            raise ValueError(f"sentence: expected words, got {sentence!r}")
        return text.Vocabulary(run.metrics["vocabulary"]).encode(tokens), tokens
    words = order.VOCABULARY if run.task == "order" else agreement.VOCABULARY
    tokens = re.findall(r"[^\s,]+|,", sentence.lower())
    unknown = [token for token in tokens if token not in words[1:]]
    if unknown:
        raise ValueError(
            f"sentence: {unknown} are not words of the {run.task} task; its words are {', '.join(words[1:])}"
        )
    return onp.array([words.index(token) for token in tokens], dtype=onp.int64), tokens


def trace_sentence(run, sentence):
    """``(tokens, record, prediction)``: the :class:`~rnngrad.trace.Trace` of ``sentence`` and what the net says.

    The prediction is a text: the class (``order``, ``agreement``, ``text``)
    or the three likeliest next characters (``chars``), with probabilities.
    """
    ids, tokens = encode(run, sentence)
    x = ids[:, None]
    record = trace(run.net.core, run.params["rnn"], nn.embedding(run.params["embedding"], x))
    logits, _ = run.net(run.params, x)
    last = onp.asarray(logits[-1, 0] if run.task == "chars" else logits[0], dtype=float)
    probabilities = onp.exp(last - last.max())
    probabilities /= probabilities.sum()
    if run.task == "chars":
        names = run.metrics["vocabulary"]
        best = onp.argsort(probabilities)[::-1][:3]
        prediction = "next character: " + ", ".join(f"{names[i]!r} {probabilities[i]:.2f}" for i in best)
    else:
        classes = {"order": ("negative", "positive"), "agreement": agreement.CLASSES}.get(run.task)
        classes = classes or run.metrics.get("classes") or range(len(probabilities))
        best = int(onp.argmax(probabilities))
        prediction = f"class: {list(classes)[best]} ({probabilities[best]:.2f})"
    return tokens, record, prediction


def trace_figure(tokens, record, names, layer, direction, plt):
    """One heatmap per record name (units down, tokens across) of one layer and direction."""
    entries = record.records[layer][direction]
    unknown = [name for name in names if name not in entries]
    if unknown:
        raise ValueError(f"names: {unknown} are not records of this network; it has {sorted(entries)}")
    fig, axes = plt.subplots(len(names), 1, figsize=(max(6.0, 0.45 * len(tokens) + 2), 2.2 * len(names) + 0.8))
    axes = onp.atleast_1d(axes)
    for ax, name in zip(axes, names):
        values = onp.asarray(entries[name])[:, 0].T  # (units, T)
        if name in _SIGMOID_GATES:
            image = ax.imshow(values, aspect="auto", cmap="viridis", vmin=0.0, vmax=1.0, interpolation="nearest")
        else:
            scale = max(float(onp.nanmax(onp.abs(values))), 1e-12)
            image = ax.imshow(values, aspect="auto", cmap="RdBu_r", vmin=-scale, vmax=scale, interpolation="nearest")
        ax.set_ylabel(f"{name}\nunit")
        fig.colorbar(image, ax=ax, pad=0.01)
        ax.set_xticks(range(len(tokens)), [repr(t)[1:-1] for t in tokens], rotation=60, ha="right", fontsize=8)
    direction_name = "reverse" if direction == 1 else "forward"
    axes[0].set_title(f"layer {layer % len(record.records)}, {direction_name} direction: each step's records")
    fig.tight_layout()
    return fig


def trace_command(args, check_output_file):
    """``rnngrad trace``: the parsed ``args``; ``check_output_file(path)`` refuses an unwritable image path."""
    out = args.out or os.path.join(args.run, "trace.png")
    check_output_file(out)
    run = load_run(args.run)
    layers = len(run.net.core.cells)
    if not -layers <= args.layer < layers:
        raise ValueError(
            f"layer: expected a layer of this {layers}-layer network, in [{-layers}, {layers - 1}], got {args.layer}"
        )
    if args.reverse and not run.net.core.bidirectional:
        raise ValueError("reverse: this network has no reverse direction (it was trained without --bidirectional)")
    tokens, record, prediction = trace_sentence(run, args.sentence)
    entries = record.records[args.layer][int(args.reverse)]
    names = list(entries) if args.names is None else [name.strip() for name in args.names.split(",") if name.strip()]
    unknown = [name for name in names if name not in entries]
    if unknown or not names:
        raise ValueError(f"names: expected records of this network among {sorted(entries)}, got {args.names!r}")
    print(f"rnngrad trace: {run.task}/{run.metrics['cell']} on {len(tokens)} tokens: {' '.join(map(str, tokens))!r}")
    print(prediction)
    plt = pyplot()
    if plt is None:
        return 0
    fig = trace_figure(tokens, record, names, args.layer, int(args.reverse), plt)
    fig.savefig(out, dpi=100, bbox_inches="tight")
    plt.close(fig)
    print(f"wrote {out} ({', '.join(names)})")
    return 0
