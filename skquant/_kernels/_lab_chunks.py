"""sRGB pixels to CIELAB, chunk by chunk, compiled: the conversions of
:func:`skquant._kernels._ciede2000.ciede2000_sum`.

- :func:`_codes_lab`: 8- and 16-bit codes, decoded by a table, after the
  pair memo (:mod:`skquant._kernels._pair_memo`): only the pairs it has not
  met are converted.
- :func:`_lab_floats`: float sRGB rows, the curve by fifth roots
  (:func:`_decode_floats`), then CIELAB (:func:`_lab_from_linear`).
- :func:`_lab_floats_known`: the same for the float pairs the float memo
  has not met, with the sRGB curve of each value looked up in a memo of its
  own first (a quantized float image holds few values a channel).

The constants are those of the package's one conversion
(:mod:`skquant._kernels._colorspace`); the cube and fifth roots start from
a float32 guess made of the exponent bits and take Newton (Halley) steps, so
the loops call no transcendental function and the compiler turns them into
SIMD code. Values beyond float32 make a kernel return -1 (the caller then
converts with NumPy).
"""

import numpy as np

from skquant._kernels._cache import kernel
from skquant._kernels._colorspace import (
    _LAB_EPSILON,
    _LAB_F_OFFSET,
    _LAB_L_OFFSET,
    _LAB_SLOPE,
    _M1,
    _M2,
    _SRGB_GAMMA,
    _SRGB_KNEE,
    _SRGB_OFFSET,
    _SRGB_SLOPE,
    LAB,
)
from skquant._kernels._pair_memo import memo_probe

# linear sRGB -> X/Xn, Y/Yn, Z/Zn, and f(X/Xn), ... -> L* + 16, a*, b*
(_X0, _X1, _X2), (_Y0, _Y1, _Y2), (_Z0, _Z1, _Z2) = (
    tuple(float(v) for v in row) for row in _M1[LAB]
)
(_L0, _L1, _L2), (_A0, _A1, _A2), (_B0, _B1, _B2) = (
    tuple(float(v) for v in row) for row in _M2[LAB]
)
#: This minus the float32 bits of x divided by 3: the bits of about
#: x ** (-1 / 3) (within 3.5%); beyond _F32_MAX, NumPy converts instead.
_RCBRT_MAGIC = 0x54A23000
_F32_MAX = 1e30
_F32_THIRD, _F32_4_THIRDS = np.float32(1.0 / 3.0), np.float32(4.0 / 3.0)
#: The same for fifth roots (within 3.4%): the sRGB curve's x ** 2.4 is
#: x ** 2 times the square of a fifth root (checked: _SRGB_GAMMA is 2.4).
_ROOT5_MAGIC = 851980000
if _SRGB_GAMMA != 2.4:  # the decoding below takes fifth roots
    raise ImportError(
        f"_decode_floats needs an sRGB exponent of 2.4, not {_SRGB_GAMMA}"
    )
_PER_SRGB_SCALE = 1.0 / (1.0 + _SRGB_OFFSET)
_PER_SRGB_SLOPE = 1.0 / _SRGB_SLOPE
_F32_4, _F32_6 = np.float32(4.0), np.float32(6.0)

#: Kernels of whole chunks; "numpy" errors (no branch on a division).
_block_kernel = kernel(error_model="numpy")
#: Helpers of the SIMD loops, inlined into them.
_inline = kernel(inline="always", error_model="numpy")


@_inline
def _root5_step(y, base):
    """One Halley step towards the fifth root of ``base`` (float64)."""
    y5 = y * y
    y5 = y5 * y5 * y
    return y * (4.0 * y5 + 6.0 * base) / (6.0 * y5 + 4.0 * base)


