"""Initial centres for k-means: scikit-learn's k-means++, compiled.

:func:`kmeans_plusplus` draws the same seeds as
:func:`sklearn.cluster.kmeans_plusplus` from the same ``RandomState`` (the
same algorithm and random stream), three times faster on a pooled colour
histogram; :func:`initial_centers` turns an ``init`` parameter into centres
for both backends.
"""

import numpy as np

from skquant._kernels import _checks
from skquant._kernels._cache import kernel
from skquant._kernels._lloyd_large import next_in_box


def initial_centers(X, n_clusters, *, init, random_state, sample_weight=None):
    """Seeded initial centres: k-means++, random points, or given."""
    if isinstance(init, str) and init == "k-means++":
        centers, _ = kmeans_plusplus(
            X, n_clusters, random_state=random_state, sample_weight=sample_weight
        )
        return centers.astype(X.dtype, copy=False)
    if isinstance(init, str) and init == "random":
        p = None if sample_weight is None else sample_weight / sample_weight.sum()
        idx = random_state.choice(X.shape[0], n_clusters, replace=False, p=p)
        return X[idx]
    return np.asarray(init, dtype=X.dtype)


def kmeans_plusplus(
    points, n_clusters, *, sample_weight=None, random_state, existing=None
):
    """Greedy k-means++ seeds, as :func:`sklearn.cluster.kmeans_plusplus`.

    The same algorithm and the same draws from ``random_state`` (the first
    centre in proportion to the weights, then ``2 + int(log(n_clusters))``
    candidates per centre, the one that lowers the weighted potential most
    wins), with exact squared distances in a compiled loop instead of
    scikit-learn's BLAS expansion, vectorised: 3x faster on a pooled colour
    histogram, and the same seeds unless two candidates' potentials tie to
    rounding (identical on every photo, space and K tested).

    Parameters
    ----------
    points : ndarray of shape (n_points, n_features)
    n_clusters : int
        Number of seeds to draw.
    sample_weight : ndarray of shape (n_points,) or None
    random_state : numpy.random.RandomState
    existing : ndarray of shape (n_existing, n_features) or None
        Centres already chosen (colours that must stay in the palette): the
        seeds are drawn around them, with no random first centre.

    Returns
    -------
    centers : ndarray of shape (n_clusters, n_features), float64
    indices : ndarray of shape (n_clusters,), int64
    """
    points = _checks.finite_points(points)
    n_points = points.shape[0]
    weights = _checks.weights_for(sample_weight, n_points)
    if existing is not None:
        existing = _checks.palette_for(existing, points.shape[1], "existing")
    n_existing = 0 if existing is None else len(existing)
    if n_clusters == 0:
        return points[:0], np.zeros(0, np.int64)
    # One row per feature: the trial loop runs on SIMD lanes.
    columns = np.ascontiguousarray(points.T)
    n_trials = 2 + int(np.log(n_clusters + n_existing))
    many = n_clusters + n_existing >= GRID_SEEDS and points.shape[1] <= 4
    if many:

        def run(closest, uniforms):
            return _plusplus_grid(points, weights, closest, uniforms)
    else:

        def run(closest, uniforms):
            return _plusplus(columns, weights, closest, uniforms)

    if n_existing:
        closest = _closest(columns, np.asarray(existing, dtype=np.float64))
        uniforms = random_state.uniform(size=(n_clusters, n_trials))
        indices = run(closest, uniforms)
    else:
        first = int(random_state.choice(n_points, p=weights / weights.sum()))
        closest = _closest(columns, points[first : first + 1])
        # scikit-learn draws n_trials uniforms per centre, nothing in between.
        uniforms = random_state.uniform(size=(n_clusters - 1, n_trials))
        rest = run(closest, uniforms)
        indices = np.concatenate([[first], rest])
    return points[indices], indices


