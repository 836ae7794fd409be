"""Built-in tasks: data generators and readers, no network and no download.

* :mod:`~rnngrad.tasks.order`: word order decides the label (bag of words is at chance);
* :mod:`~rnngrad.tasks.adding`: the adding problem (trivial MSE 1/6);
* :mod:`~rnngrad.tasks.copy`: the copy-memory task (memoryless CE ``10 log 8 / (T + 20)``);
* :mod:`~rnngrad.tasks.text`: classification of a user's ``label,text`` CSV file;
* :mod:`~rnngrad.tasks.chars`: a character-level language model on a user's text
  or the shipped public-domain text;
* :mod:`~rnngrad.tasks.agreement`: negation and subject-pronoun agreement, with
  the ground truth of what a network must remember at every step.
"""

from . import adding, agreement, chars, copy, order, text

__all__ = ["TASKS", "adding", "agreement", "chars", "copy", "order", "text"]

#: The names of the built-in tasks, each a module of this package; ``order`` is the default.
TASKS = ("order", "adding", "copy", "text", "chars", "agreement")
