"""A fast command line: neither scikit-learn nor SciPy on its usual paths
(issue 13; they took 1.2-1.9 s of a 2 s run on a 0.4 MP photo, and numba
alone imported SciPy's BLAS bindings for 0.2-0.7 s)."""

import importlib
import importlib.util
import subprocess
import sys

import numpy as np
import pytest

from skquant.io import write_image, write_palette

engine = (
    importlib.import_module("skquant._engine")
    if importlib.util.find_spec("skquant._engine")
    else None
)
pytestmark = pytest.mark.skipif(
    not hasattr(engine, "fit"), reason="skquant._engine.fit has not landed"
)


# The command run as ``python -m skquant ARGV`` would, then the modules it
# left in sys.modules (-X importtime also lists imports that were refused).
_RUN_AND_LIST = """
import runpy, sys
sys.argv = ["skquant", *sys.argv[1:]]
try:
    runpy.run_module("skquant", run_name="__main__")
except SystemExit as exc:
    if exc.code:
        raise
print(" ".join(sys.modules), file=sys.stderr)
"""


def imported_modules(argv):
    """Top-level packages and modules imported by ``python -m skquant ARGV``."""
    proc = subprocess.run(
        [sys.executable, "-c", _RUN_AND_LIST, *map(str, argv)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    names = set(proc.stderr.splitlines()[-1].split())
    return names | {name.split(".")[0] for name in names}


@pytest.mark.parametrize(
    "options",
    [
        ["-k", "16"],
        ["-k", "8", "--color-space", "lab", "--dither", "floyd-steinberg"],
        ["--palette", "{tmp}/p.gpl"],
        [
            "-k",
            "8",
            "--keep-colors",
            "{tmp}/p.gpl",
            "--save-palette",
            "{tmp}/{stem}.json",
        ],
        ["-k", "8", "--shared-palette"],
    ],
    ids=["default", "lab-dither", "palette", "keep-colors", "shared"],
)
def test_no_scikit_learn_or_scipy_on_the_command_line(tmp_path, china, options):
    write_image(tmp_path / "photo.png", china)
    rgba = np.dstack([china, np.full(china.shape[:2], 255, np.uint8)])
    rgba[:100, :100, 3] = 0
    write_image(tmp_path / "rgba.png", rgba)
    write_palette(tmp_path / "p.gpl", china[::50, ::50].reshape(-1, 3)[:6])
    options = [o.replace("{tmp}", str(tmp_path)) for o in options]
    inputs = [tmp_path / "photo.png", tmp_path / "rgba.png"]
    if "--dither" in options:  # not applied to images with alpha
        inputs = inputs[:1]
    out = ["-o", f"{tmp_path}/out/"]
    imported = imported_modules([*inputs, *options, *out])
    # not even the SciPy numba imports on its own (skquant._kernels._cache)
    assert "numba" in imported
    assert not imported & {"sklearn", "scipy"}


@pytest.mark.skipif(
    not hasattr(importlib.import_module("skquant._select"), "select_palette"),
    reason="skquant._select.select_palette (engine-only search) has not landed",
)
@pytest.mark.parametrize(
    "options", [["--quality", "60-80"], ["--min-psnr", "28", "-k", "64"]]
)
def test_quality_targets_import_no_scikit_learn(tmp_path, china, options):
    write_image(tmp_path / "photo.png", china)
    out = ["-o", f"{tmp_path}/out.png"]
    imported = imported_modules([tmp_path / "photo.png", *options, *out])
    assert not imported & {"sklearn", "scipy.stats", "scipy.optimize", "skimage"}


def test_numba_still_finds_blas_after_hiding_scipy():
    """Hiding SciPy from numba's start leaves numba's BLAS-backed functions
    working (they import SciPy when compiled), in a fresh process."""
    code = """
import sys
import numpy as np
from skquant._kernels import _cache
_cache._ready_to_compile()  # what the first compile of a kernel runs
import numba
import numba.np.arraymath
assert "scipy" not in sys.modules and numba.np.arraymath._HAVE_BLAS
@numba.njit
def products(a):
    return np.dot(a, a), np.dot(a[0], a[1])
a = np.arange(9.0).reshape(3, 3)
matrix, inner = products(a)
assert np.allclose(matrix, a @ a) and inner == a[0] @ a[1]
print("scipy" in sys.modules)
"""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["True"]


def test_the_parser_names_every_dithering_method():
    """The parser's own list (no numba import) is the kernels' list."""
    from skquant._cli._parser import DITHER_METHODS
    from skquant._kernels import DITHER_METHODS as KERNEL_METHODS

    assert DITHER_METHODS == KERNEL_METHODS


def test_help_imports_no_numba():
    """``skquant --help`` printed after importing numba (0.3 s), for the
    dithering methods' names."""
    imported = imported_modules(["--help"])
    assert "skquant._cli" in imported
    assert not imported & {"numba", "sklearn", "scipy"}


def test_a_plain_run_loads_no_dithering_or_ciede2000_kernels(tmp_path, china):
    """The kernel modules load when first used: a plain 16-colour run has
    no use for the CIEDE2000 or dithering kernels (each kernel costs its
    set-up), not even to check that the dithering method is None."""
    write_image(tmp_path / "photo.png", china)
    argv = [tmp_path / "photo.png", "-k", "16", "-o", f"{tmp_path}/out/", "--force"]
    imported_modules(argv)  # the kernels in the cache (compiled if they were not)
    imported = imported_modules(argv)
    assert "skquant._kernels._assign" in imported
    assert "skquant._kernels._ciede2000" not in imported
    assert "skquant._kernels._dither" not in imported  # checking dither=None
    # loaded without numba's compiler registries (skquant._kernels._cache)
    assert not imported & {"numba.np.arraymath", "numba.np.arrayobj"}


def test_kernel_modules_import_the_cache_locator_first():
    """Importing one kernel module on its own (the package loads the others
    when used) still puts the package-wide cache stamp in place before its
    kernels exist, and imports numba with SciPy hidden."""
    code = """
import sys
import skquant._kernels._pool as pool
assert "skquant._kernels._assign" not in sys.modules
print(type(pool._pool_rgb8._cache._impl.locator).__name__, "scipy" in sys.modules)
"""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["PackageStampLocator", "False"]
