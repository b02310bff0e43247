"""Compiled kernels (numba) behind one thin Python boundary.

Everything else in skquant calls the names exported here and nothing below
them. Each entry point checks once what it hands to compiled code (shapes,
dtypes, channel counts, finite non-empty palettes, labels in range:
:mod:`skquant._kernels._checks`) and raises ValueError or TypeError; no
input can crash the process.

Layout (one concept per module):

- ``_cache``: how kernels are compiled and cached (the stale-cache rule);
- ``_runner``: the one parallel runner, honouring threadpoolctl;
- ``_colorspace``: colour conversions, written once;
- ``_grid``: the one candidate-grid nearest-colour search;
- ``_assign``: labels and colours of pixels (transform, predict);
- ``_lloyd``, ``_seeding``: k-means on pooled colours;
- ``_diffusion`` (kernel) and ``_dither`` (set-up): dithering;
- ``_pool``: pooling pixels into a colour histogram;
- ``_ciede2000``: CIEDE2000 sums for :mod:`skquant.metrics`, and of CIELAB
  pairs (``delta_e_rows``, scikit-image's ``deltaE_ciede2000`` without it).
"""

from skquant._kernels import _cache  # noqa: F401  (first: the cache locator)
from skquant._kernels._assign import (
    assign_labels,
    map_to_palette,
    nearest_brute,
    take_rows,
)
from skquant._kernels._box import column_range
from skquant._kernels._ciede2000 import ciede2000_sum, delta_e_rows
from skquant._kernels._dither import (
    DITHER_METHODS,
    dither_labels,
    dither_map,
    nearest_labels,
)
from skquant._kernels._lloyd import lloyd_kmeans
from skquant._kernels._pool import pool_cells
from skquant._kernels._runner import TASK_CHUNK, kernel_threads, run_parallel
from skquant._kernels._seeding import initial_centers, kmeans_plusplus

__all__ = [
    "DITHER_METHODS",
    "TASK_CHUNK",
    "assign_labels",
    "ciede2000_sum",
    "delta_e_rows",
    "column_range",
    "dither_labels",
    "dither_map",
    "initial_centers",
    "kernel_threads",
    "kmeans_plusplus",
    "lloyd_kmeans",
    "map_to_palette",
    "nearest_brute",
    "nearest_labels",
    "pool_cells",
    "run_parallel",
    "take_rows",
]
