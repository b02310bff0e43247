"""A memo of the CIEDE2000 differences of pixel pairs, per thread.

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

Float pairs (their rows as float64, any float image) go through a memo of
their own, keyed by the exact bits of the 6 values (:func:`float_memo_probe`,
:func:`float_memo_store`): an entry is a cache line of 8 words, the 6 keys,
the difference and a mark that the entry is filled, so that a hit is a pair
of the same bits, whose difference is the same arithmetic's. Float images
are as repetitive as 8-bit ones (``img_as_float`` of a photo holds the same
256 values a channel; a quantized image, its palette's colours), and a
miss costs more: fifth roots instead of a table for the sRGB curve. A miss
also gathers the pair's values into the rows to convert, so that the
conversion runs only on them.
"""

import numpy as np

from skquant._kernels._cache import kernel

#: Entries of each thread's memo of 8-bit pairs: 16 bytes each, 1 MiB.
MEMO_BITS = 16
#: Entries of each thread's memo of float pairs: 64 bytes each, 1 MiB.
FLOAT_MEMO_BITS = 14
#: Words (int64) of an entry of the float memo: the true colour's 3 values'
#: bits, the test colour's, the difference, and 1 once filled.
FLOAT_WORDS = 8
#: The hash of a float pair: each value's 64 bits folded to 32, times its
#: own odd constant, summed, mixed, the top bits.
_HASH_FLOAT = tuple(
    np.uint32(k)
    for k in (0x9E3779B1, 0x85EBCA77, 0xC2B2AE3D, 0x27D4EB2F, 0x165667B1, 0xD3A2646B)
)
_HASH_MIX = np.uint32(0x2C1B3C6D)
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
#: The float memo doubles its pause after each try that finds few pairs
#: again, up to this many times (16 -> 256 chunks): a chunk through the
#: float memo that finds nothing costs more than one without it (its
#: lookups of 64-byte entries miss the cache), so a long stretch of noise
#: is tried less often.
FLOAT_PAUSE_DOUBLINGS = 4

_inline = kernel(inline="always", error_model="numpy", boundscheck=False)
_block_kernel = kernel(error_model="numpy", boundscheck=False)


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


@_inline
def _fold(word):
    """32 bits of a float's 64: the high word (sign, exponent, the top of the
    mantissa) exclusive-or the low one."""
    return np.uint32(word ^ (word >> 32))


@_inline
def _same_floats(true_bits, test_bits, j, k):
    """Whether rows ``j`` and ``k`` hold the same pair (bit for bit)."""
    return (
        (true_bits[j, 0] == true_bits[k, 0])
        & (true_bits[j, 1] == true_bits[k, 1])
        & (true_bits[j, 2] == true_bits[k, 2])
        & (test_bits[j, 0] == test_bits[k, 0])
        & (test_bits[j, 1] == test_bits[k, 1])
        & (test_bits[j, 2] == test_bits[k, 2])
    )


