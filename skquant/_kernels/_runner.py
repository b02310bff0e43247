"""One parallel runner for every kernel, honouring threadpoolctl.

The kernels are serial numba functions compiled with ``nogil=True``;
:func:`run_parallel` runs them on chunks of work from a few Python threads,
which take the next chunk when they finish one (a thread the OS delays on a
busy machine simply does fewer). Compared with ``parallel=True`` and
``prange`` this compiles four to five times faster (about 1 s per kernel
specialisation instead of 5) and balances load dynamically. The number of
threads (:func:`kernel_threads`) is ``numba.get_num_threads()``, capped by
the OpenMP limit that :mod:`threadpoolctl` reports and by the work size, so
both ``numba.set_num_threads(1)`` and ``threadpool_limits(1)`` make
skquant's kernels single-threaded. The handles of the loaded OpenMP runtimes
are looked up once (4 ms); their limits are read at every call.
"""

import functools
import itertools
import threading
from concurrent.futures import ThreadPoolExecutor

import numba
from threadpoolctl import ThreadpoolController

#: Pixels handed to a thread at a time.
TASK_CHUNK = 1 << 18

#: Below this many pixels per thread, an extra thread is not worth waking.
MIN_PIXELS_PER_THREAD = 1 << 18


@functools.cache
def _openmp_libraries():
    # Built once: the handles of the OpenMP runtimes loaded with scikit-learn
    # and numba; their limits are read live at every call.
    return ThreadpoolController().select(user_api="openmp").lib_controllers


def kernel_threads(n_items, *, min_items=MIN_PIXELS_PER_THREAD):
    """Threads for a numba kernel over ``n_items`` items.

    ``numba.get_num_threads()``, capped by the OpenMP limit set through
    :mod:`threadpoolctl` and by ``n_items // min_items``.
    """
    if n_items < 2 * min_items:
        return 1  # before numba's threading layer is started (first call)
    n_threads = numba.get_num_threads()
    if n_threads == 1:
        return 1
    for lib in _openmp_libraries():
        limit = lib.get_num_threads()
        if limit is not None and limit >= 1:
            n_threads = min(n_threads, limit)
    return max(1, min(n_threads, n_items // min_items))


def run_parallel(task, n_items, n_threads, *, chunk):
    """Call ``task(worker, start, stop)`` over ``[0, n_items)`` in chunks.

    With one thread, a single call covers everything. Otherwise
    ``n_threads`` Python threads (the kernels release the GIL) take chunks
    of ``chunk`` items from a shared counter until none is left, so a thread
    that the OS delays on a busy machine simply takes fewer chunks.
    ``worker`` (0 to ``n_threads - 1``) lets a task keep per-thread state.
    """
    if n_threads <= 1 or n_items <= chunk:
        task(0, 0, n_items)
        return
    n_chunks = -(-n_items // chunk)
    counter = itertools.count()

    def work(worker):
        for c in iter(counter.__next__, None):
            if c >= n_chunks:
                return
            task(worker, c * chunk, min(n_items, (c + 1) * chunk))

    with ThreadPoolExecutor(max_workers=n_threads) as pool:
        # list() re-raises the first exception of any worker.
        list(pool.map(work, range(n_threads)))


def run_chains(task, lengths, n_threads, *, max_open=None):
    """Call ``task(worker, chain, piece)`` for every piece ``0 ..
    lengths[chain] - 1`` of every chain, the pieces of a chain in order.

    A chain's pieces run one after another (each may need the state the one
    before left), pieces of different chains at once on ``n_threads``
    Python threads. A free thread takes the next piece of the chain with
    the most pieces left among those no thread is running, so the chains
    advance together and end together: a thread that the OS slows down
    runs fewer pieces, and the threads finish within about one piece of
    each other (where :func:`run_parallel` over whole chains would leave
    one thread running the last chain alone). At most ``max_open`` chains
    (default: all) are started and not yet finished at a time, which bounds
    the state they hold. ``worker`` is as in :func:`run_parallel`.
    """
    n_chains = len(lengths)
    if n_threads <= 1 or n_chains <= 1:
        for chain, n_pieces in enumerate(lengths):
            for piece in range(n_pieces):
                task(0, chain, piece)
        return
    max_open = n_chains if max_open is None else max(int(max_open), n_threads)
    done = [0] * n_chains  # pieces run, per chain
    busy = [False] * n_chains
    state = {"started": 0, "open": 0, "failed": False}
    ready = threading.Condition()

    def pick():
        """The chain whose next piece to run, or None when all are done
        (with ``ready`` held; waits while every open chain is busy)."""
        while not state["failed"]:
            best = None
            for chain in range(state["started"]):
                if busy[chain] or done[chain] == lengths[chain]:
                    continue
                if best is None or lengths[chain] - done[chain] > (
                    lengths[best] - done[best]
                ):
                    best = chain
            if state["open"] < max_open and state["started"] < n_chains:
                fresh = state["started"]
                if best is None or lengths[fresh] > lengths[best] - done[best]:
                    state["started"] += 1
                    state["open"] += 1
                    best = fresh
                    if lengths[fresh] == 0:
                        state["open"] -= 1
                        continue
            if best is not None:
                busy[best] = True
                return best
            if state["started"] == n_chains and not any(busy):
                return None  # every chain done
            ready.wait()
        return None

    def work(worker):
        while True:
            with ready:
                chain = pick()
            if chain is None:
                return
            try:
                task(worker, chain, done[chain])
            except BaseException:
                with ready:
                    state["failed"] = True
                    ready.notify_all()
                raise
            with ready:
                done[chain] += 1
                busy[chain] = False
                if done[chain] == lengths[chain]:
                    state["open"] -= 1
                ready.notify_all()

    with ThreadPoolExecutor(max_workers=n_threads) as pool:
        # list() re-raises the first exception of any worker.
        list(pool.map(work, range(n_threads)))
