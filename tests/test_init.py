"""The top-level package: lazy imports, public names, a fast start."""

import importlib
import subprocess
import sys

import pytest

import skquant

HEAVY = ("sklearn", "scipy", "cv2", "skimage", "numba", "PIL")


def _modules_after(code):
    """Heavy modules loaded by ``code`` in a fresh interpreter."""
    probe = (
        f"{code}\nimport sys\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    return done.stdout.split()


def test_import_skquant_loads_no_heavy_dependency():
    assert _modules_after("import skquant") == []
    assert _modules_after("import skquant; skquant.__version__; dir(skquant)") == []


def test_quantize_imports_neither_scikit_learn_nor_scipy():
    """quantize() runs on the engine and the kernels: neither scikit-learn
    nor SciPy (not even the SciPy numba would import on its own)."""
    code = """
import os
import skimage.data
import skquant
from skquant.io import read_image
# read with Pillow: skimage.data.astronaut() itself would import SciPy
photo = read_image(os.path.join(skimage.data.data_dir, "astronaut.png"))
skquant.quantize(photo, 8, random_state=0)
skquant.quantize(photo, 8, color_space="lab", dither="floyd-steinberg", random_state=0)
"""
    loaded = _modules_after(code)
    assert "numba" in loaded
    assert "sklearn" not in loaded and "scipy" not in loaded


def test_metrics_module_imports_scikit_image_when_used():
    assert "skimage" not in _modules_after("import skquant.metrics")


def test_names_load_on_first_use():
    assert _modules_after("import skquant; skquant.ColorQuantizer") != []
    for name, module_name in skquant._LAZY.items():
        module = importlib.import_module(module_name)
        if module_name == f"skquant.{name}":
            assert getattr(skquant, name) is module
        else:
            assert getattr(skquant, name) is getattr(module, name)
    assert set(skquant._LAZY) | {"__version__"} == set(skquant.__all__)
    from skquant import _quantizer, io, metrics, plotting

    assert skquant.ColorQuantizer is _quantizer.ColorQuantizer
    assert skquant.io is io
    assert skquant.metrics is metrics
    assert skquant.plotting is plotting


def test_all_and_dir():
    assert sorted(skquant.__all__) == sorted(
        [
            "ColorQuantizer",
            "quantize",
            "select_n_colors",
            "quantize_files",
            "show_versions",
            "io",
            "metrics",
            "plotting",
            "__version__",
        ]
    )
    assert set(skquant.__all__) <= set(dir(skquant))
    for name in skquant.__all__:
        assert getattr(skquant, name) is not None
    namespace = {}
    exec("from skquant import *", namespace)
    assert set(skquant.__all__) <= set(namespace)


def test_unknown_name():
    with pytest.raises(AttributeError, match="has no attribute 'ColourQuantizer'"):
        skquant.ColourQuantizer  # noqa: B018
    assert not hasattr(skquant, "_quantizer_")
    with pytest.raises(ImportError, match="cannot import name 'nope'"):
        exec("from skquant import nope", {})
