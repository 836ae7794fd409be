"""What machine and libraries a benchmark ran on: CPU, versions, and the BLAS kernel and threads NumPy runs."""

import os
import platform

import numpy as onp

__all__ = ["environment", "blas_line"]


def environment():
    """Lines describing the machine and the libraries, for the record."""
    from importlib.metadata import PackageNotFoundError, version

    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    try:
        autograd_version = version("autograd")
    except PackageNotFoundError:
        autograd_version = "?"
    versions = f"numpy {onp.__version__}, autograd {autograd_version}"
    lines = [f"CPU: {cpu}, {os.cpu_count()} logical cores", f"Python {platform.python_version()}, {versions}"]
    lines.append(blas_line())
    try:
        import torch

        lines.append(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    except ImportError:
        lines.append("torch: not installed, its columns are empty")
    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        if name in os.environ:
            lines.append(f"{name}={os.environ[name]}")
    if "OPENBLAS_CORETYPE" in os.environ:
        lines.append(
            "warning: OPENBLAS_CORETYPE forces OpenBLAS's kernel; on a CPU with a newer native kernel NumPy's"
            " matmuls run about 1.5x slower (unset it, and OPENBLAS_L2_SIZE, for this command)"
        )
    return lines


def blas_line():
    """Which BLAS library NumPy runs, its kernel (the CPU architecture it picked) and its thread count.

    Read at run time by ``threadpoolctl`` (the ``bench`` extra); without
    it, NumPy's build configuration, which cannot tell the kernel.
    """
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        threadpool_info = None
    if threadpool_info is not None:
        pools = [pool for pool in threadpool_info() if pool.get("user_api") == "blas"]
        if pools:
            return "; ".join(
                f"BLAS: {pool.get('internal_api')} {pool.get('version')} ({pool.get('prefix')}), "
                f"kernel {pool.get('architecture', '?')}, {pool.get('num_threads')} threads"
                for pool in pools
            )
    try:
        blas = onp.show_config(mode="dicts")["Build Dependencies"]["blas"]
        found = blas.get("openblas configuration") or blas.get("name")
    except (KeyError, TypeError, AttributeError):
        found = "unknown"
    return f"BLAS: {found} (install threadpoolctl to see the kernel and threads that run)"
