"""Training on the word-order task: recurrent classifiers learn it, a bag of embeddings cannot.

The sentences come from :mod:`rnngrad.tasks.order`: swapping the two
sentiment words flips the label and keeps the bag of words, so only a model
that reads in order can beat chance. Each model is trained with
:func:`rnngrad.train.fit` (Adam) on the same batches; the right panel is the
accuracy on held-out sentences.
"""

import matplotlib.pyplot as plt
import numpy as np
from drawing import COLOURS

import rnngrad
from rnngrad.nets import BagOfEmbeddings, RecurrentNet
from rnngrad.nn import accuracy, cross_entropy
from rnngrad.tasks import order
from rnngrad.train import fit, minibatches, pad_sequences

STEPS, EVERY, E, H = 120, 10, 16, 16
_, train_ids, train_labels = order.generate(2000, seed=0)
_, test_ids, test_labels = order.generate(500, seed=1)
test_x, test_lengths = pad_sequences(test_ids)
V = len(order.VOCABULARY)


def batches(seed=0):
    rng = np.random.default_rng(seed)
    while True:
        for index in minibatches(len(train_ids), 32, rng):
            x, lengths = pad_sequences([train_ids[i] for i in index])
            yield x, lengths, train_labels[index]


models = {
    "LSTM": RecurrentNet(rnngrad.LSTM(E, H), 2, vocab_size=V),
    "GRU": RecurrentNet(rnngrad.GRU(E, H), 2, vocab_size=V),
    "RNN": RecurrentNet(rnngrad.RNN(E, H), 2, vocab_size=V),
    "bag of embeddings": BagOfEmbeddings(V, E, 2),
}
colours = {**COLOURS, "bag of embeddings": COLOURS["muted"]}

fig, (left, right) = plt.subplots(1, 2, figsize=(8, 3.4), constrained_layout=True)
for name, model in models.items():

    def loss_fn(params, batch, model=model):
        x, lengths, y = batch
        return cross_entropy(model(params, x, lengths=lengths)[0], y)

    def held_out(params, model=model):
        return accuracy(model(params, test_x, lengths=test_lengths)[0], test_labels)

    params = model.init(seed=0)
    result = fit(loss_fn, params, batches(), num_steps=STEPS, step_size=0.01, evaluate=held_out, eval_every=EVERY)
    smooth = np.convolve(result.losses, np.ones(10) / 10, mode="valid")
    left.plot(np.arange(len(smooth)) + 10, smooth, color=colours[name], label=name)
    steps, metrics = zip(*result.evaluations)
    right.plot(steps, metrics, "o-", markersize=3, color=colours[name], label=name)

left.set_xlabel("training step")
left.set_ylabel("training loss (mean of 10 steps)")
right.set_xlabel("training step")
right.set_ylabel("accuracy on held-out sentences")
right.axhline(0.5, color=COLOURS["muted"], linewidth=0.8, linestyle=":")
right.set_ylim(0.4, 1.02)
right.legend(loc="center right", fontsize=9)
