"""``--jobs N``: images processed by N threads of the one process.

The compiled kernels release the GIL (numba ``nogil=True``), and so do
Pillow's decoders and encoders and NumPy on large arrays, so threads run
images side by side with no start-up cost: no worker process imports
skquant or loads the compiled kernels again, and the first result comes
as soon as the first image is done.

Each job thread gives its images' kernels ``1/N`` of numba's threads
(``numba.set_num_threads`` is per thread), so N jobs do not start N times
as many kernel threads as there are CPUs.

Warnings are per image: :func:`caught_warnings` records those of the
calling thread only. ``warnings.catch_warnings`` alone is not thread-safe
(it swaps process-wide state), so while threads run, one recorder installed
by :func:`run_in_threads` hands each warning to the thread that raised it.
"""

import contextlib
import os
import threading
import warnings
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

_local = threading.local()
_threaded = threading.Event()  # set while run_in_threads runs


@contextlib.contextmanager
def caught_warnings():
    """Record the warnings of this thread inside the block (all of them,
    like ``catch_warnings(record=True)`` with ``simplefilter("always")``);
    yields the list of ``warnings.WarningMessage``."""
    if not _threaded.is_set():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield caught
        return
    stack = _local.__dict__.setdefault("stack", [])
    caught = []
    stack.append(caught)
    try:
        yield caught
    finally:
        stack.pop()


def _per_thread(original):
    def show(message, category, filename, lineno, file=None, line=None):
        stack = getattr(_local, "stack", None)
        if stack:
            stack[-1].append(
                warnings.WarningMessage(message, category, filename, lineno, file, line)
            )
        else:
            original(message, category, filename, lineno, file, line)

    return show


def n_workers(jobs, n_tasks):
    """Threads for ``--jobs`` (0: one per CPU), at most one per task."""
    if jobs == 0:
        jobs = os.cpu_count() or 1
    return max(1, min(jobs, n_tasks))


def _share_kernel_threads(n_jobs):
    """In a job thread: its kernels take 1/n_jobs of numba's threads."""
    from skquant._kernels._cache import numba  # SciPy hidden, as the kernels

    numba.set_num_threads(max(1, numba.config.NUMBA_NUM_THREADS // n_jobs))


def run_in_threads(function, items, n_threads):
    """Yield ``function(item)`` for every item as each finishes, computed by
    ``n_threads`` threads (in order, in this thread, when it is 1).

    At most ``2 * n_threads`` items are started ahead of the results taken;
    after an exception in the caller (Ctrl-C), items not started are
    dropped and only the running ones are waited for.
    """
    if n_threads <= 1:
        yield from map(function, items)
        return
    items = iter(items)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = _per_thread(warnings.showwarning)
        _threaded.set()
        pool = ThreadPoolExecutor(
            n_threads,
            thread_name_prefix="skquant-job",
            initializer=_share_kernel_threads,
            initargs=(n_threads,),
        )
        try:
            running = set()
            while True:
                for item in items:
                    running.add(pool.submit(function, item))
                    if len(running) >= 2 * n_threads:
                        break
                if not running:
                    return
                done, running = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            _threaded.clear()
