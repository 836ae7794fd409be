r"""
The GRU's gates: when a trained network writes and when it keeps
================================================================

A GRU step (torch's convention) is

.. math::

    r = \sigma(W_{ir} x + b_{ir} + W_{hr} h + b_{hr}), \quad
    z = \sigma(W_{iz} x + b_{iz} + W_{hz} h + b_{hz}),

    n = \tanh(W_{in} x + b_{in} + r \odot (W_{hn} h + b_{hn})), \quad
    h' = (1 - z) \odot n + z \odot h:

the update gate :math:`z` near 1 keeps the old state, near 0 writes the
candidate :math:`n`. This example trains a GRU on the
:mod:`~rnngrad.tasks.order` task and records its gates with
:func:`rnngrad.trace.trace`, to see which words it writes at.
"""

# %%
# Train a GRU on the order task
# -----------------------------
import matplotlib.pyplot as plt
import numpy as np

import rnngrad
from rnngrad import nn
from rnngrad.nets import RecurrentNet
from rnngrad.tasks import order
from rnngrad.trace import trace
from rnngrad.train import fit, minibatches, pad_sequences

_, train_ids, train_labels = order.generate(3000, seed=0)
test_sentences, test_ids, test_labels = order.generate(500, seed=1)
net = RecurrentNet(rnngrad.GRU(16, 32), 2, vocab_size=len(order.VOCABULARY))


def loss(params, indices):
    x, lengths = pad_sequences([train_ids[i] for i in indices])
    return nn.cross_entropy(net(params, x, lengths=lengths)[0], train_labels[indices])


def batches(seed=0):
    rng = np.random.default_rng(seed)
    while True:
        yield from minibatches(len(train_labels), 64, rng)


params = fit(loss, net.init(0), batches(), num_steps=300, step_size=0.01).params
x_test, lengths_test = pad_sequences(test_ids)
print("GRU test accuracy", nn.accuracy(net(params, x_test, lengths=lengths_test)[0], test_labels))

# %%
# Record the gates
# ----------------
# The trace holds, for every step, the GRU's ``r``, ``z`` and ``n`` and its
# state ``h`` (NaN gates at padding, where the model does not use them).
record = trace(net.core, params["rnn"], nn.embedding(params["embedding"], x_test), lengths=lengths_test)
z = record.values("z", layer=0)  # (T, B, 32)
print({name: values.shape for name, values in record.records[0][0].items()})

# %%
# Where the network writes
# ------------------------
# The mean of :math:`1 - z` over the units is how much of the state a word
# overwrites. Grouped by word kind over the test set, the fillers, which
# carry nothing, write less than the sentiment words and ``not``, which
# carry the label.
kinds = {"filler": set(order.FILLERS), "sentiment": set(order.POSITIVE + order.NEGATIVE), "not": {order.NEGATION}}
written = {kind: [] for kind in kinds}
for b, words in enumerate(test_sentences):
    for t, word in enumerate(words):
        kind = next(kind for kind, members in kinds.items() if word in members)
        written[kind].append(1.0 - z[t, b].mean())
for kind, values in written.items():
    print(f"{kind:<10} mean write (1 - z): {np.mean(values):.3f} over {len(values)} words")

# %%
# The update gate over one sentence: each column is a word, each row a
# unit; dark is "write".
b = next(b for b, words in enumerate(test_sentences) if len(words) == 8)
words = test_sentences[b]
fig, axes = plt.subplots(1, 2, figsize=(9, 4.2), gridspec_kw={"width_ratios": [3, 1.2]})
image = axes[0].imshow(z[: len(words), b].T, aspect="auto", cmap="viridis", vmin=0, vmax=1)
axes[0].set_xticks(range(len(words)), words, rotation=45, ha="right")
axes[0].set_ylabel("unit")
axes[0].set_title("update gate z (1 keeps, 0 writes)")
fig.colorbar(image, ax=axes[0])
axes[1].bar(list(written), [np.mean(values) for values in written.values()], color="tab:orange")
axes[1].set_ylabel("mean 1 - z")
axes[1].set_title("write by word kind")
fig.tight_layout()
plt.show()
