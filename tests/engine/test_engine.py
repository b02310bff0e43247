"""The engine (skquant._engine): no scikit-learn, same results as the estimator."""

import inspect
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from sklearn.utils.random import sample_without_replacement

from skquant import ColorQuantizer, quantize
from skquant._engine import (
    PARAMETERS,
    FittedPalette,
    check_random_state,
    fit,
    sample_indices,
)
from tests._pinned import CONFIGS


@pytest.fixture(scope="module")
def photo(china):
    return np.ascontiguousarray(china[::3, ::3])


def test_engine_imports_neither_scikit_learn_nor_scipy(tmp_path):
    # Blocks both, loads skquant._engine without the package __init__'s
    # lazy names, and runs a fit, a map with dithering and quantize().
    script = textwrap.dedent(
        """
        import sys, importlib.abc
        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path, target=None):
                if name.split(".")[0] in ("sklearn", "scipy"):
                    raise ImportError(f"{name} imported by the engine")
        sys.meta_path.insert(0, Block())
        import numpy as np
        from skquant import _engine
        rng = np.random.default_rng(0)
        image = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
        fitted = _engine.fit(image, 8, color_space="lab", dither="floyd-steinberg")
        out = fitted.map(image)
        assert out.shape == image.shape
        assert len(np.unique(out.reshape(-1, 3), axis=0)) <= 8
        assert fitted.label(image).shape == (64, 64)
        _engine.quantize(image, 4, backend="opencv")
        assert not [m for m in sys.modules if m.split(".")[0] in ("sklearn", "scipy")]
        print("ok")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "ok"


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_quantize_equals_the_estimator(photo, name):
    params = {"n_colors": 16, **CONFIGS[name]}
    expected = ColorQuantizer(random_state=0, **params).fit_transform(photo)
    np.testing.assert_array_equal(quantize(photo, **params), expected)


def test_fitted_palette_holds_what_mapping_needs(photo):
    fitted = fit(photo, 8, color_space="oklab", dither="bayer")
    assert isinstance(fitted, FittedPalette)
    assert fitted.palette.dtype == np.uint8 and fitted.palette.shape == (8, 3)
    assert fitted.space.color_space == "oklab" and not fitted.space.alpha
    assert fitted.space.dtype == np.uint8 and fitted.space.n_channels == 3
    assert fitted.dither == "bayer"
    q = ColorQuantizer(8, color_space="oklab", dither="bayer", random_state=0)
    np.testing.assert_array_equal(fitted.map(photo), q.fit_transform(photo))
    np.testing.assert_array_equal(fitted.label(photo), q.predict(photo))
    with pytest.raises(ValueError, match="dtype float64, but the palette"):
        fitted.map(photo / 255.0)


def test_parameters_are_declared_once():
    signature = inspect.signature(ColorQuantizer.__init__).parameters
    declared = {n: p.default for n, p in signature.items() if n != "self"}
    assert declared == {name: default for name, (default, _) in PARAMETERS.items()}


@pytest.mark.parametrize(
    "n_population, n_samples",
    [
        (1000, 5),
        (100_000, 900),
        (1000, 150),
        (1000, 300),
        (1000, 995),
        (50, 50),
        (12_000_000, 100_000),  # the OpenCV backend's default sample of 12 MP
    ],
)
@pytest.mark.parametrize("seed", [0, 1, 42])
def test_sample_indices_are_scikit_learns(n_population, n_samples, seed):
    ours = sample_indices(n_population, n_samples, check_random_state(seed))
    theirs = sample_without_replacement(n_population, n_samples, random_state=seed)
    np.testing.assert_array_equal(ours, theirs)
    # and the stream continues where scikit-learn's leaves it
    a, b = np.random.RandomState(seed), np.random.RandomState(seed)
    sample_indices(n_population, n_samples, a)
    sample_without_replacement(n_population, n_samples, random_state=b)
    assert a.randint(1 << 30) == b.randint(1 << 30)


def test_check_random_state():
    rng = np.random.RandomState(3)
    assert check_random_state(rng) is rng
    assert check_random_state(None) is np.random.mtrand._rand
    with pytest.raises(ValueError, match="cannot be used to seed"):
        check_random_state("seed")
