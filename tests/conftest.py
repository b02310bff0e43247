import os
import time

import numpy as np
import pytest
from skimage import data
from sklearn.datasets import load_sample_image


@pytest.fixture(scope="session")
def china():
    return load_sample_image("china.jpg")


@pytest.fixture(scope="session")
def flower():
    return load_sample_image("flower.jpg")


@pytest.fixture(scope="session")
def astronaut():
    return data.astronaut()


@pytest.fixture(scope="session")
def coffee():
    return data.coffee()


@pytest.fixture(scope="session")
def photos(china, flower, astronaut, coffee):
    """Four real photographs of different sizes (uint8 RGB)."""
    return [china, flower, astronaut, coffee]


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