@_inline
def _decode_floats(pixels, inv_scale, lin, t32, y32, bits, guess):
    """Linear light of float sRGB rows (scaled by ``inv_scale``) into
    ``lin[:, :n]``, as :func:`srgb_decode` gives it: ((x + 0.055) / 1.055)
    ** 2.4 as its square times the square of its fifth root (a float32
    exponent-bits guess, one Halley step in float32, two in float64: 3.4% ->
    7e-5 -> 8e-13 -> 1e-15). False if a value is beyond float32."""
    n = pixels.shape[0]
    huge = False
    for c in range(3):
        for j in range(n):
            base = (abs(pixels[j, c] * inv_scale) + _SRGB_OFFSET) * _PER_SRGB_SCALE
            lin[c, j] = base
            huge |= base > _F32_MAX
            t32[c, j] = np.float32(base)
    for c in range(3):
        for j in range(n):
            guess[c, j] = bits[c, j] // 5 + _ROOT5_MAGIC
    for c in range(3):
        for j in range(n):
            y, base = y32[c, j], t32[c, j]
            y5 = y * y
            y5 = y5 * y5 * y
            y32[c, j] = (
                y * (_F32_4 * y5 + _F32_6 * base) / (_F32_6 * y5 + _F32_4 * base)
            )
    for c in range(3):
        for j in range(n):
            base = lin[c, j]
            y = _root5_step(_root5_step(np.float64(y32[c, j]), base), base)
            value = pixels[j, c] * inv_scale
            mag = abs(value)
            out = mag * _PER_SRGB_SLOPE if mag <= _SRGB_KNEE else base * base * y * y
            lin[c, j] = out if value >= 0.0 else -out
    return not huge


@_inline
def _lab_from_linear(lab, n, t32, y32, bits, guess):
    """CIELAB of the linear sRGB in ``lab[:, :n]``, in place; False if a value
    is beyond float32 (then ``lab`` is garbage)."""
    for j in range(n):
        red, green, blue = lab[0, j], lab[1, j], lab[2, j]
        lab[0, j] = _X0 * red + _X1 * green + _X2 * blue
        lab[1, j] = _Y0 * red + _Y1 * green + _Y2 * blue
        lab[2, j] = _Z0 * red + _Z1 * green + _Z2 * blue
    # f(t) = t ** (1 / 3) = t * r * r, r = t ** (-1 / 3) from a guess of the
    # float32 exponent bits (within 3.5%) and Newton steps, which need no
    # division: two in float32, two in float64 (3.5% -> 2e-3 -> 1e-5 ->
    # 3e-10 -> 1e-16), or the linear segment
    huge = False
    for c in range(3):
        for j in range(n):
            value = lab[c, j]
            huge |= value > _F32_MAX
            t32[c, j] = np.float32(max(value, _LAB_EPSILON))
    for c in range(3):
        for j in range(n):
            guess[c, j] = _RCBRT_MAGIC - bits[c, j] // 3
    for c in range(3):
        for j in range(n):
            y, third = y32[c, j], t32[c, j] * _F32_THIRD
            y = y * (_F32_4_THIRDS - third * (y * y * y))
            y32[c, j] = y * (_F32_4_THIRDS - third * (y * y * y))
    for c in range(3):
        for j in range(n):
            value = lab[c, j]
            y, third = np.float64(y32[c, j]), value * (1.0 / 3.0)
            y = y * (4.0 / 3.0 - third * (y * y * y))
            y = y * (4.0 / 3.0 - third * (y * y * y))
            linear = _LAB_SLOPE * value + _LAB_F_OFFSET
            lab[c, j] = value * y * y if value > _LAB_EPSILON else linear
    for j in range(n):
        f0, f1, f2 = lab[0, j], lab[1, j], lab[2, j]
        lab[0, j] = _L0 * f0 + _L1 * f1 + _L2 * f2 - _LAB_L_OFFSET
        lab[1, j] = _A0 * f0 + _A1 * f1 + _A2 * f2
        lab[2, j] = _B0 * f0 + _B1 * f1 + _B2 * f2
    return not huge


