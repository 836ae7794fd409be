"""Benchmark of the fused kernels against the reference loop and torch: ``python benchmarks/run.py --help``."""

import sys

from rnngrad.bench import main

if __name__ == "__main__":
    sys.exit(main())
