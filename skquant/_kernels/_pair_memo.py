"""A memo of the CIEDE2000 differences of 8-bit pixel pairs, per thread.

Pixel pairs (true colour, test colour) repeat: in flat areas, between
neighbours, and everywhere in a quantized image, whose test colours are
few. :class:`PairMemo` keeps the differences of the pairs a thread has
met in a direct-mapped table keyed by the pair's 48 bits, so that
:func:`skquant._kernels._ciede2000.ciede2000_sum` converts and compares only
the pairs it has not met: a chunk is looked up (:func:`_memo_lookup`), its
new pairs are gathered and computed in the SIMD lanes as before, and
:func:`_memo_resolve` stores them and fills in the chunk. The values are
those of the same arithmetic, so the sum does not change. On a 12 MP photo
quantized to 16 colours about half of the pairs are found; where few are
(noise), a thread stops using the memo for a few chunks at a time.
"""

import numpy as np

from skquant._kernels._cache import kernel

#: Entries of each thread's memo of 8-bit pairs (:func:`_memo_lookup`): 16
#: bytes each, 1 MiB, which stays in a core's L2 cache.
MEMO_BITS = 16
#: Fibonacci hashing: the top bits of the key times 2**64 / golden ratio.
_MEMO_HASH = np.uint64(0x9E3779B97F4A7C15)
#: Below this share of hits in two chunks in a row, a thread computes its
#: next ``MEMO_PAUSE`` chunks without the memo (noise: all pairs distinct),
#: then tries it again. (One chunk is not enough: the memo is written at
#: the end of a chunk, so a pattern that repeats within one, such as a
#: dithered flat area, finds nothing the first time.)
MEMO_MIN_HITS = 0.2
MEMO_PAUSE = 16


_block_kernel = kernel(error_model="numpy", boundscheck=False)


@_block_kernel
def _memo_lookup(true, test, start, stop, memo, shift, out, keys, rows, found):
    """Look the 8-bit pairs of rows ``[start, stop)`` up in ``memo``.

    ``memo`` is direct-mapped: entry ``s`` is ``memo[2 s]``, the pair's 48
    bits (true colour, then test colour) as a float64, and ``memo[2 s +
    1]``, its difference. A hit writes the difference into ``out``. A miss
    that repeats the pixel before it shares that pixel's miss; any other
    miss is new: its pixels go to ``found[0]`` (true) and ``found[1]``
    (test), and ``out`` gets ``-1 - i`` for the ``i``-th new miss
    (:func:`_memo_resolve` puts the difference there). Loops without
    branches, the first two in SIMD lanes (gathers): a hit rate near 1/2
    would mispredict branches and cost more than the memo saves. Returns
    the number of new misses; ``keys[:n]`` holds the keys of the chunk.
    """
    n = stop - start
    for j in range(n):
        p = start + j
        keys[j] = np.float64(
            (np.int64(true[p, 0]) << 40)
            | (np.int64(true[p, 1]) << 32)
            | (np.int64(true[p, 2]) << 24)
            | (np.int64(test[p, 0]) << 16)
            | (np.int64(test[p, 1]) << 8)
            | np.int64(test[p, 2])
        )
    for j in range(n):
        key = keys[j]
        slot = np.intp((np.uint64(key) * _MEMO_HASH) >> shift) * 2
        value = memo[slot + 1]
        out[j] = value if memo[slot] == key else -1.0
    m = 0
    previous = -1.0
    for j in range(n):
        key, value = keys[j], out[j]
        rows[m] = j  # a pixel that is not a new miss leaves it to the next
        m += 1 if value < 0.0 and key != previous else 0
        out[j] = value if value >= 0.0 else -np.float64(m)  # -1 - its index
        previous = key
    for i in range(m):
        p = start + rows[i]
        found[0, i, 0], found[0, i, 1], found[0, i, 2] = (
            true[p, 0],
            true[p, 1],
            true[p, 2],
        )
        found[1, i, 0], found[1, i, 1], found[1, i, 2] = (
            test[p, 0],
            test[p, 1],
            test[p, 2],
        )
    return m


@_block_kernel
def _memo_resolve(memo, shift, keys, rows, values, m, out):
    """Store the differences ``values[:m]`` of the new misses (at ``rows[:m]``
    of the chunk) in ``memo`` and put them where :func:`_memo_lookup` left
    ``-1 - i``."""
    for i in range(m):
        key = keys[rows[i]]
        slot = np.intp((np.uint64(key) * _MEMO_HASH) >> shift) * 2
        memo[slot] = key
        memo[slot + 1] = values[i]
    for j in range(out.shape[0]):
        value = out[j]
        out[j] = value if value >= 0.0 else values[np.intp(-1.0 - value)]


class PairMemo:
    """One thread's memo, for chunks of up to ``size`` pixels.

    Attributes ``hits`` and ``pixels`` count the pixels that went through
    the memo and those of them that were found.
    """

    def __init__(self, size):
        self.memo = np.full(2 << MEMO_BITS, -1.0)  # no key is negative
        self.keys = np.empty(size)
        self.rows = np.empty(size + 1, np.intp)
        self.found = np.empty((2, size, 3), np.uint8)
        self.values = np.empty(size)
        self.pause = 0  # chunks left to compute without the memo
        self.strikes = 0  # chunks in a row with few hits
        self.hits = self.pixels = 0

    def ready(self):
        """Whether the next chunk goes through the memo (else it is paused)."""
        if self.pause:
            self.pause -= 1
            return False
        return True

    def differences(self, true, test, begin, end, out, compute):
        """The differences of the 8-bit rows ``[begin, end)`` into ``out``,
        calling ``compute(found, n, values)`` for the ``n`` pairs not found
        (``found[0][:n]``, ``found[1][:n]``: their true and test pixels),
        which puts their differences in ``values[:n]``."""
        shift = np.uint64(64 - MEMO_BITS)
        n_new = _memo_lookup(
            true,
            test,
            begin,
            end,
            self.memo,
            shift,
            out,
            self.keys,
            self.rows,
            self.found,
        )
        if n_new:
            compute(self.found, n_new, self.values)
        _memo_resolve(self.memo, shift, self.keys, self.rows, self.values, n_new, out)
        self.hits += end - begin - n_new
        self.pixels += end - begin
        few = n_new > (1.0 - MEMO_MIN_HITS) * (end - begin)
        self.strikes = self.strikes + 1 if few else 0
        self.pause = MEMO_PAUSE if self.strikes > 1 else 0
