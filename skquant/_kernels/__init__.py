"""Compiled kernels (numba) behind one thin Python boundary.

Everything else in skquant calls the names exported here and nothing below
them; the submodules are private to this package and their layout changes
freely.
"""

from skquant._kernels._assign import (
    TASK_CHUNK,
    assign_labels,
    column_range,
    kernel_threads,
    lloyd_kmeans,
    map_to_palette,
    nearest_brute,
    run_parallel,
    take_rows,
)
from skquant._kernels._ciede2000 import ciede2000_sum
from skquant._kernels._dither import (
    DITHER_METHODS,
    dither_labels,
    dither_map,
    nearest_labels,
)
from skquant._kernels._pool import pool_cells
from skquant._kernels._seeding import initial_centers, kmeans_plusplus

__all__ = [
    "DITHER_METHODS",
    "TASK_CHUNK",
    "assign_labels",
    "ciede2000_sum",
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
