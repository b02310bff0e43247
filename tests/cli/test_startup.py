"""A fast command line: no scikit-learn (nor the SciPy it brings) on its
usual paths (issue 13; they took 1.2-1.9 s of a 2 s run on a 0.4 MP photo)."""

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


def imported_modules(argv):
    """Top-level packages and modules imported by ``python -m skquant ARGV``."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "skquant", *map(str, argv)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    names = {
        line.rsplit("|", 1)[-1].strip()
        for line in proc.stderr.splitlines()
        if line.startswith("import time:")
    }
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
    # numba imports SciPy's BLAS bindings when SciPy is installed; what
    # scikit-learn would bring (stats, optimize, sparse) must not come.
    heavy = {"sklearn", "scipy.stats", "scipy.optimize", "scipy.sparse"}
    assert not imported & heavy


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
