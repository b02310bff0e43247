"""Lloyd's k-means for many centres (thousands): buckets instead of tables.

:func:`~skquant._kernels._lloyd.lloyd_kmeans` keeps, for few centres, the
distance between every two of them (two ``(k, k)`` tables: 4 GiB at
k = 16384). Here the centres are sorted into buckets instead, a uniform
grid of about one cell per centre rebuilt at every step in O(k), and every
question about nearby centres is a range query over the cells that a ball
touches:

- the first labels: each point's nearest and second-nearest centres, by
  balls of doubling radius (exact: a centre found within the radius is
  nearer than any centre outside it);
- Hamerly's bounds (``upper[i]`` on the distance from point ``i`` to its
  centre, ``lower[i]`` to every other centre, loosened by how far the
  centres moved) skip most points at late steps, as in ``_lloyd``;
- a point that the bounds cannot skip, at distance ``ra`` from its centre
  ``a``, can only be nearer to a centre within ``2 ra`` of ``a`` (the
  triangle inequality, Orchard's method); the centres within the largest
  such radius of ``a``'s points are listed once, sorted by distance to
  ``a``, and each point scans them until the distance exceeds ``ra + rb``.

Every step is the exact Lloyd step (float64 distances; among exact ties
the first centre met may win, as in ``_lloyd``).
"""

import numpy as np

from skquant._kernels._cache import kernel
from skquant._kernels._grid import _shell_sort

#: Centres per bucket, on average over the centres' bounding box.
CENTERS_PER_CELL = 0.25


@kernel
def _buckets(centers):
    """Sort the centres into a uniform grid of cubic cells.

    Returns ``(lo, inv_h, dims, start, members)``: cell ``(c_0, ..,
    c_d-1)`` (``c_j = floor((x_j - lo_j) * inv_h)``, clipped to ``[0,
    dims_j)``) holds ``members[start[cell]:start[cell + 1]]`` with ``cell``
    the row-major index.
    """
    k, d = centers.shape
    lo = np.empty(d)
    hi = np.empty(d)
    for j in range(d):
        lo[j] = np.inf
        hi[j] = -np.inf
        for c in range(k):
            lo[j] = min(lo[j], centers[c, j])
            hi[j] = max(hi[j], centers[c, j])
    widest = 0.0
    for j in range(d):
        widest = max(widest, hi[j] - lo[j])
    if not widest > 0.0:
        widest = 1.0
    # A cube of side h per CENTERS_PER_CELL centres over the box (flat axes
    # count as 1/64 of the widest, so that h stays finite).
    volume = 1.0
    for j in range(d):
        volume *= max(hi[j] - lo[j], widest / 64.0)
    h = (volume * CENTERS_PER_CELL / k) ** (1.0 / d)
    dims = np.empty(d, np.int64)
    while True:
        n_cells = 1
        for j in range(d):
            dims[j] = max(1, min(1 << 20, int((hi[j] - lo[j]) / h) + 1))
            n_cells *= dims[j]
        if n_cells <= 4 * k / CENTERS_PER_CELL + 64:
            break
        h *= 1.25
    inv_h = 1.0 / h
    start = np.zeros(n_cells + 1, np.int64)
    cell_of = np.empty(k, np.int64)
    for c in range(k):
        cell = 0
        for j in range(d):
            cell = cell * dims[j] + _axis_cell(centers[c, j], lo[j], inv_h, dims[j])
        cell_of[c] = cell
        start[cell + 1] += 1
    for cell in range(n_cells):
        start[cell + 1] += start[cell]
    fill = start[:-1].copy()
    members = np.empty(k, np.int64)
    for c in range(k):
        members[fill[cell_of[c]]] = c
        fill[cell_of[c]] += 1
    return lo, inv_h, dims, start, members


@kernel(inline="always")
def _axis_cell(x, lo, inv_h, dim):
    t = (x - lo) * inv_h
    if not t >= 0.0:  # below, or NaN
        return 0
    if t >= dim:
        return dim - 1
    return int(t)


