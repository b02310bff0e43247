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

import collections
import contextlib
import os
import threading
import warnings
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

_local = threading.local()
_threaded = threading.Event()  # set while run_in_threads runs
_END = object()


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


#: Bytes of items that :func:`run_in_threads` prepares ahead (decoded
#: images waiting for a thread), beyond the ones being processed.
READ_AHEAD_BYTES = 256 << 20


def run_in_threads(function, items, n_threads, *, prepare=None):
    """Yield ``function(item)`` for every item as each finishes, computed by
    ``n_threads`` threads (in order, in this thread, when it is 1).

    At most ``2 * n_threads`` items are started ahead of the results taken;
    after an exception in the caller (Ctrl-C), items not started are
    dropped and only the running ones are waited for.

    ``prepare(item) -> (item, n_bytes)``, with several threads: while the
    threads work, this thread (otherwise idle) prepares the items not yet
    started, in order (reads their images: Pillow's decoders release the
    GIL), holding at most :data:`READ_AHEAD_BYTES` of prepared items. This
    matters at the start, when the first threads import numba and load the
    compiled kernels on one core and the other core has nothing to do.
    """
    if n_threads <= 1:
        yield from map(function, items)
        return
    items = iter(items)
    ready = collections.deque()  # prepared items not started, with sizes
    held = 0  # their bytes

    def take():
        nonlocal held
        if ready:
            item, n_bytes = ready.popleft()
            held -= n_bytes
            return item
        return next(items, _END)

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
                while len(running) < 2 * n_threads:
                    item = take()
                    if item is _END:
                        break
                    running.add(pool.submit(function, item))
                if not running:
                    return
                # Prepare the next items until a thread is done with one.
                while prepare is not None and held < READ_AHEAD_BYTES:
                    if any(future.done() for future in running):
                        break
                    item = next(items, _END)
                    if item is _END:
                        break
                    item, n_bytes = prepare(item)
                    ready.append((item, n_bytes))
                    held += n_bytes
                done, running = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            _threaded.clear()