@_block_kernel
def float_memo_probe(
    true, test, true_bits, test_bits, memo, memo_values, shift, slots, out, rows, pixels
):
    """Look the float pairs of rows ``true[j, :3]``, ``test[j, :3]`` (float64,
    and the same memory as int64 in ``true_bits``, ``test_bits``) up in
    ``memo`` and gather those it has not met; returns how many (``m``).

    Entry ``s`` of ``memo`` is ``memo[8 s: 8 s + 8]`` (:data:`FLOAT_WORDS`).
    ``out[j]`` receives the difference found or ``-1 - i``, the index ``i``
    of the pair among those to compute, which ``rows[:m]`` lists (a miss
    that repeats the row before it shares that row's index); their true
    colours go to ``pixels[:m]`` and their test colours to ``pixels[m:2
    m]``. ``slots`` receives the rows' entries (for
    :func:`float_memo_store`). A difference that is not a number is never
    found (it is computed again).
    """
    n = true.shape[0]
    flat_true, flat_test = true_bits.reshape(-1), test_bits.reshape(-1)
    for j in range(n):  # flat: the compiler sees the stride of 3
        mixed = np.uint32(
            np.uint32(_fold(flat_true[3 * j]) * _HASH_FLOAT[0])
            + np.uint32(_fold(flat_true[3 * j + 1]) * _HASH_FLOAT[1])
            + np.uint32(_fold(flat_true[3 * j + 2]) * _HASH_FLOAT[2])
            + np.uint32(_fold(flat_test[3 * j]) * _HASH_FLOAT[3])
            + np.uint32(_fold(flat_test[3 * j + 1]) * _HASH_FLOAT[4])
            + np.uint32(_fold(flat_test[3 * j + 2]) * _HASH_FLOAT[5])
        )
        mixed = np.uint32((mixed ^ (mixed >> np.uint32(15))) * _HASH_MIX)
        slots[j] = np.int32(mixed >> shift) * np.int32(FLOAT_WORDS)
    for j in range(n):
        slot = slots[j]
        value = memo_values[slot + 6]
        found = (  # no branch: hits and misses alternate
            (memo[slot + 7] == 1)
            & (memo[slot] == true_bits[j, 0])
            & (memo[slot + 1] == true_bits[j, 1])
            & (memo[slot + 2] == true_bits[j, 2])
            & (memo[slot + 3] == test_bits[j, 0])
            & (memo[slot + 4] == test_bits[j, 1])
            & (memo[slot + 5] == test_bits[j, 2])
            & (value >= 0.0)
        )
        out[j] = value if found else -1.0
    m = 0
    for j in range(n):
        value = out[j]
        rows[m] = j  # a pair that is not new leaves its place to the next
        repeat = _same_floats(true_bits, test_bits, j, max(j - 1, 0)) & (j > 0)
        m += np.intp(value < 0.0) & np.intp(not repeat)
        out[j] = value if value >= 0.0 else -np.float64(m)
    for i in range(m):
        j = rows[i]
        for c in range(3):
            pixels[i, c] = true[j, c]
            pixels[m + i, c] = test[j, c]
    return m


@_block_kernel
def float_memo_store(true_bits, test_bits, memo, memo_values, slots, rows, values, m):
    """Store the differences ``values[:m]`` of the new float pairs (at
    ``rows[:m]``, see :func:`float_memo_probe`) in ``memo``."""
    for i in range(m):
        j = rows[i]
        slot = slots[j]
        for c in range(3):
            memo[slot + c] = true_bits[j, c]
            memo[slot + 3 + c] = test_bits[j, c]
        memo_values[slot + 6] = values[i]
        memo[slot + 7] = 1


class PairMemo:
    """One thread's memo: the table (``memo`` and its view ``memo_values``)
    and the pauses; 8-bit pairs (2 words an entry) or, with ``floats``,
    float pairs (:data:`FLOAT_WORDS`, aligned on 64 bytes: an entry is a
    cache line).

    Attributes ``hits`` and ``pixels`` count the pixels that went through
    the memo and those of them that were found.
    """

    def __init__(self, floats=False):
        bits = FLOAT_MEMO_BITS if floats else MEMO_BITS
        words = FLOAT_WORDS if floats else 2
        # no 8-bit key is negative; no float entry is filled (word 7 is 1)
        table = np.full((words << bits) + words, -1, np.int64)
        skip = (-table.ctypes.data // 8) % words
        self.memo = table[skip : skip + (words << bits)]
        self.memo_values = self.memo.view(np.float64)
        self.shift = np.uint32(32 - bits)
        self.pause = 0  # chunks left to compute without the memo
        self.strikes = 0  # chunks in a row with few hits
        self.max_doublings = FLOAT_PAUSE_DOUBLINGS if floats else 0
        self.doublings = 0  # of the next pause
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
        self.pause = MEMO_PAUSE << self.doublings if self.strikes > 1 else 0
        if self.strikes > 1:
            self.doublings = min(self.doublings + 1, self.max_doublings)
        elif not few:
            self.doublings = 0
