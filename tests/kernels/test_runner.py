"""The parallel runner (skquant._kernels._runner) follows threadpoolctl and numba."""

import threading
import time

import numba
import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from skquant._kernels._assign import (
    assign_labels,
)
from skquant._kernels._runner import kernel_threads, run_chains
from tests.kernels._oracle import (
    palette_from,
)

SPACES = ["rgb", "lab", "oklab", "din99o"]
SCALE = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}


def test_threads_follow_threadpoolctl_and_numba(china):
    assert kernel_threads(10) == 1  # small jobs stay on one thread
    big = 1 << 24
    with threadpool_limits(limits=1, user_api="openmp"):
        assert kernel_threads(big) == 1
    previous = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        assert kernel_threads(big) == 1
    finally:
        numba.set_num_threads(previous)
    assert kernel_threads(big) == min(previous, kernel_threads(big))

    pixels = china.reshape(-1, 3)
    palette = palette_from(china, 100, "oklab", 255.0, 0)
    default = assign_labels(pixels, palette, space="oklab", scale=255.0)
    with threadpool_limits(limits=1):
        single = assign_labels(pixels, palette, space="oklab", scale=255.0)
    np.testing.assert_array_equal(default, single)
    assert numba.get_num_threads() == previous  # restored


def _record_chains(lengths, n_threads, max_open=None, delay=None):
    """Run run_chains with a task that records what it sees; returns the
    log of (worker, chain, piece) and the most chains open at once."""
    lock = threading.Lock()
    log, running, opened = [], set(), {"now": 0, "most": 0}
    done = [0] * len(lengths)

    def task(worker, chain, piece):
        with lock:
            assert chain not in running  # one piece of a chain at a time
            assert piece == done[chain]  # in order
            running.add(chain)
            if piece == 0:
                opened["now"] += 1
                opened["most"] = max(opened["most"], opened["now"])
        if delay is not None:
            time.sleep(delay(worker))
        with lock:
            running.discard(chain)
            done[chain] += 1
            if done[chain] == lengths[chain]:
                opened["now"] -= 1
            log.append((worker, chain, piece))

    run_chains(task, lengths, n_threads, max_open=max_open)
    assert done == list(lengths)
    return log, opened["most"]


@pytest.mark.parametrize("n_threads", [1, 2, 3])
@pytest.mark.parametrize("max_open", [None, 1, 4])
def test_chains_run_every_piece_once_in_order(n_threads, max_open):
    lengths = [3, 0, 7, 1, 5, 5, 2]
    log, most = _record_chains(lengths, n_threads, max_open)
    assert sorted((c, p) for _, c, p in log) == [
        (c, p) for c, n in enumerate(lengths) for p in range(n)
    ]
    assert {w for w, _, _ in log} <= set(range(n_threads))
    if max_open is not None:
        assert most <= max(max_open, n_threads)


def test_chains_spread_over_threads_that_run_at_different_speeds():
    # Worker 0 is ten times slower: it takes fewer pieces, and the chains
    # still all finish (no thread waits on one it cannot help with).
    log, _ = _record_chains([8] * 4, 2, delay=lambda w: 0.02 if w == 0 else 0.002)
    pieces = [sum(w == k for w, _, _ in log) for k in (0, 1)]
    assert pieces[1] > 2 * pieces[0]


def test_chains_pass_on_the_first_error_and_stop():
    calls = []

    def task(worker, chain, piece):
        calls.append((chain, piece))
        if (chain, piece) == (1, 2):
            raise RuntimeError("piece 2 of chain 1")

    with pytest.raises(RuntimeError, match="piece 2 of chain 1"):
        run_chains(task, [50, 50, 50], 2)
    assert len(calls) < 150
