"""skquant.show_versions: what a bug report needs."""

import importlib.metadata
import platform

import numba
import sklearn
from threadpoolctl import threadpool_info

import skquant


def test_show_versions_prints_what_a_bug_report_needs(capsys):
    skquant.show_versions()
    out = capsys.readouterr().out
    lines = {
        line.split(":", 1)[0].strip(): line.split(":", 1)[1].strip()
        for line in out.splitlines()
        if ":" in line and not line.endswith(":")  # not a section title
    }
    assert lines["skquant"].startswith(skquant.__version__ + " (")
    assert lines["python"].startswith(platform.python_version())
    assert lines["machine"] == platform.platform()
    for label, dist in [
        ("numpy", "numpy"),
        ("scikit-learn", "scikit-learn"),
        ("scipy", "scipy"),
        ("joblib", "joblib"),
        ("threadpoolctl", "threadpoolctl"),
        ("numba", "numba"),
        ("llvmlite", "llvmlite"),
        ("scikit-image", "scikit-image"),
        ("pillow", "pillow"),
    ]:
        assert lines[label] == importlib.metadata.version(dist), label
    assert lines["scikit-learn"] == sklearn.__version__
    import cv2

    assert lines["opencv"] == cv2.__version__
    # numba: the threads the kernels get and the layer that runs them
    assert lines["threads"] == str(numba.get_num_threads())
    assert lines["threading layer"].split()[0] == numba.threading_layer()
    # every BLAS/OpenMP library threadpoolctl sees, with its thread count
    for library in threadpool_info():
        assert f"threadpoolctl: {library['user_api']}" in out
        assert library["filepath"] in out
    assert out.count("num_threads:") == len(threadpool_info())


def test_show_versions_optional_packages(capsys):
    skquant.show_versions()
    out = capsys.readouterr().out
    try:
        dask_version = importlib.metadata.version("dask")
    except importlib.metadata.PackageNotFoundError:
        assert "dask:" not in out
    else:
        assert f"dask: {dask_version}" in out