@kernel
def _ball(centers, buckets, x, radius, skip, out_idx, out_d2):
    """Centres within ``radius`` of point ``x`` (``skip`` excluded).

    Writes their indices and squared distances to ``out_idx``, ``out_d2``
    and returns how many, and whether the ball's box covers every cell (then
    every centre is written, whatever its distance).
    """
    lo, inv_h, dims, start, members = buckets
    d = centers.shape[1]
    first = np.empty(d, np.int64)
    last = np.empty(d, np.int64)
    every = True
    for j in range(d):
        first[j] = _axis_cell(x[j] - radius, lo[j], inv_h, dims[j])
        last[j] = _axis_cell(x[j] + radius, lo[j], inv_h, dims[j])
        every = every and first[j] == 0 and last[j] == dims[j] - 1
    r2 = radius * radius
    n = 0
    at = first.copy()
    while True:
        cell = 0
        for j in range(d):
            cell = cell * dims[j] + at[j]
        for m in range(start[cell], start[cell + 1]):
            c = members[m]
            if c == skip:
                continue
            s = 0.0
            for j in range(d):
                t = x[j] - centers[c, j]
                s += t * t
            if s <= r2 or every:
                out_idx[n] = c
                out_d2[n] = s
                n += 1
        if not next_in_box(at, first, last):
            break
    return n, every


@kernel(inline="always")
def next_in_box(at, first, last):
    """Step ``at`` to the next cell of the box ``first..last`` (row-major,
    last axis fastest); False after the last one."""
    j = at.shape[0] - 1
    while j >= 0 and at[j] == last[j]:
        at[j] = first[j]
        j -= 1
    if j < 0:
        return False
    at[j] += 1
    return True


@kernel
def _nearest_two(centers, buckets, x, skip, idx, d2, start_radius):
    """Nearest centre to ``x`` (``skip`` excluded), its distance, and a lower
    bound on the distance to every other centre (the second nearest, or the
    search radius when it was not met). Balls of doubling radius."""
    radius = start_radius
    while True:
        n, every = _ball(centers, buckets, x, radius, skip, idx, d2)
        best, best_d2, second_d2 = -1, np.inf, np.inf
        for m in range(n):
            if d2[m] < best_d2 or (d2[m] == best_d2 and idx[m] < best):
                second_d2 = best_d2
                best, best_d2 = idx[m], d2[m]
            elif d2[m] < second_d2:
                second_d2 = d2[m]
        if best >= 0 and (every or best_d2 <= radius * radius):
            beyond = np.inf if every else radius
            return best, np.sqrt(best_d2), min(np.sqrt(second_d2), beyond)
        if every:  # no other centre at all
            return -1, np.inf, np.inf
        radius *= 2.0


@kernel
def first_labels(points, centers, labels, upper, lower):
    """Exact nearest centre of every point, with Hamerly's bounds."""
    k, d = centers.shape
    buckets = _buckets(centers)
    h = 1.0 / buckets[1]
    idx = np.empty(k, np.int64)
    d2 = np.empty(k)
    for i in range(points.shape[0]):
        best, dist, other = _nearest_two(centers, buckets, points[i], -1, idx, d2, h)
        labels[i] = best
        upper[i] = dist
        lower[i] = other


@kernel
def unsettled(
    points, centers, labels, upper, lower, moved, half_gap, groups, by_centre
):
    """Hamerly's test of every point; those it cannot settle, by centre.

    ``upper[i]`` and ``lower[i]`` bound the distance from point ``i`` to its
    centre ``a`` and to every other centre; loosened by how far the centres
    moved (``moved``), they are written back. A point is settled (its centre
    is still the nearest) when its bounds, or its distance to ``a``, are
    below ``max(lower[i], half_gap[a])``. The others are listed in
    ``groups = (need_idx, radius, n_need, need_start, members, sq)``: the
    points of centre ``a`` are ``members[need_start[a]:need_start[a + 1]]``,
    ``sq[i]`` is the squared distance of point ``i`` to its centre (and
    ``upper[i]`` its square root), ``radius[a]`` twice the largest.
    Returns their number ``m``: ``need_idx[:m]`` lists them in order
    (``members`` is filled only ``by_centre``).
    """
    need_idx, radius, n_need, need_start, members, sq = groups
    n, d = points.shape
    k = centers.shape[0]
    most, second_most, fastest = 0.0, 0.0, -1
    for c in range(k):
        if moved[c] > most:
            most, second_most, fastest = moved[c], most, c
        elif moved[c] > second_most:
            second_most = moved[c]
        radius[c] = 0.0
        n_need[c] = 0
    m_need = 0
    for i in range(n):
        a = labels[i]
        u = upper[i] + moved[a]
        low = lower[i] - (second_most if a == fastest else most)
        bound = max(low, half_gap[a])
        lower[i] = low
        # The margins keep rounding errors from skipping a point.
        if u * (1.0 + 1e-10) < bound:
            upper[i] = u
            continue
        s = 0.0
        for j in range(d):
            t = points[i, j] - centers[a, j]
            s += t * t
        ra = np.sqrt(s)
        upper[i] = ra
        if ra * (1.0 + 1e-10) < bound:
            continue
        sq[i] = s
        need_idx[m_need] = i
        m_need += 1
        n_need[a] += 1
        radius[a] = max(radius[a], 2.0 * ra)
    if not by_centre:
        return m_need
    need_start[0] = 0
    for c in range(k):
        need_start[c + 1] = need_start[c] + n_need[c]
        n_need[c] = need_start[c]
    for m in range(m_need):
        i = need_idx[m]
        members[n_need[labels[i]]] = i
        n_need[labels[i]] += 1
    return m_need


