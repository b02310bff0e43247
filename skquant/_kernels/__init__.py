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
- ``_diffusion`` (kernels) and ``_dither`` (set-up): dithering;
  ``_diffusion_lanes``: Floyd-Steinberg on four bands of rows at once, in
  the vector lanes of ``_lanes``;
- ``_pool``: pooling pixels into a colour histogram;
- ``_ciede2000``: CIEDE2000 sums for :mod:`skquant.metrics`, and of CIELAB
  pairs (``delta_e_rows``, scikit-image's ``deltaE_ciede2000`` without it).
- ``_lab_chunks`` (sRGB pixels to CIELAB) and ``_pair_memo`` (pairs already
  met): the conversions and memos of ``_ciede2000``.
"""

import importlib

from skquant._kernels import _cache  # noqa: F401  (first: the cache locator)

#: Where each name lives. The modules load on first use (module
#: ``__getattr__``): a plain fit and transform do not load the CIEDE2000
#: kernels, for example (each kernel costs its set-up at import).
_WHERE = {
    "assign_labels": "_assign",
    "map_to_palette": "_assign",
    "nearest_brute": "_assign",
    "take_rows": "_assign",
    "column_range": "_box",
    "ciede2000_sum": "_ciede2000",
    "delta_e_rows": "_ciede2000",
    "DITHER_METHODS": "_dither",
    "dither_labels": "_dither",
    "dither_map": "_dither",
    "flat_weights": "_dither_map",
    "nearest_labels": "_dither",
    "lloyd_kmeans": "_lloyd",
    "pool_cells": "_pool",
    "TASK_CHUNK": "_runner",
    "kernel_threads": "_runner",
    "run_parallel": "_runner",
    "initial_centers": "_seeding",
    "kmeans_plusplus": "_seeding",
}

__all__ = sorted(_WHERE)


def __getattr__(name):
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted({*globals(), *_WHERE})