@_block_kernel
def _codes_lab(
    true,
    test,
    start,
    stop,
    table,
    use_memo,
    memo,
    memo_values,
    shift,
    keys,
    slots,
    out,
    rows,
    lab,
    t32,
    y32,
    bits,
    guess,
):
    """CIELAB of the pairs of integer sRGB rows ``[start, stop)`` (``true``
    and ``test`` flat, 3 codes a pixel, decoded by ``table``) that need a
    difference, into ``lab[:, :m]`` and ``lab[:, m:2 m]``; returns how many
    (``m``),
    or -1 if a value is beyond float32 (only without the memo).

    ``out[j]`` receives, for row ``start + j``, the difference the memo
    found (with ``use_memo``: :func:`memo_probe`) or ``-1 - i``, the index
    ``i`` of its pair among those to compute, which ``rows[:m]`` lists (a
    miss that repeats the pixel before it shares that pixel's index).
    """
    n = stop - start
    m = 0
    if use_memo:
        memo_probe(true, test, start, stop, memo, memo_values, shift, out, keys, slots)
        previous = np.int64(-1)
        for j in range(n):  # no branch: hits and misses alternate
            key, value = keys[j], out[j]
            rows[m] = j  # a pixel that is not new leaves its place to the next
            m += np.intp(value < 0.0) & np.intp(key != previous)
            out[j] = value if value >= 0.0 else -np.float64(m)
            previous = key
    else:
        m = n
        for j in range(n):
            rows[j] = j
            out[j] = -np.float64(j + 1)
    for i in range(m):  # both sides in one row: one inlined conversion
        p = 3 * (start + rows[i])
        lab[0, i] = table[np.intp(true[p])]
        lab[1, i] = table[np.intp(true[p + 1])]
        lab[2, i] = table[np.intp(true[p + 2])]
        lab[0, m + i] = table[np.intp(test[p])]
        lab[1, m + i] = table[np.intp(test[p + 1])]
        lab[2, m + i] = table[np.intp(test[p + 2])]
    return m if _lab_from_linear(lab, 2 * m, t32, y32, bits, guess) else -1


@_block_kernel
def _lab_floats(pixels, inv_scale, lab, t32, y32, bits, guess):
    """CIELAB of float64 sRGB rows ``(n, 3)`` times ``inv_scale`` into
    ``lab[:, :n]``; False if a value is beyond float32."""
    if not _decode_floats(pixels, inv_scale, lab, t32, y32, bits, guess):
        return False
    return _lab_from_linear(lab, pixels.shape[0], t32, y32, bits, guess)


#: Entries of each thread's memo of the sRGB curve of float values (16
#: bytes each, 128 KiB): a quantized float image holds few values a
#: channel (on photo / 255 quantized to 16 or 256 colours, 82% to 95% of
#: the values were found; 75% to 94% with 4096 entries, 86% to 96% with
#: 16384).
_CURVE_BITS = 13
#: Chunks converted without that memo after two in a row where it found
#: less than a fifth of the values (float noise).
_CURVE_PAUSE = 16
_CURVE_HASH = np.uint32(0x9E3779B1)


@_block_kernel
def _lab_floats_known(
    pixels,
    pixel_bits,
    inv_scale,
    lab,
    t32,
    y32,
    bits,
    guess,
    known,
    curve,
    shift,
    todo,
    lin,
    where,
):
    """:func:`_lab_floats` with the sRGB curve of each value looked up
    first in a direct-mapped memo: ``known[s]``, the bits of a value
    (float64), ``curve[s]``, its linear light (from :func:`_decode_floats`,
    so the same values), ``s`` the top ``32 - shift`` bits of a hash. The
    values not found are decoded together (in ``todo``, 3 a row, into
    ``lin``; ``where`` lists them) and stored.
    Returns how many, or -1 if a value is beyond float32."""
    n = pixels.shape[0]
    flat = pixels.reshape(-1)
    flat_bits = pixel_bits.reshape(-1)
    k = 0
    for c in range(3):
        for j in range(n):
            word = pixel_bits[j, c]
            slot = np.uint32(np.uint32(word ^ (word >> 32)) * _CURVE_HASH) >> shift
            lab[c, j] = curve[slot]
            where[k] = 3 * j + c
            k += np.intp(known[slot] != word)
    rows = (k + 2) // 3
    todo_flat = todo.reshape(-1)
    for i in range(k):
        todo_flat[i] = flat[where[i]]
    for i in range(k, 3 * rows):
        todo_flat[i] = 0.0
    if not _decode_floats(todo[:rows], inv_scale, lin, t32, y32, bits, guess):
        return -1
    for i in range(k):
        t = where[i]
        value = lin[i % 3, i // 3]
        lab[t % 3, t // 3] = value
        word = flat_bits[t]
        slot = np.uint32(np.uint32(word ^ (word >> 32)) * _CURVE_HASH) >> shift
        known[slot] = word
        curve[slot] = value
    return k if _lab_from_linear(lab, n, t32, y32, bits, guess) else -1
