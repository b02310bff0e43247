"""How kernels are cached (skquant._kernels._cache)."""

import ctypes
import ctypes.util
from pathlib import Path

import pytest
from numba.core.errors import NumbaWarning

from skquant._kernels import _cache


def test_a_kernel_that_cannot_be_cached_warns_and_runs():
    """numba warns (and compiles without caching) when a kernel holds a
    process-specific pointer; with the package's cache locator it raised
    AttributeError ('_py_file') instead."""
    libm = ctypes.CDLL(ctypes.util.find_library("m"))
    fabs = libm.fabs
    fabs.restype, fabs.argtypes = ctypes.c_double, [ctypes.c_double]
    namespace = {"fabs": fabs}
    # a function "defined in" a file of the package, as the kernels are
    source = "def magnitude(x):\n    return fabs(x)\n"
    exec(compile(source, str(Path(_cache.__file__)), "exec"), namespace)
    magnitude = _cache.kernel(namespace["magnitude"])
    with pytest.warns(NumbaWarning, match="Cannot cache"):
        assert magnitude(-2.5) == 2.5
