"""The checks where Python hands arrays to the compiled kernels.

A kernel given a palette with the wrong number of channels, or a label beyond
the palette, reads outside its arrays: the interpreter dies with SIGSEGV. The
boundary refuses such input with ValueError/TypeError.
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from skquant import ColorQuantizer
from skquant import _kernels as K

ROOT = Path(__file__).resolve().parents[2]


def test_centres_of_other_channels_are_refused_not_a_crash():
    # Fit on grey (300, 300, 1) then partial_fit on RGB crashed the
    # interpreter: the grey centres (K, 1) went to the 3-channel kernels.
    # The estimator now starts afresh; the kernels refuse such centres.
    rng = np.random.default_rng(0)
    grey = rng.integers(0, 256, (300, 300, 1)).astype(np.uint8)
    rgb = rng.integers(0, 256, (300, 300, 3)).astype(np.uint8)
    quantizer = ColorQuantizer(n_colors=4, random_state=0).fit(grey)
    assert quantizer.partial_fit(rgb).palette_.shape == (4, 3)
    points = rgb.reshape(-1, 3).astype(np.float64)
    with pytest.raises(ValueError, match="3 channels"):
        K.lloyd_kmeans(points, None, np.zeros((4, 1)))
    with pytest.raises(ValueError, match="3 channels"):
        K.assign_labels(points, np.zeros((4, 1)))


@pytest.mark.parametrize(
    "palette, match",
    [
        (np.zeros((0, 3)), "n_colors >= 1"),
        (np.zeros((4, 1)), "3 channels"),
        (np.zeros((4, 4)), "3 channels"),
        (np.array([[0.0, np.nan, 0.0]]), "finite"),
        (np.zeros(3), r"shape \(n_colors, n_channels\)"),
    ],
)
def test_assign_refuses_bad_palettes(palette, match):
    pixels = np.zeros((40000, 3), np.uint8)
    for call in (
        lambda: K.assign_labels(pixels, palette),
        lambda: K.map_to_palette(pixels, palette, np.zeros((len(palette), 3))),
        lambda: K.nearest_brute(pixels, palette),
        lambda: K.dither_labels(
            pixels.reshape(200, 200, 3),
            palette,
            method="floyd-steinberg",
            space="rgb",
            scale=255.0,
        ),
    ):
        with pytest.raises(ValueError, match=match):
            call()


@pytest.mark.parametrize("label", [-1, 5, 1 << 40])
def test_take_rows_refuses_labels_out_of_range(label):
    palette = np.arange(15, dtype=np.uint8).reshape(5, 3)
    labels = np.zeros(1000, np.int64)
    labels[123] = label
    with pytest.raises(ValueError, match=f"got a label {label}"):
        K.take_rows(palette, labels)


def test_refuses_non_numeric_and_unknown_space():
    with pytest.raises(TypeError, match="real numbers"):
        K.assign_labels(np.zeros((5, 3), complex), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="space must be one of"):
        K.assign_labels(np.zeros((5, 3)), np.zeros((2, 3)), space="hsv")
    with pytest.raises(ValueError, match="needs 3-channel"):
        K.assign_labels(np.zeros((5, 4)), np.zeros((2, 4)), space="lab", scale=1.0)


def test_fuzz_in_a_child_process_with_bounds_checks(tmp_path):
    """A bounded fuzz of every entry point never crashes the process.

    The child compiles with ``NUMBA_BOUNDSCHECK=1`` into an empty cache, so an
    out-of-range access is an IndexError there (reported as a failure) rather
    than a silent read; a crash shows as a negative exit status.
    """
    env = dict(os.environ, NUMBA_BOUNDSCHECK="1", NUMBA_CACHE_DIR=str(tmp_path))
    result = subprocess.run(
        [sys.executable, "-m", "tests.kernels._fuzz", "0", "150"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "150 cases, 0 failures" in result.stdout
