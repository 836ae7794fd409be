"""``python -m rnngrad``: the same command line as the ``rnngrad`` console script."""

import sys

from .cli import main

sys.exit(main())
