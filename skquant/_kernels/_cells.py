"""Settled colour cells: the nearest palette entry of 8-bit RGB by table.

In the ``'rgb'`` space, 8-bit RGB colours fall in ``2**18`` cells of 4 x 4 x
4 codes (the top six bits of each channel). Most cells of a photo lie
inside one palette entry's Voronoi cell, or across the border of two or
three: each cell's entry in the ``cells`` table (uint64, 0 until a pixel
falls in it) is *settled* once, from the candidate list of the grid cell
of :mod:`skquant._kernels._grid` that holds it. An entry that another one
beats everywhere in the cell (the exact test of
:func:`~skquant._kernels._grid._beats` on the cell's box) is dropped; the
``n <= MAX_SURVIVORS`` survivors are packed into the table entry (``n`` in
the low four bits, then 15 bits per entry). A pixel of a cell with one
survivor needs no search at all; with two to four, the survivors'
distances are compared (lowest index among exact ties, as the brute
force). Cells with more survivors, or across grid cells, are marked
``UNSETTLED``: their pixels are searched as before.

On a 12 MP photo this replaces about 1.4 million grid searches (one per
distinct colour) by about 50 thousand settlements (one per touched cell).
For palettes of ``BLOCK_MIN_COLORS`` colours and more, the 64 colours of a
cell settled with two to four survivors are then written at once to the
Morton-ordered lookup table of :mod:`skquant._kernels._assign`, where they
are one 64-byte block (:func:`fill_block`): their pixels are one table
read, no distances.
Threads racing on one cell write the same values (aligned stores).
"""

import numpy as np

from skquant._kernels._cache import kernel
from skquant._kernels._grid import _beats, closer3

#: Low bits of a channel value dropped to find its cell (cells of 4 codes).
CELL_SHIFT = 2

#: Cells per channel.
CELLS_PER_CHANNEL = 256 >> CELL_SHIFT

#: Palette entries a settled cell keeps (15 bits each, after a 4-bit count).
MAX_SURVIVORS = 4

#: Count of a cell whose pixels are searched one by one.
UNSETTLED = 15

#: Largest palette the table takes (entries are stored in 15 bits).
MAX_CELL_COLORS = 1 << 15

#: Survivors of the first elimination (by the entry that beats most) beyond
#: which a cell is left unsettled without comparing them pairwise.
MAX_FIRST_SURVIVORS = 16


def new_cells():
    """An empty table (zero-filled by the OS page by page as cells are settled)."""
    return np.zeros(CELLS_PER_CHANNEL**3, np.uint64)


def cell_box():
    """``(lo, hi)``: the grid box whose cells hold whole 8-bit colour cells.

    With ``lo = -0.5`` and ``hi = 255.5`` the grid of
    :func:`~skquant._kernels._grid.grid_for` (a power of two up to 64 cells
    per axis) has borders between codes, on multiples of 4.
    """
    return np.full(3, -0.5), np.full(3, 255.5)


