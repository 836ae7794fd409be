"""Benchmark of the fused kernels against the reference loop and torch, and of curvature products (``--curvature``).

Run ``python benchmarks/run.py --help``.
"""

import os
import sys

# run from a checkout too: the repository root holds the rnngrad package
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from rnngrad.bench import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
