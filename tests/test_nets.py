"""The networks around a recurrent core: their arguments are checked like the core's."""

import numpy as np
import pytest

import rnngrad


@pytest.mark.parametrize("lengths", [[7, 1], [2, -1], [1.5, 2]])
def test_bag_of_embeddings_checks_its_lengths(lengths):
    net = rnngrad.BagOfEmbeddings(5, 4, 2)
    with pytest.raises((ValueError, TypeError), match="lengths"):
        net(net.init(0), np.zeros((3, 2), dtype=int), lengths=lengths)
