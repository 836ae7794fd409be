"""
Why order matters: a bag of embeddings against an RNN
=====================================================

In the :mod:`~rnngrad.tasks.order` task every sentence holds one positive
and one negative word, with ``not`` right before one of them; the label is
the polarity of the other. Swapping the two words flips the label and keeps
the bag of words, so a model that ignores order cannot beat chance. This
example trains the order-blind :class:`~rnngrad.nets.BagOfEmbeddings` and
an LSTM on the same sentences and compares their test accuracy.
"""

# %%
# The data
# --------
import matplotlib.pyplot as plt
import numpy as np

import rnngrad
from rnngrad import nn
from rnngrad.nets import BagOfEmbeddings, RecurrentNet
from rnngrad.tasks import order
from rnngrad.train import fit, minibatches, pad_sequences

sentences, train_ids, train_labels = order.generate(3000, seed=0)
_, test_ids, test_labels = order.generate(1000, seed=1)
for words, label in zip(sentences[:4], train_labels[:4]):
    print(f"{' '.join(words):<40} -> {'positive' if label else 'negative'}")
print("swapped:", " ".join(order.swap_order(sentences[0])), "->", order.order_label(order.swap_order(sentences[0])))

# %%
# Train both models
# -----------------
# The same recipe for both: Adam, batches of 64, cross-entropy on the
# logits, test accuracy every 50 steps.
x_test, lengths_test = pad_sequences(test_ids)
vocab = len(order.VOCABULARY)
models = {
    "bag of embeddings": BagOfEmbeddings(vocab, 16, 2),
    "LSTM": RecurrentNet(rnngrad.LSTM(16, 32), 2, vocab_size=vocab),
}
curves = {}
for name, model in models.items():

    def loss(params, indices, model=model):
        x, lengths = pad_sequences([train_ids[i] for i in indices])
        return nn.cross_entropy(model(params, x, lengths=lengths)[0], train_labels[indices])

    def test_accuracy(params, model=model):
        return nn.accuracy(model(params, x_test, lengths=lengths_test)[0], test_labels)

    def batches(seed=0):
        rng = np.random.default_rng(seed)
        while True:
            yield from minibatches(len(train_labels), 64, rng)

    result = fit(loss, model.init(0), batches(), num_steps=300, step_size=0.01, evaluate=test_accuracy, eval_every=50)
    curves[name] = result.evaluations
    print(f"{name:<18} test accuracy after {result.evaluations[-1][0]} steps: {result.evaluations[-1][1]:.3f}")

# %%
# The bag of embeddings stays at chance whatever it is trained for: the
# information is not in the words it sees, but in their order. The LSTM reads
# in order and learns the rule.
fig, ax = plt.subplots(figsize=(7, 3.5))
for name, evaluations in curves.items():
    steps, accuracies = zip(*evaluations)
    ax.plot(steps, accuracies, "o-", label=name)
ax.axhline(0.5, color="0.5", ls=":", label="chance")
ax.set_xlabel("training step")
ax.set_ylabel("test accuracy")
ax.set_ylim(0.4, 1.02)
ax.legend()
fig.tight_layout()
plt.show()