@kernel
def scan_group(
    points, centers, group, near, near_d, n_near, rows, reach_a, bounds, lowest
):
    """Nearest centres of the points ``group``; the number of labels changed.

    A point's centre ``a`` has its neighbours in row ``a * rows`` of
    ``near``: centres by increasing distance ``near_d`` to ``a`` (every
    centre within ``reach_a`` of it, ``n_near`` of them). A point at ``ra``
    from ``a`` can only be nearer to a centre within ``2 ra`` of ``a``, and
    once a centre at ``rb`` is met, within ``ra + rb``: the scan stops there
    (Orchard's method). ``bounds = (labels, upper, lower, sq)`` as
    :func:`unsettled` left them; labels and bounds are updated. Among
    centres exactly as near, the point keeps its centre, or with ``lowest``
    takes the lowest index (as a search from scratch). (Rows are indexed,
    not sliced per point: a view costs reference counting.)
    """
    labels, upper, lower, sq = bounds
    changed = 0
    for i in group:
        a = labels[i]
        row = a * rows
        ra = upper[i]
        best, best_d2 = a, sq[i]
        second_d2 = np.inf
        beyond = reach_a - ra  # centres not listed are farther
        reach = 2.0 * ra  # ra + rb, the best distance rb starting at ra
        for m in range(n_near):
            c = near[row, m]
            if near_d[row, m] > reach * (1.0 + 1e-12) + 1e-300:
                beyond = near_d[row, m] - ra
                break
            if c == a:
                continue
            s = 0.0
            for j in range(points.shape[1]):
                t = points[i, j] - centers[c, j]
                s += t * t
            if s < best_d2 or (lowest and s == best_d2 and c < best):
                second_d2 = min(second_d2, best_d2)
                best, best_d2 = c, s
                reach = ra + np.sqrt(s)
            else:
                second_d2 = min(second_d2, s)
        upper[i] = np.sqrt(best_d2)
        lower[i] = min(np.sqrt(second_d2), beyond)
        if best != a:
            labels[i] = best
            changed += 1
    return changed


@kernel
def reassign_many(points, centers, labels, upper, lower, moved, groups, near, near_d):
    """:func:`~skquant._kernels._lloyd._reassign` without ``(k, k)`` tables.

    Same bounds and the same scan, over the centres near the point's centre
    listed from the buckets (``near``, ``near_d``: scratch of ``(1, k)``).
    Returns the number of labels that changed.
    """
    idx, d2 = near[0], near_d[0]
    k = centers.shape[0]
    buckets = _buckets(centers)
    h = 1.0 / buckets[1]
    # Half the distance from each centre to its nearest other centre.
    half_gap = np.empty(k)
    for a in range(k):
        _, gap, _ = _nearest_two(centers, buckets, centers[a], a, idx, d2, h)
        half_gap[a] = 0.5 * gap
    unsettled(points, centers, labels, upper, lower, moved, half_gap, groups, True)
    radius, need_start, members = groups[1], groups[3], groups[4]
    bounds = (labels, upper, lower, groups[5])
    # Per centre, its neighbours within reach, nearest first.
    changed = 0
    for a in range(k):
        if need_start[a + 1] == need_start[a]:
            continue
        reach_a = radius[a] * (1.0 + 1e-9) + 1e-300
        n_near, _ = _ball(centers, buckets, centers[a], reach_a, a, idx, d2)
        for m in range(n_near):
            d2[m] = np.sqrt(d2[m])
        _shell_sort(d2, idx, n_near, True, False)
        group = members[need_start[a] : need_start[a + 1]]
        changed += scan_group(
            points, centers, group, near, near_d, n_near, 0, reach_a, bounds, False
        )
    return changed


def groups_for(n, k):
    """Work arrays of :func:`unsettled` for ``n`` points and ``k`` centres."""
    return (
        np.empty(n, np.int64),
        np.empty(k),
        np.empty(k, np.int64),
        np.empty(k + 1, np.int64),
        np.empty(n, np.int64),
        np.empty(n),
    )