@kernel
def settle(code, grid, keep, half):
    """The table entry of cell ``code`` (see the module docstring).

    ``keep`` is scratch of ``MAX_FIRST_SURVIVORS`` ints; ``half`` holds the
    cell's half-width along each channel. Not inlined, and called only for
    cells not settled yet: binding the ``grid`` tuple costs reference
    counting of its arrays, too much to pay per pixel.
    """
    palette, lo, inv_width, g, start, cand, _, _ = grid
    width = 1 << CELL_SHIFT
    corner = (
        (code // (CELLS_PER_CHANNEL * CELLS_PER_CHANNEL)) << CELL_SHIFT,
        ((code // CELLS_PER_CHANNEL) % CELLS_PER_CHANNEL) << CELL_SHIFT,
        (code % CELLS_PER_CHANNEL) << CELL_SHIFT,
    )
    centre = np.empty(3)
    cell = 0
    for j in range(3):
        centre[j] = corner[j] + half[j]
        if g > 0:
            a = int((corner[j] - lo[j]) * inv_width[j])
            b = int((corner[j] + width - 1 - lo[j]) * inv_width[j])
            if a != b or a < 0 or b >= g:
                return np.uint64(UNSETTLED)
            cell = cell * g + a
    s = start[cell] if g > 0 else 0
    e = start[cell + 1] if g > 0 else palette.shape[0]
    if e == s:
        return np.uint64(UNSETTLED)
    # q, the entry whose farthest point of the cell is nearest, beats most.
    q = 0
    best_far = np.inf
    for k in range(s, e):
        p = cand[k] if g > 0 else k
        far = 0.0
        for j in range(3):
            far += (abs(centre[j] - palette[p, j]) + half[j]) ** 2
        if far < best_far:
            best_far = far
            q = p
    dq = _centre_sq(palette, q, centre)
    m = 0
    for k in range(s, e):
        p = cand[k] if g > 0 else k
        if p != q and _beats(palette, q, p, half, dq, _centre_sq(palette, p, centre)):
            continue
        if m == keep.shape[0]:
            return np.uint64(UNSETTLED)
        keep[m] = p
        m += 1
    # Pairwise among the survivors (beating is transitive: the kept ones
    # overwriting beaten ones changes nothing).
    n = 0
    for a in range(m):
        p = keep[a]
        dp = _centre_sq(palette, p, centre)
        beaten = False
        for b in range(m):
            r = keep[b]
            if r != p and _beats(
                palette, r, p, half, _centre_sq(palette, r, centre), dp
            ):
                beaten = True
                break
        if not beaten:
            if n == MAX_SURVIVORS:
                return np.uint64(UNSETTLED)
            keep[n] = p
            n += 1
    entry = np.uint64(n)
    for k in range(n):
        entry |= np.uint64(keep[k]) << np.uint64(4 + 15 * k)
    return entry


@kernel(inline="always")
def _centre_sq(palette, p, centre):
    d0 = centre[0] - palette[p, 0]
    d1 = centre[1] - palette[p, 1]
    d2 = centre[2] - palette[p, 2]
    return d0 * d0 + d1 * d1 + d2 * d2


@kernel(inline="always")
def cell_code(pixels, i):
    """Index in the ``cells`` table of the cell of 8-bit RGB pixel ``i``."""
    c0 = np.int64(pixels[i, 0]) >> CELL_SHIFT
    c1 = np.int64(pixels[i, 1]) >> CELL_SHIFT
    c2 = np.int64(pixels[i, 2]) >> CELL_SHIFT
    return (c0 * CELLS_PER_CHANNEL + c1) * CELLS_PER_CHANNEL + c2


@kernel(inline="always")
def cell_pick(pixels, i, palette, entry):
    """Nearest entry of 8-bit RGB pixel ``i`` from its cell's ``entry``.

    -1 for an unsettled cell (search the pixel).
    """
    x0 = np.float64(pixels[i, 0])
    x1 = np.float64(pixels[i, 1])
    x2 = np.float64(pixels[i, 2])
    return pick(x0, x1, x2, palette, entry)


@kernel(inline="always")
def pick(x0, x1, x2, palette, entry):
    """Nearest entry to the colour ``x`` of a cell from its table ``entry``
    (lowest index among exact ties); -1 for an unsettled cell."""
    n = np.int64(entry & np.uint64(15))
    mask = np.uint64(0x7FFF)
    arg = np.int64((entry >> np.uint64(4)) & mask)
    if n == 1:
        return arg
    if n == UNSETTLED:
        return np.int64(-1)
    best = np.inf
    for k in range(n):
        p = np.int64((entry >> np.uint64(4 + 15 * k)) & mask)
        best, arg = closer3(x0, x1, x2, palette, p, best, arg)
    return arg


@kernel
def fill_block(table, base, corner, palette, entry):
    """Write label + 1 of each of the 64 colours of a settled cell to the
    Morton-ordered lookup ``table``, where they are ``table[base:base + 64]``.

    ``corner`` is the cell's lowest colour; the low six bits of a Morton
    code interleave the two low bits of R, G and B (R highest). In a uint8
    table, label 255 is stored as 0 ("not known"): those colours are picked
    from the cell's entry each time (exact all the same).
    """
    for o in range(64):
        x0 = np.float64(corner[0] + ((o >> 2) & 1) + (((o >> 5) & 1) << 1))
        x1 = np.float64(corner[1] + ((o >> 1) & 1) + (((o >> 4) & 1) << 1))
        x2 = np.float64(corner[2] + (o & 1) + (((o >> 3) & 1) << 1))
        table[base + o] = pick(x0, x1, x2, palette, entry) + 1