@kernel(fastmath=True)
def _trial_potential(columns, weights, closest, q):
    """Weighted potential if point ``q`` became a centre (vectorised sum)."""
    total = 0.0
    if columns.shape[0] == 3:  # colours: written out, so that it vectorises
        x, y, z = columns[0], columns[1], columns[2]
        qx, qy, qz = x[q], y[q], z[q]
        for i in range(closest.shape[0]):
            a, b, c = x[i] - qx, y[i] - qy, z[i] - qz
            total += weights[i] * min(a * a + b * b + c * c, closest[i])
        return total
    for i in range(closest.shape[0]):
        s = 0.0
        for j in range(columns.shape[0]):
            u = columns[j, i] - columns[j, q]
            s += u * u
        total += weights[i] * min(s, closest[i])
    return total


@kernel
def _plusplus(columns, weights, closest, uniforms):
    """Indices of ``len(uniforms)`` greedy k-means++ seeds.

    ``closest`` holds each point's squared distance to the centres chosen
    so far and is updated in place; ``uniforms[c]`` are the draws for seed
    ``c``, one per candidate.
    """
    n = closest.shape[0]
    n_new, n_trials = uniforms.shape
    indices = np.empty(n_new, np.int64)
    cumulative = np.empty(n)
    candidates = np.empty(n_trials, np.int64)
    point = np.empty(columns.shape[0])
    potential = 0.0
    for i in range(n):
        potential += weights[i] * closest[i]
    for c in range(n_new):
        total = 0.0  # in order, as np.cumsum
        for i in range(n):
            total += weights[i] * closest[i]
            cumulative[i] = total
        for t in range(n_trials):
            # np.searchsorted(cumulative, value): first index not below it.
            value = uniforms[c, t] * potential
            lo, hi = 0, n
            while lo < hi:
                mid = (lo + hi) // 2
                if cumulative[mid] < value:
                    lo = mid + 1
                else:
                    hi = mid
            candidates[t] = min(lo, n - 1)
        best, best_potential = 0, np.inf
        for t in range(n_trials):
            trial = _trial_potential(columns, weights, closest, candidates[t])
            if trial < best_potential:
                best, best_potential = t, trial
        for j in range(columns.shape[0]):
            point[j] = columns[j, candidates[best]]
        _move_closer(columns, closest, point)
        potential = best_potential
        indices[c] = candidates[best]
    return indices


def _closest(columns, centers):
    """Squared distance from each point to the nearest of ``centers``.

    NumPy, with the same operations in the same order as
    :func:`_move_closer` (the same numbers): a kernel would compile
    :func:`_move_closer` a second time on first use.
    """
    closest = np.full(columns.shape[1], np.inf)
    for center in centers:
        sq = (columns[0] - center[0]) ** 2
        for j in range(1, columns.shape[0]):
            sq += (columns[j] - center[j]) ** 2
        np.minimum(closest, sq, out=closest)
    return closest


@kernel(inline="always")  # only called in _plusplus: compiled there alone
def _move_closer(columns, closest, point):
    """``closest = min(closest, squared distance to point)``."""
    if columns.shape[0] == 3:  # colours: written out, so that it vectorises
        x, y, z = columns[0], columns[1], columns[2]
        px, py, pz = point[0], point[1], point[2]
        for i in range(closest.shape[0]):
            a, b, c = x[i] - px, y[i] - py, z[i] - pz
            closest[i] = min(closest[i], a * a + b * b + c * c)
        return
    for i in range(closest.shape[0]):
        s = 0.0
        for j in range(columns.shape[0]):
            u = columns[j, i] - point[j]
            s += u * u
        if s < closest[i]:
            closest[i] = s


# %% many seeds: a grid of the points -----------------------------------------
#
# Greedy k-means++ costs n_trials passes over every point per seed: minutes
# for thousands of seeds. A trial point ``q`` only lowers ``closest`` where a
# point is nearer to ``q`` than to every chosen centre, which for many seeds
# is a small neighbourhood of ``q``. The points are sorted into a grid of
# cubic cells grouped in blocks of ``BLOCK ** d`` cells; each cell and block
# knows the largest ``closest`` of its points, so a trial skips every block
# and cell farther from ``q`` than that (exact), and the draw walks block,
# cell and point sums instead of a cumulative sum over all points.

