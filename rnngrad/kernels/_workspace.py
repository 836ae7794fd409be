r"""Large buffers of the fused kernels, kept between calls and reused once nothing refers to them.

Why: a training loop calls the kernels with the same shapes again and
again, and each call needs buffers of tens to hundreds of megabytes (the
gate pre-activations of every step, the saved states, the backward's
factors). Freed, such buffers go back to the operating system (glibc
returns allocations above its ``mmap`` threshold at once, and trims the top
of its heap), and the next call pays a page fault for every 4 KiB page it
touches again. On the virtual machines this project is measured on a fault
costs about 4.5 microseconds: an LSTM at (B, T, D, H) = (32, 100, 64, 128)
took 6,800 faults per forward+backward, 30 to 50% of its time. Kept, the
pages stay mapped and the next call writes into memory that is already
there, as torch's caching allocator does for GPU memory.

A buffer is *idle* when the workspace holds the only reference to it: the
arrays handed out are views of it, and NumPy makes every view refer to the
array that owns the memory, so a saved residual on autograd's tape, an
output the caller kept, or a gradient in the caller's hands all keep their
buffer busy. :meth:`Workspace.empty` hands out an idle buffer of the
requested size or up to twice it (the smallest there is), or allocates a
new one. Nothing is ever handed out twice while in use, whichever thread
asks. The count that decides "idle" is calibrated once on the running
interpreter; on a free-threaded build (no GIL) reference counts are not
exact at any instant, so there the workspace starts turned off.

The memory is bounded: the workspace holds at most :attr:`Workspace.limit`
bytes (busy and idle together); past it, idle buffers are dropped (the
least recently used of each size first), and requests it cannot hold are
served by plain :func:`numpy.empty`. Lowering the limit drops idle buffers
at once; :meth:`Workspace.clear` drops every idle buffer; ``limit = 0``
turns the reuse off. A child process made by ``fork`` starts with an empty
workspace.
"""

import math
import os
import sys
import sysconfig
import threading
import weakref

import numpy as onp

__all__ = ["Workspace", "workspace"]


def _references(bucket, k):
    return sys.getrefcount(bucket[k])


# what an idle buffer (held by its list alone) reads on this interpreter: calibrated, not assumed, so
# that an interpreter that counts the argument differently still tells one outside holder from none
_IDLE = _references([onp.empty(1)], 0)
_FREE_THREADED = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))


def _idle(bucket, k):
    """Whether the workspace's list holds the only reference to ``bucket[k]``."""
    return _references(bucket, k) == _IDLE


class Workspace:
    """A bounded cache of array buffers for the fused kernels.

    Args:
        limit: the most bytes held at once, busy and idle buffers together;
            ``None``: 1 GiB, or 0 (reuse off) on free-threaded Python builds.
        threshold: requests smaller than this many bytes are plain
            :func:`numpy.empty` (the allocator serves them from memory it
            keeps anyway).
    """

    def __init__(self, limit=None, threshold=1 << 17):
        self._reset()
        self.limit = (0 if _FREE_THREADED else 1 << 30) if limit is None else limit
        self.threshold = threshold
        _instances.add(self)

    def _reset(self):
        """Start empty, with a free lock: a forked child's copy may be mid-update or locked by a thread it lacks."""
        self._buckets = {}  # nbytes -> [uint8 buffer], least recently handed out first
        self._lock = threading.Lock()

    @property
    def limit(self):
        """The most bytes held at once; setting it lower drops idle buffers until the rest fit."""
        return self._limit

    @limit.setter
    def limit(self, value):
        with self._lock:
            self._limit = value
            self._drop_idle(self.nbytes - value)

    @property
    def nbytes(self):
        """Bytes held now, busy and idle."""
        return sum(size * len(bucket) for size, bucket in list(self._buckets.items()))

    def empty(self, shape, dtype):
        """An uninitialized array of ``shape`` and ``dtype``, like :func:`numpy.empty`."""
        dtype = onp.dtype(dtype)
        shape = (shape,) if isinstance(shape, (int, onp.integer)) else tuple(shape)
        nbytes = dtype.itemsize * math.prod(shape)  # math.prod: onp.prod costs microseconds
        if nbytes < self.threshold or nbytes > self.limit or dtype.hasobject:
            return onp.empty(shape, dtype=dtype)
        with self._lock:
            buffer = self._take(nbytes)
        if buffer is None:
            return onp.empty(shape, dtype=dtype)
        return buffer[:nbytes].view(dtype).reshape(shape)

    def _take(self, nbytes):
        """An idle buffer of ``nbytes`` to twice that, the smallest there is, else a new one of ``nbytes``.

        Taking a larger idle buffer lets the scratch of one phase serve the
        next (the forward's input projection, the backward's factors), so
        the workspace holds about what one call keeps alive at once, not
        every size it ever asked for; at most half of a buffer is unused.
        Every change is a single statement on ``_buckets``, so that an
        interrupt between two leaves nothing inconsistent.
        """
        for size in sorted(self._buckets):
            if size < nbytes:
                continue
            if size > 2 * nbytes:
                break
            bucket = self._buckets[size]
            for k in range(len(bucket)):
                if _idle(bucket, k):
                    bucket.append(bucket.pop(k))  # most recently used last
                    return bucket[-1]
        held = self.nbytes
        if held + nbytes > self.limit:
            held -= self._drop_idle(held + nbytes - self.limit)
            if held + nbytes > self.limit:
                return None
        buffer = onp.empty(nbytes, dtype=onp.uint8)
        self._buckets.setdefault(nbytes, []).append(buffer)
        return buffer

    def _drop_idle(self, wanted):
        """Drop idle buffers, least recently used of each size first, until ``wanted`` bytes are freed."""
        freed = 0
        for nbytes, bucket in list(self._buckets.items()):
            k = 0
            while k < len(bucket) and freed < wanted:
                if _idle(bucket, k):
                    del bucket[k]
                    freed += nbytes
                else:
                    k += 1
            if not bucket:
                del self._buckets[nbytes]
        return freed

    def clear(self):
        """Drop every idle buffer (busy ones stay until their arrays are gone); returns the bytes freed."""
        with self._lock:
            return self._drop_idle(self.nbytes)


_instances = weakref.WeakSet()


def _after_fork_in_child():
    for instance in list(_instances):
        instance._reset()


os.register_at_fork(after_in_child=_after_fork_in_child)

# the kernels' one workspace, public as rnngrad.kernels.workspace
workspace = Workspace()
