"""How kernels are cached (skquant._kernels._cache)."""

import ctypes
import ctypes.util
import os
import re
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
    # data files named by their signature's hash, not numbered (see below)
    names = [path.name for path in tmp_path.rglob("*.nbc")]
    assert names
    assert all(re.fullmatch(r".+\.[0-9a-f]{24}\.nbc", name) for name in names), names


def test_processes_saving_signatures_at_once_keep_each_its_own_code(tmp_path):
    """numba numbers a kernel's data files by the first number its index
    does not use: two processes that read the index before either saved
    both pick file 1, and the index could name, for one signature, the
    other's machine code (loaded and run without an error). Named by a
    hash of the stamp and the signature, each signature's data file is its
    own, written before an index names it; an index entry can be lost, not
    point to other code."""
    from numba.core.caching import IndexDataCacheFile

    keyed = _cache._keyed_class()
    assert issubclass(keyed, IndexDataCacheFile)

    def cache_file(stamp="stamp"):
        return keyed(str(tmp_path), "kernel-10.py311", stamp)

    first, second = cache_file(), cache_file()
    key_1, key_2 = (("sig", 1), "target"), (("sig", 2), "target")
    assert first.keyed_name(key_1) == second.keyed_name(key_1)
    assert first.keyed_name(key_1) != first.keyed_name(key_2)
    assert cache_file("other").keyed_name(key_1) != first.keyed_name(key_1)

    # Both processes read the index before either saved (a stale view), and
    # the second saves while the first writes.
    first._load_index = second._load_index = lambda: {}
    save_data = first._save_data

    def interleaved(name, data):
        second.save(key_2, "code of 2")
        save_data(name, data)

    first._save_data = interleaved
    first.save(key_1, "code of 1")
    for key, code in ((key_1, "code of 1"), (key_2, "code of 2")):
        assert cache_file().load(key) in (None, code)
    assert cache_file().load(key_1) == "code of 1"
    # Saved again (compiled again later), the lost entry comes back.
    cache_file().save(key_2, "code of 2")
    assert cache_file().load(key_2) == "code of 2"
    assert cache_file().load(key_1) == "code of 1"


def test_the_kernels_caches_name_data_files_by_key():
    from skquant._kernels._colorspace import _linear_to_work_rows

    cache = _linear_to_work_rows._cache
    assert type(cache._real()._cache_file) is _cache._keyed_class()


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


def test_a_save_removes_the_data_files_its_index_does_not_name(tmp_path):
    """A hash is new for every stamp (every edit of the package), where
    numbered files were overwritten: the files of earlier stamps, and
    numbered ones, go at the next save; other kernels' files stay."""
    keyed = _cache._keyed_class()
    old = keyed(str(tmp_path), "kernel-10.py311", "old stamp")
    old.save(("sig", 1), "old code")
    (tmp_path / "kernel-10.py311.1.nbc").write_bytes(b"numbered")
    (tmp_path / "other-10.py311.2.nbc").write_bytes(b"another kernel's")
    new = keyed(str(tmp_path), "kernel-10.py311", "new stamp")
    new.save(("sig", 2), "new code")
    names = sorted(path.name for path in tmp_path.glob("*.nbc"))
    assert names == sorted([new.keyed_name(("sig", 2)), "other-10.py311.2.nbc"])
    assert new.load(("sig", 2)) == "new code"
    assert new.load(("sig", 1)) is None