#: Seeds from which :func:`kmeans_plusplus` uses the grid of the points.
GRID_SEEDS = 2048

#: Points per grid cell, on average over the points' bounding box.
POINTS_PER_CELL = 4.0

#: Cells per block along each axis.
BLOCK = 4

#: Blocks a trial visits beyond its neighbourhood, at most (those holding
#: points far from every centre).
FAR_BLOCKS = 32


def _point_grid(points):
    """Cells of ``points``: ``(lo, inv_h, dims, sdims)`` and each point's cell.

    Cubic cells of side ``h`` over the points' box, ``dims[j]`` along axis
    ``j``, grouped in blocks of ``BLOCK`` cells per axis (``sdims[j]`` along
    axis ``j``); cell ids are block-major so that a block's cells are
    consecutive.
    """
    n, d = points.shape
    lo, hi = points.min(axis=0), points.max(axis=0)
    extent = hi - lo
    widest = float(extent.max()) if extent.max() > 0 else 1.0
    volume = float(np.prod(np.maximum(extent, widest / 64.0)))
    h = (volume * POINTS_PER_CELL / n) ** (1.0 / d)
    while True:
        dims = np.minimum((extent / h).astype(np.int64) + 1, 1 << 16)
        sdims = -(-dims // BLOCK)
        if np.prod(sdims) * BLOCK**d <= 4 * n / POINTS_PER_CELL + 4096:
            break
        h *= 1.25
    inv_h = 1.0 / h
    coord = np.minimum(((points - lo) * inv_h).astype(np.int64), dims - 1)
    block = np.ravel_multi_index(tuple((coord // BLOCK).T), tuple(sdims))
    local = np.ravel_multi_index(tuple((coord % BLOCK).T), (BLOCK,) * d)
    cell = block * BLOCK**d + local
    return (lo, inv_h, dims.astype(np.int64), sdims.astype(np.int64)), cell


def _plusplus_grid(points, weights, closest, uniforms):
    """:func:`_plusplus` through a grid of the points: for many seeds."""
    n, d = points.shape
    geometry, cell = _point_grid(points)
    order = np.argsort(cell, kind="stable")
    n_cells = int(np.prod(geometry[3])) * BLOCK**d
    start = np.zeros(n_cells + 1, np.int64)
    np.cumsum(np.bincount(cell, minlength=n_cells), out=start[1:])
    sorted_points = np.ascontiguousarray(points[order])
    # The lower corner of every block and cell (block-major ids).
    lo, inv_h, _, sdims = geometry
    blocks = np.stack(np.unravel_index(np.arange(np.prod(sdims)), tuple(sdims)), 1)
    locals_ = np.stack(np.unravel_index(np.arange(BLOCK**d), (BLOCK,) * d), 1)
    block_lo = lo + blocks * (BLOCK / inv_h)
    cells = (blocks[:, None, :] * BLOCK + locals_[None]).reshape(-1, d)
    cell_lo = np.ascontiguousarray(lo + cells / inv_h)
    picked = _plusplus_cells(
        sorted_points,
        np.ascontiguousarray(weights[order]),
        np.ascontiguousarray(closest[order]),
        uniforms,
        start,
        *geometry,
        BLOCK,
        cell_lo,
        block_lo,
    )
    return order[picked]


@kernel
def _cell_stats(points, weights, closest, start, c, cell_pot, cell_max):
    pot, top = 0.0, 0.0
    for i in range(start[c], start[c + 1]):
        pot += weights[i] * closest[i]
        top = max(top, closest[i])
    cell_pot[c] = pot
    cell_max[c] = top


@kernel
def _block_stats(b, per_block, cell_pot, cell_max, block_pot, block_max):
    pot, top = 0.0, 0.0
    for c in range(b * per_block, (b + 1) * per_block):
        pot += cell_pot[c]
        top = max(top, cell_max[c])
    block_pot[b] = pot
    block_max[b] = top


@kernel
def _box_gap(q, low, width):
    """Squared distance from ``q`` to the cube of side ``width`` at ``low``."""
    s = 0.0
    for j in range(q.shape[0]):
        if q[j] < low[j]:
            s += (low[j] - q[j]) ** 2
        elif q[j] > low[j] + width:
            s += (q[j] - low[j] - width) ** 2
    return s * (1.0 - 1e-9)  # a margin for the rounding of cell edges


@kernel
def _visit_block(points, weights, closest, start, q, stats, geometry, b, apply):
    """:func:`_visit` for the cells of block ``b``."""
    cell_pot, cell_max, block_pot, block_max = stats
    lo, inv_h, dims, sdims, block, cell_lo, block_lo = geometry
    d = points.shape[1]
    h = 1.0 / inv_h
    per_block = block**d
    if not (block_max[b] > 0.0 and _box_gap(q, block_lo[b], h * block) < block_max[b]):
        return 0.0
    gain = 0.0
    touched = False
    for local in range(per_block):
        c = b * per_block + local
        if cell_max[c] <= 0.0:
            continue
        if _box_gap(q, cell_lo[c], h) >= cell_max[c]:
            continue
        moved = False
        for i in range(start[c], start[c + 1]):
            s = 0.0
            for j in range(d):
                t = points[i, j] - q[j]
                s += t * t
            if s < closest[i]:
                gain += weights[i] * (closest[i] - s)
                if apply:
                    closest[i] = s
                    moved = True
        if moved:
            _cell_stats(points, weights, closest, start, c, cell_pot, cell_max)
            touched = True
    if touched:
        _block_stats(b, per_block, cell_pot, cell_max, block_pot, block_max)
    return gain


@kernel
def _visit(points, weights, closest, start, q, stats, geometry, reach, far, apply):
    """Gain of a centre at ``q`` (``apply=False``), or make it one (True).

    The gain is how much the weighted potential drops: the sum of
    ``w * (closest - d2)`` over the points nearer to ``q`` than to every
    centre so far. With ``apply``, ``closest`` and the cell and block
    statistics of the points that moved closer are updated. Blocks within
    ``reach`` of ``q`` are visited, and the blocks listed in ``far`` (every
    block with a point whose ``closest`` exceeds ``reach ** 2``).
    """
    lo, inv_h, dims, sdims, block, _, _ = geometry
    d = points.shape[1]
    size = block / inv_h
    radius = reach * (1.0 + 1e-9) + 1e-6 * size
    first = np.empty(d, np.int64)
    last = np.empty(d, np.int64)
    at = np.empty(d, np.int64)
    for j in range(d):
        first[j] = max(0, min(sdims[j] - 1, int((q[j] - radius - lo[j]) / size)))
        last[j] = max(0, min(sdims[j] - 1, int((q[j] + radius - lo[j]) / size)))
        at[j] = first[j]
    gain = 0.0
    while True:
        b = 0
        for j in range(d):
            b = b * sdims[j] + at[j]
        gain += _visit_block(
            points, weights, closest, start, q, stats, geometry, b, apply
        )
        if not next_in_box(at, first, last):
            break
    for m in range(far.shape[0]):
        b = far[m]
        rest = b
        inside = True
        for j in range(d - 1, -1, -1):
            coord = rest % sdims[j]
            rest //= sdims[j]
            inside = inside and first[j] <= coord <= last[j]
        if not inside:
            gain += _visit_block(
                points, weights, closest, start, q, stats, geometry, b, apply
            )
    return gain


@kernel
def _far_blocks(block_max, far):
    """Reach and far blocks for :func:`_visit`: the largest reach whose far
    list is at most ``far.shape[0]`` blocks, dividing the radius by two at
    a time from the largest ``closest``. Returns ``(reach, n_far)``."""
    top = 0.0
    for b in range(block_max.shape[0]):
        top = max(top, block_max[b])
    reach2 = top
    n_far = 0
    for _ in range(8):
        trial = reach2 / 4.0
        count = 0
        for b in range(block_max.shape[0]):
            if block_max[b] > trial:
                count += 1
        if count > far.shape[0]:
            break
        reach2 = trial
    for b in range(block_max.shape[0]):
        if block_max[b] > reach2:
            far[n_far] = b
            n_far += 1
    return np.sqrt(reach2), n_far


@kernel
def _draw(value, start, weights, closest, per_block, stats):
    """The point where the weighted cumulative potential first reaches
    ``value``: walking block, cell and point sums (the last point with a
    positive potential when rounding overshoots)."""
    cell_pot, cell_max, block_pot, block_max = stats
    fallback = -1
    total = 0.0
    for b in range(block_pot.shape[0]):
        if block_pot[b] <= 0.0:
            continue
        if total + block_pot[b] < value:
            total += block_pot[b]
            fallback = b
            continue
        for c in range(b * per_block, (b + 1) * per_block):
            if cell_pot[c] <= 0.0:
                continue
            if total + cell_pot[c] < value:
                total += cell_pot[c]
                continue
            for i in range(start[c], start[c + 1]):
                total += weights[i] * closest[i]
                if total >= value and weights[i] * closest[i] > 0.0:
                    return i
        fallback = b
    # Rounding overshoot: the last point with a positive potential.
    if fallback < 0:
        return 0
    for c in range((fallback + 1) * per_block - 1, fallback * per_block - 1, -1):
        for i in range(start[c + 1] - 1, start[c] - 1, -1):
            if weights[i] * closest[i] > 0.0:
                return i
    return 0


@kernel
def _plusplus_cells(
    points,
    weights,
    closest,
    uniforms,
    start,
    lo,
    inv_h,
    dims,
    sdims,
    block,
    cell_lo,
    block_lo,
):
    """:func:`_plusplus` on points sorted by grid cell (see :func:`_visit`)."""
    n, d = points.shape
    n_new, n_trials = uniforms.shape
    per_block = block**d
    n_cells = start.shape[0] - 1
    n_blocks = n_cells // per_block
    cell_pot = np.zeros(n_cells)
    cell_max = np.zeros(n_cells)
    block_pot = np.zeros(n_blocks)
    block_max = np.zeros(n_blocks)
    stats = (cell_pot, cell_max, block_pot, block_max)
    geometry = (lo, inv_h, dims, sdims, block, cell_lo, block_lo)
    for c in range(n_cells):
        _cell_stats(points, weights, closest, start, c, cell_pot, cell_max)
    for b in range(n_blocks):
        _block_stats(b, per_block, cell_pot, cell_max, block_pot, block_max)
    indices = np.empty(n_new, np.int64)
    candidates = np.empty(n_trials, np.int64)
    far = np.empty(FAR_BLOCKS, np.int64)
    for c in range(n_new):
        potential = 0.0
        for b in range(n_blocks):
            potential += block_pot[b]
        for t in range(n_trials):
            value = uniforms[c, t] * potential
            candidates[t] = _draw(value, start, weights, closest, per_block, stats)
        reach, n_far = _far_blocks(block_max, far)
        # Each trial's gain, then the best one (the first of equal gains)
        # made a centre: the same visit with apply=True.
        best, best_gain = 0, -np.inf
        for t in range(n_trials + 1):
            apply = t == n_trials
            q = points[candidates[best if apply else t]].copy()
            args = (stats, geometry, reach, far[:n_far], apply)
            gain = _visit(points, weights, closest, start, q, *args)
            if not apply and gain > best_gain:
                best, best_gain = t, gain
        indices[c] = candidates[best]
    return indices
