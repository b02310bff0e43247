"""A memo of the CIEDE2000 differences of 8-bit pixel pairs, per thread.

Pixel pairs (true colour, test colour) repeat: in flat areas, between
neighbours, and everywhere in a quantized image, whose test colours are
few. :class:`PairMemo` keeps the differences of the pairs a thread has
met in a direct-mapped table keyed by the pair's 48 bits, so that
:func:`skquant._kernels._ciede2000.ciede2000_sum` converts and compares only
the pairs it has not met. Its chunk kernels inline the two halves here:
:func:`memo_probe` makes the keys of a chunk, looks them up and lists the
new pairs; :func:`memo_store` stores their differences once they are
computed. The values are those of the same arithmetic, so the sum does not
change. On a 12 MP photo quantized to 16 colours about 60% of the pairs
are found; where few are (noise), a thread stops using the memo for a few
chunks at a time.

The keys run in SIMD lanes (the pixels are read as flat bytes, so that
the compiler sees their stride of 3; the hash takes two 32-bit products,
which AVX2 has, not one of 64 bits, which it has not); the list of new
pairs is made by arithmetic, not branches: a hit rate near 1/2 would
mispredict branches and cost more than the memo saves. (The lookups are
not gathers: the keys and the values share the table's memory, which the
compiler does not vectorize; two arrays would take two cache lines an
entry.) On one thread of a loaded machine, keys, lookups, list and
stores took about 10 ns a pixel; the scalar lookup they replaced took 15
to 19 ns on its own.
"""

import numpy as np

from skquant._kernels._cache import kernel

#: Entries of each thread's memo of 8-bit pairs: 16 bytes each, 1 MiB.
MEMO_BITS = 16
#: The hash of a pair: the top bits of (true * _HASH_TRUE) ^ (test *
#: _HASH_TEST) in 32 bits, the colours as 24-bit integers.
_HASH_TRUE = np.uint32(0x9E3779B1)
_HASH_TEST = np.uint32(0x85EBCA77)
#: Below this share of hits in two chunks in a row, a thread computes its
#: next ``MEMO_PAUSE`` chunks without the memo (noise: all pairs distinct),
#: then tries it again. (One chunk is not enough: the memo is written at
#: the end of a chunk, so a pattern that repeats within one, such as a
#: dithered flat area, finds nothing the first time.)
MEMO_MIN_HITS = 0.2
MEMO_PAUSE = 16

_inline = kernel(inline="always", error_model="numpy", boundscheck=False)


@_inline
def memo_probe(true, test, start, stop, memo, memo_values, shift, out, keys, slots):
    """Look the 8-bit pairs of rows ``[start, stop)`` up in ``memo``.

    ``true`` and ``test`` are flat bytes, 3 a pixel. ``memo`` is
    direct-mapped: entry ``s`` is ``memo[2 s]``, the pair's 48 bits (true
    colour, then test colour), and ``memo_values[2 s + 1]`` (the same
    memory as float64), its difference. A hit writes the difference into
    ``out``, a miss -1. ``keys`` and ``slots`` receive the chunk's keys and
    the indices of their entries (for :func:`memo_store`).
    """
    n = stop - start
    true = true[3 * start : 3 * stop]
    test = test[3 * start : 3 * stop]
    for j in range(n):  # SIMD: interleaved loads, 32-bit products
        colour = (
            (np.uint32(true[3 * j]) << np.uint32(16))
            | (np.uint32(true[3 * j + 1]) << np.uint32(8))
            | np.uint32(true[3 * j + 2])
        )
        other = (
            (np.uint32(test[3 * j]) << np.uint32(16))
            | (np.uint32(test[3 * j + 1]) << np.uint32(8))
            | np.uint32(test[3 * j + 2])
        )
        keys[j] = (np.int64(colour) << 24) | np.int64(other)
        mixed = np.uint32(
            np.uint32(colour * _HASH_TRUE) ^ np.uint32(other * _HASH_TEST)
        )
        slots[j] = np.int32(mixed >> shift) * np.int32(2)
    for j in range(n):  # one entry a pixel: its key, then its value
        slot = slots[j]
        out[j] = memo_values[slot + 1] if memo[slot] == keys[j] else -1.0


@_inline
def memo_store(memo, memo_values, keys, slots, rows, values, m):
    """Store the differences ``values[:m]`` of the new pairs (at ``rows[:m]``
    of the chunk, see :func:`memo_probe`) in ``memo``."""
    for i in range(m):
        j = rows[i]
        slot = slots[j]
        memo[slot] = keys[j]
        memo_values[slot + 1] = values[i]


class PairMemo:
    """One thread's memo: the table (``memo`` and its view ``memo_values``)
    and the pauses.

    Attributes ``hits`` and ``pixels`` count the pixels that went through
    the memo and those of them that were found.
    """

    def __init__(self):
        bits = MEMO_BITS
        self.memo = np.full(2 << bits, -1, np.int64)  # no key is negative
        self.memo_values = self.memo.view(np.float64)
        self.shift = np.uint32(32 - bits)
        self.pause = 0  # chunks left to compute without the memo
        self.strikes = 0  # chunks in a row with few hits
        self.hits = self.pixels = 0

    def ready(self):
        """Whether the next chunk goes through the memo (else it is paused)."""
        if self.pause:
            self.pause -= 1
            return False
        return True

    def count(self, n_pixels, n_new):
        """Count a chunk of ``n_pixels`` that went through the memo with
        ``n_new`` pairs not found; pause the memo after two poor chunks."""
        self.hits += n_pixels - n_new
        self.pixels += n_pixels
        few = n_new > (1.0 - MEMO_MIN_HITS) * n_pixels
        self.strikes = self.strikes + 1 if few else 0
        self.pause = MEMO_PAUSE if self.strikes > 1 else 0
