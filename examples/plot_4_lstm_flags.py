"""
The LSTM's flags: what a trained cell state remembers
=====================================================

An LSTM's cell state can work as a set of flags: a word raises one, the
network holds it across the words that follow, and a later word reads it.
This example trains an LSTM on the :mod:`~rnngrad.tasks.agreement` task,
records every step's cell state on held-out sentences with
:func:`rnngrad.trace.trace`, and asks with :func:`rnngrad.probe.probe`
whether single units track the two facts the task needs: *a "not" has been
read* and *the subject is plural*. The same probes on the untrained network
and on permuted labels say how much of that is learned and how much is
chance.
"""

# %%
# The task
# --------
# Each sentence names a subject, may negate a feeling, and ends with a
# pronoun. The label is "mismatch" when the pronoun disagrees with the
# subject, else the feeling's polarity, reversed by "not". The generator
# also returns, for every word, the ground truth of each flag and the
# window of steps where the network still needs it.
import time

import matplotlib.pyplot as plt
import numpy as np

import rnngrad
from rnngrad import nn
from rnngrad.nets import RecurrentNet
from rnngrad.probe import probe
from rnngrad.tasks import agreement
from rnngrad.trace import trace
from rnngrad.train import fit, minibatches, pad_sequences

train_set = agreement.generate(3000, seed=0)
valid_set = agreement.generate(400, seed=2)
test_set = agreement.generate(400, seed=1)
for words, label in zip(train_set.sentences[:3], train_set.labels[:3]):
    print(f"{' '.join(words):<45} -> {agreement.CLASSES[label]}")

# %%
# Train an LSTM
# -------------
# Embeddings of size 16, an LSTM with 32 units whose forget gates start open
# (bias 1), and a linear readout of the final hidden state to the three
# classes; Adam with step size 0.02 on batches of 32 sentences, the
# gradient clipped to norm 5. The network first learns agreement and the
# feeling's polarity (about 2/3 right), and only later that ``not`` reverses
# it; with these settings that happens within 1000 steps.
net = RecurrentNet(rnngrad.LSTM(16, 32), 3, vocab_size=len(agreement.VOCABULARY))
untrained = net.init(0, forget_bias=1.0)


def loss(params, indices):
    x, lengths = pad_sequences([train_set.ids[i] for i in indices])
    logits, _ = net(params, x, lengths=lengths)
    return nn.cross_entropy(logits, train_set.labels[indices])


def accuracy(params, data):
    x, lengths = pad_sequences(data.ids)
    return nn.accuracy(net(params, x, lengths=lengths)[0], data.labels)


def batches(seed=0):
    rng = np.random.default_rng(seed)
    while True:
        yield from minibatches(len(train_set.labels), 32, rng)


start = time.perf_counter()
result = fit(
    loss,
    untrained,
    batches(),
    num_steps=1000,
    step_size=0.02,
    max_grad_norm=5.0,
    evaluate=lambda params: accuracy(params, valid_set),
    eval_every=250,
)
trained = result.params
seconds = time.perf_counter() - start
print(f"trained {len(result.losses)} steps in {seconds:.0f} s, best validation at step {result.best_step}")
print(f"test accuracy: trained {accuracy(trained, test_set):.3f}, untrained {accuracy(untrained, test_set):.3f}")

# %%
# Trace the cell state on the test sentences
# ------------------------------------------
# :func:`~rnngrad.trace.trace` runs the LSTM core on the embedded sentences
# exactly as the network does and returns every step's state and gates.
# ``values("c")`` is the cell state after each word, (T, B, 32).
x_test, lengths_test = pad_sequences(test_set.ids)
steps = x_test.shape[0]


def cell_states(params):
    embedded = nn.embedding(params["embedding"], x_test)
    return trace(net.core, params["rnn"], embedded, lengths=lengths_test).values("c", layer=0)


def padded(per_sentence):
    """A list of (T_n,) bool arrays as (T, B), False at padding."""
    out = np.zeros((steps, len(per_sentence)), bool)
    for b, values in enumerate(per_sentence):
        out[: len(values), b] = values
    return out


