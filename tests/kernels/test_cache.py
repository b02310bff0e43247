"""How kernels are cached (skquant._kernels._cache)."""

import ctypes
import ctypes.util
import os
import subprocess
import sys
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


_COMPILE_ONE = """
import sys
import numpy as np
from skquant._kernels._colorspace import _linear_to_work_rows, linear_to_work_rows
linear_to_work_rows(np.zeros((2, 3)), "rgb")
# numba's compiler registries (the typed containers among them) and SciPy
print(
    sum(_linear_to_work_rows.stats.cache_hits.values()),
    "numba.typed.typeddict" in sys.modules,
    "scipy" in sys.modules,
)
"""


def _python(code, **kwargs):
    """Standard output of ``python -c code`` in a fresh process."""
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
        **kwargs,
    ).stdout


def test_kernels_are_cached_on_disk(tmp_path):
    """The second process loads what the first compiled (the cache is set
    up at the first compile, not at import), without numba's compiler
    registries (0.15-0.3 s of a warm start); neither imports SciPy."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    runs = [_python(_COMPILE_ONE, env=env).split() for _ in range(2)]
    assert runs == [["0", "True", "False"], ["1", "False", "False"]]
    assert any(tmp_path.rglob("*.nbi"))


def test_numba_loads_without_pyyaml_or_scipy(tmp_path):
    """Neither is needed by the kernels; PyYAML only reads numba's config
    file, so it is imported when that file exists."""
    code = (
        "import sys, skquant._kernels._assign; "
        "print(*sorted(m for m in ('scipy', 'yaml') if m in sys.modules))"
    )
    found = []
    for config in (False, True):
        if config:
            (tmp_path / _cache.NUMBA_CONFIG_FILE).write_text("debug_cache: 0\n")
        found.append(_python(code, cwd=tmp_path).split())
    assert found == [[], ["yaml"]]


_ALLOCATE = """
import sys
import numpy as np
import numba
from skquant._kernels import _cache
source = (
    "def ramp(n):\\n    out = np.empty(n)\\n"
    "    for i in range(n):\\n        out[i] = i\\n    return out\\n"
)
namespace = {"np": np, "__name__": "skquant._kernels._cache"}
exec(compile(source, _cache.__file__, "exec"), namespace)
ramp = _cache.kernel(namespace["ramp"])
values = ramp(4).tolist()
alone = "numba.np.arrayobj" not in sys.modules
@numba.njit
def plus_one(n):
    return np.zeros(n) + 1.0
print(
    sum(ramp.stats.cache_hits.values()),
    alone,
    values == [0, 1, 2, 3],
    plus_one(2).tolist() == [1.0, 1.0],
    ramp(3).tolist() == [0, 1, 2],
)
"""


def test_loading_a_kernel_that_allocates_imports_no_array_registry(tmp_path):
    """Loaded from the cache, a kernel that allocates (np.empty) runs without
    importing numba's array implementation module (its environment needs
    only the module's name); a function compiled afterwards still works."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    runs = [_python(_ALLOCATE, env=env).split() for _ in range(2)]
    assert runs == [
        ["0", "False", "True", "True", "True"],
        ["1", "True", "True", "True", "True"],
    ]
