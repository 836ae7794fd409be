"""
Generating text with a character-level LSTM
===========================================

A language model predicts each character from the ones before it. Trained
with truncated backpropagation through time on the public-domain text that
ships with rnngrad (:mod:`rnngrad.tasks.chars`), an LSTM learns spelling and
short words within a few hundred steps, and then writes by drawing one
character at a time and feeding it back.
"""

# %%
# Train
# -----
# :func:`rnngrad.experiments.run` is the recipe behind ``rnngrad train --task
# chars``: an embedding, an LSTM of 64 units, a readout at every step, and
# chunks of 32 characters whose final state starts the next chunk. It
# reports the test cross-entropy (nats per character) beside the unigram
# baseline, which knows each character's frequency only.
import matplotlib.pyplot as plt

from rnngrad import experiments
from rnngrad.tasks import chars

result = experiments.run("chars", steps=300, seed=0)
print(f"test cross-entropy {result.test_metric:.3f} nats/char, unigram baseline {result.baseline:.3f}")

# %%
# Write
# -----
# :func:`rnngrad.tasks.chars.sample` primes the network with a prompt, then
# draws each next character from the softmax of the logits divided by a
# temperature: lower is more conservative, higher more varied.
vocabulary = chars.CharVocabulary("".join(result.extras["vocabulary"]))
for temperature in (0.5, 1.0):
    text = chars.sample(result.net, result.params, vocabulary, "The ", 160, temperature=temperature, seed=0)
    print(f"temperature {temperature}: {'The ' + text!r}\n")

# %%
# The training loss per chunk, and the validation cross-entropy at each
# evaluation, against the unigram baseline.
fit = result.fit
fig, ax = plt.subplots(figsize=(7, 3.5))
ax.plot(fit.losses, color="0.7", lw=0.8, label="training chunk")
steps, values = zip(*fit.evaluations)
ax.plot(steps, values, "o-", label="validation")
ax.axhline(result.baseline, color="tab:red", ls=":", label="unigram")
ax.set_xlabel("training step")
ax.set_ylabel("cross-entropy (nats/char)")
ax.legend()
fig.tight_layout()
plt.show()