states = {"trained": cell_states(trained), "untrained": cell_states(untrained)}

# %%
# Probe each flag on its window
# -----------------------------
# For each flag, the probe fits on half of the test sentences and scores on
# the other half, counting only the steps of the flag's window (where the
# network must still hold it). It reports the best single unit (the largest
# correlation on the fitting half, with its best threshold) and a linear
# read-out of all 32 units; the permutation baseline refits both after
# shuffling which sentence each flag sequence belongs to (50 times; the
# table shows the mean). The flags are unbalanced within their windows, so
# the baseline is near the majority rate (always answering the commoner
# value), not near 0.5.
probes = {}
header = ("flag", "network", "unit", "unit acc", "permuted", "linear acc", "permuted", "majority")
print("{:<10}{:<11}{:>5}{:>10}{:>10}{:>12}{:>10}{:>10}".format(*header))
for flag in ("negation", "plural"):
    labels, window = padded(test_set.flags[flag]), padded(test_set.windows[flag])
    for name, c in states.items():
        found = probe(c, labels, mask=window, permutations=50, seed=0)
        probes[flag, name] = found
        print(
            f"{flag:<10}{name:<11}{found.unit:>5}{found.unit_accuracy:>10.3f}{found.unit_permuted.mean():>10.3f}"
            f"{found.accuracy:>12.3f}{found.permuted.mean():>10.3f}{found.chance:>10.3f}"
        )

# %%
# A random LSTM already carries a recent "not" in some unit (the input
# reaches the cell state directly, and an open forget gate keeps it for a
# few words), so the untrained negation probe is well above its baseline;
# plurality, raised by "and" between two names and needed until the
# pronoun, is what training adds.
#
# The cell state over one sentence
# --------------------------------
# The heatmap shows the 32 cell-state units (rows) after each word
# (columns) of a negated sentence with a plural subject, with the units the
# probes found for each flag marked. Some units grow over the whole
# sentence (counters of its length) while the flag units sit near +-1, so
# each row is scaled by its own largest magnitude.
sentence = next(
    b for b, words in enumerate(test_set.sentences) if "not" in words and "and" in words and len(words) >= 11
)
words = test_set.sentences[sentence]
c = states["trained"][: len(words), sentence]
scaled = c / np.maximum(np.abs(c).max(axis=0), 1e-12)
fig, ax = plt.subplots(figsize=(8, 6))
image = ax.imshow(scaled.T, aspect="auto", cmap="RdBu_r", vmin=-1, vmax=1)
ax.set_xticks(range(len(words)), words, rotation=45, ha="right")
ax.set_ylabel("cell-state unit")
marks = {probes["negation", "trained"].unit: "negation", probes["plural", "trained"].unit: "plural"}
ax.set_yticks(sorted(marks), [f"{marks[u]} ({u})" for u in sorted(marks)])
for unit in marks:
    ax.add_patch(plt.Rectangle((-0.5, unit - 0.5), len(words), 1, fill=False, edgecolor="k", lw=1.5))
fig.colorbar(image, ax=ax, label="c / (the unit's largest |c| in the sentence)")
ax.set_title("trained LSTM: the cell state after each word")
fig.tight_layout()

# %%
# The two flag units over the same sentence, beside their ground truth
# (each unit multiplied by the sign of its correlation with its flag, so
# that "raised" is up): each unit moves when its word arrives, holds its
# value over the fillers, and lets go once the flag is no longer needed.
fig, axes = plt.subplots(2, 1, figsize=(8, 4), sharex=True)
for ax, flag in zip(axes, ("negation", "plural")):
    found = probes[flag, "trained"]
    sign = np.sign(found.correlations[found.unit])
    ax.plot(sign * c[:, found.unit], "o-", label=f"unit {found.unit} (x {sign:+.0f})")
    ax.plot(test_set.flags[flag][sentence], "s--", color="0.5", label=f"{flag} (truth)")
    ax.set_ylabel(flag)
    ax.legend(loc="lower right", fontsize=8)
axes[-1].set_xticks(range(len(words)), words, rotation=45, ha="right")
fig.tight_layout()
plt.show()
