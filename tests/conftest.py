import os
import time

import numpy as np
import pytest
from skimage import data
from sklearn.datasets import load_sample_image


def _read_only(image):
    """A session's photo, shared by every test of a worker: read-only, so
    that no test (and no code under test) can change what the tests after
    it see; skquant never writes to its input."""
    image.flags.writeable = False
    return image


@pytest.fixture(scope="session")
def china():
    return _read_only(load_sample_image("china.jpg"))


@pytest.fixture(scope="session")
def flower():
    return _read_only(load_sample_image("flower.jpg"))


@pytest.fixture(scope="session")
def astronaut():
    return _read_only(data.astronaut())


@pytest.fixture(scope="session")
def coffee():
    return _read_only(data.coffee())


@pytest.fixture(scope="session")
def photos(china, flower, astronaut, coffee):
    """Four real photographs of different sizes (uint8 RGB)."""
    return [china, flower, astronaut, coffee]


@pytest.fixture(scope="session")
def logo():
    """scikit-image's logo, RGB: 2,139 colours (flat areas, anti-aliased
    edges) in 545 cells of the 64-bin histogram."""
    return np.ascontiguousarray(data.logo()[..., :3])


def gif_frame(seed=0, n_flat=150, size=(480, 640), tile=16, noisy=0.2):
    """A GIF frame from a lossy source: ``n_flat`` flat colours in tiles of
    ``tile`` pixels (areas following a power law), a share ``noisy`` of the
    pixels off by one level per channel (3,910 colours in 510 cells)."""
    rng = np.random.default_rng(seed)
    colours = rng.integers(1, 255, size=(n_flat, 3))
    p = 1.0 / np.arange(1, n_flat + 1) ** 0.8
    h, w = size
    idx = rng.choice(n_flat, size=(h // tile, w // tile), p=p / p.sum())
    image = colours[np.repeat(np.repeat(idx, tile, 0), tile, 1)]
    hit = rng.random((h, w)) < noisy
    image[hit] += rng.integers(-1, 2, size=(hit.sum(), 3))
    return image.astype(np.uint8)


def sprite(seed=0, n_base=100, per_base=12, size=(480, 640), tile=8):
    """Pixel art: shades (offsets of up to 3 levels) of 100 base colours in
    flat tiles, areas following a power law (1,003 colours in 676 cells)."""
    rng = np.random.default_rng(seed)
    base = rng.integers(8, 248, size=(n_base, 3))
    offsets = rng.integers(-3, 4, size=(n_base, per_base, 3))
    offsets[:, 0] = 0
    colours = np.clip(base[:, None] + offsets, 0, 255).reshape(-1, 3)
    colours = np.unique(colours.astype(np.uint8), axis=0)
    p = 1.0 / np.arange(1, len(colours) + 1) ** 0.8
    p = p[rng.permutation(len(colours))]
    h, w = size
    idx = rng.choice(len(colours), size=(h // tile, w // tile), p=p / p.sum())
    return colours[np.repeat(np.repeat(idx, tile, 0), tile, 1)]


def psnr(a, b, data_range=255.0):
    mse = np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2)
    return 10 * np.log10(data_range**2 / mse)


@pytest.fixture(scope="session")
def small_photos(photos):
    """The four photos at half resolution, for searches that fit many times."""
    return [np.ascontiguousarray(p[::2, ::2]) for p in photos]


# SKQUANT_COMPILE_REPORT=1: after the run, the numba compilations that cost
# the most (exclusive seconds, by kernel and argument types) and the first
# test that needed each. A cold run of the suite spends about 40 % of its
# time compiling; this says where.
_compiles = {}  # (kernel, types) -> [seconds, first test]
_compile_stack = []  # [start, seconds spent in nested compiles]
_current_test = ["(collection)"]

if os.environ.get("SKQUANT_COMPILE_REPORT"):
    from numba.core import event

    class _CompileTimer(event.Listener):
        def on_start(self, ev):
            _compile_stack.append([time.perf_counter(), 0.0])

        def on_end(self, ev):
            start, nested = _compile_stack.pop()
            total = time.perf_counter() - start
            if _compile_stack:
                _compile_stack[-1][1] += total
            func = ev.data["dispatcher"].py_func
            name = f"{func.__module__}.{func.__qualname__}"
            key = (name, ", ".join(map(str, ev.data["args"])))
            entry = _compiles.setdefault(key, [0.0, _current_test[0]])
            entry[0] += total - nested

    event.register("numba:compile", _CompileTimer())

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(item):
        _current_test[0] = item.nodeid
        yield

    def pytest_terminal_summary(terminalreporter):
        report = terminalreporter
        total = sum(seconds for seconds, _ in _compiles.values())
        report.section(f"numba compilation: {total:.1f} s in {len(_compiles)}")
        worst = sorted(_compiles.items(), key=lambda kv: -kv[1][0])[:40]
        for (name, types), (seconds, test) in worst:
            report.write_line(f"{seconds:7.2f} s  {name}({types[:160]})  <- {test}")
