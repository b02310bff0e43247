"""The compiled colour conversions (skquant._kernels._colorspace) against
the NumPy reference, :mod:`skquant._color`."""

import os
import subprocess
import sys

import numpy as np
import pytest

from skquant import _color
from skquant._kernels._colorspace import (
    SPACE_CODES,
    SpaceCode,
    cbrt,
    linear_to_work_rows,
    srgb_decode_array,
)

SPACES = ("rgb", "lab", "oklab", "din99o")


@pytest.mark.parametrize("space", SPACES)
def test_linear_to_work_matches_color_module(space):
    rng = np.random.default_rng(0)
    lin = np.concatenate(
        [
            rng.random((2000, 3)),
            np.eye(3),
            np.zeros((1, 3)),
            np.ones((1, 3)),
            # Around the sRGB and CIELAB knees.
            np.full((1, 3), _color._SRGB_LINEAR_KNEE),
            np.full((1, 3), 0.008856),
            rng.random((200, 3)) * 0.01,
        ]
    )
    expected = _color.linear_to_working(lin, space)
    np.testing.assert_allclose(linear_to_work_rows(lin, space), expected, atol=1e-12)


def test_fast_cube_root():
    values = np.concatenate(
        [
            [0.0, -0.0, 1.0, -8.0, 27.0, 1e-35, -1e-35, 1e35, 1e-300, np.inf],
            np.random.default_rng(0).random(10000) ** 4,
            -np.random.default_rng(1).random(1000) * 3,
        ]
    )
    got = np.array([cbrt(v) for v in values])
    np.testing.assert_allclose(got, np.cbrt(values), rtol=1e-15, atol=0)
    assert np.isnan(cbrt(np.nan))


def test_srgb_decode_matches_color_module():
    values = np.linspace(-0.2, 1.2, 1401).reshape(-1, 3)
    np.testing.assert_allclose(
        srgb_decode_array(values), _color.srgb_to_linear(values), rtol=1e-14, atol=1e-15
    )


@pytest.mark.parametrize("space", [*SPACES, "perceptual"])
def test_run_time_space_code_gives_the_same_values(space):
    """A plain integer code (the run-time branch of every space) and the
    literal code (the one converter, chosen while compiling) agree exactly."""
    lin = np.random.default_rng(1).random((500, 3))
    code = SPACE_CODES[space]
    assert isinstance(code, SpaceCode)
    np.testing.assert_array_equal(
        linear_to_work_rows(lin, np.int64(code)), linear_to_work_rows(lin, space)
    )


# In a fresh process with an empty numba cache: which conversions compile.
_COMPILED_CONVERSIONS = """
import sys
import numpy as np
from skquant._kernels import _colorspace as cs
from skquant._kernels._colorspace import linear_to_work_rows
linear_to_work_rows(np.random.default_rng(0).random((10, 3)), sys.argv[1])
names = ["_companded", "_lab_f", "cbrt", "lab_to_din99o", "srgb_encode",
         "_perceptual", "_linear_to_work_any", "_linear_to_work_rows"]
names += [f.__name__ for f in cs.CONVERTERS.values()]
print(" ".join(sorted(n for n in set(names) if getattr(cs, n).signatures)))
"""


@pytest.mark.parametrize(
    ("space", "compiled"),
    [
        ("rgb", "_linear_to_work_rows"),
        ("oklab", "_companded _lab_f _linear_to_work_rows cbrt"),
        ("din99o", "_companded _lab_f _linear_to_work_rows cbrt lab_to_din99o"),
    ],
)
def test_a_space_compiles_only_its_conversion(tmp_path, space, compiled):
    """An 'rgb' kernel does not compile the CIELAB/OKLab/DIN99o code (it
    did: the space was a run-time integer, half the cold compile of the
    assignment kernel)."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    done = subprocess.run(
        [sys.executable, "-c", _COMPILED_CONVERSIONS, space],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == compiled
