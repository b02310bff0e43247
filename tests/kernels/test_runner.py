"""The parallel runner (skquant._kernels._runner) follows threadpoolctl and numba."""

import numba
import numpy as np
from threadpoolctl import threadpool_limits

from skquant._kernels._assign import (
    assign_labels,
)
from skquant._kernels._runner import kernel_threads
from tests.kernels._oracle import (
    palette_from,
)

SPACES = ["rgb", "lab", "oklab", "din99o"]
SCALE = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}


def test_threads_follow_threadpoolctl_and_numba(china):
    assert kernel_threads(10) == 1  # small jobs stay on one thread
    big = 1 << 24
    with threadpool_limits(limits=1, user_api="openmp"):
        assert kernel_threads(big) == 1
    previous = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        assert kernel_threads(big) == 1
    finally:
        numba.set_num_threads(previous)
    assert kernel_threads(big) == min(previous, kernel_threads(big))

    pixels = china.reshape(-1, 3)
    palette = palette_from(china, 100, "oklab", 255.0, 0)
    default = assign_labels(pixels, palette, space="oklab", scale=255.0)
    with threadpool_limits(limits=1):
        single = assign_labels(pixels, palette, space="oklab", scale=255.0)
    np.testing.assert_array_equal(default, single)
    assert numba.get_num_threads() == previous  # restored
