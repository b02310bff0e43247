"""``skquant.show_versions()``: what a bug report needs, in one call.

Versions of skquant, Python and every library it uses, the platform, how
many threads the compiled kernels get (numba's threading layer and thread
count) and the BLAS/OpenMP libraries loaded in the process, as
:mod:`threadpoolctl` sees them.
"""

import importlib
import importlib.metadata
import os
import platform
import sys

#: (label, import name, distribution name) of what skquant imports; the
#: first group is required, the second optional (extras).
REQUIRED = (
    ("numpy", "numpy", "numpy"),
    ("scikit-learn", "sklearn", "scikit-learn"),
    ("scipy", "scipy", "scipy"),
    ("joblib", "joblib", "joblib"),
    ("threadpoolctl", "threadpoolctl", "threadpoolctl"),
    ("numba", "numba", "numba"),
    ("llvmlite", "llvmlite", "llvmlite"),
    ("opencv", "cv2", "opencv-python-headless"),
    ("scikit-image", "skimage", "scikit-image"),
    ("pillow", "PIL", "pillow"),
)
OPTIONAL = (
    ("dask", "dask", "dask"),
    ("distributed", "distributed", "distributed"),
    ("matplotlib", "matplotlib", "matplotlib"),
    ("tqdm", "tqdm", "tqdm"),
)


def _version(import_name, distribution):
    """Version of an importable package, or None when it is missing.

    The module's own ``__version__`` comes first: OpenCV, for one, ships
    under several distribution names.
    """
    try:
        module = importlib.import_module(import_name)
    except ImportError:
        return None
    version = getattr(module, "__version__", None)
    if version is None:
        try:
            version = importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            version = "unknown"
    return str(version)


def _system_info():
    from skquant._version import __version__

    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count()
    return {
        "skquant": f"{__version__} ({os.path.dirname(os.path.abspath(__file__))})",
        "python": sys.version.replace("\n", " "),
        "executable": sys.executable,
        "machine": platform.platform(),
        "cpus": f"{os.cpu_count()} ({usable} usable by this process)",
    }


def _dependency_info():
    info = {label: _version(name, dist) for label, name, dist in REQUIRED}
    for label, name, dist in OPTIONAL:
        version = _version(name, dist)
        if version is not None:
            info[label] = version
    return info


def _numba_info():
    """numba's thread count, threading layer and cache settings."""
    try:
        import numba
    except ImportError:
        return {}
    n_threads = numba.get_num_threads()  # starts the threading layer
    try:
        layer = numba.threading_layer()
    except ValueError:  # no parallel region has run yet
        layer = "not started"
    return {
        "threads": str(n_threads),
        "threading layer": f"{layer} (requested: {numba.config.THREADING_LAYER})",
        "NUMBA_NUM_THREADS": str(numba.config.NUMBA_NUM_THREADS),
        "cache dir": os.environ.get("NUMBA_CACHE_DIR") or "__pycache__ beside sources",
        "boundscheck": str(os.environ.get("NUMBA_BOUNDSCHECK", "off")),
    }


def _threadpool_info():
    """threadpoolctl's view of the BLAS and OpenMP libraries in use."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    # scikit-learn brings its OpenMP runtime, NumPy and SciPy their BLAS
    for name in ("numpy", "scipy.linalg", "sklearn.cluster"):
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    return threadpool_info()


def _lines(title, info, missing="not installed"):
    width = max(len(key) for key in info) if info else 0
    yield f"\n{title}:"
    for key, value in info.items():
        yield f"{key:>{width}}: {missing if value is None else value}"


def show_versions():
    """Print skquant's environment: what a bug report needs.

    Prints the versions of skquant, Python and the libraries it uses
    (numpy, scikit-learn, SciPy, joblib, threadpoolctl, numba, llvmlite,
    OpenCV, scikit-image, Pillow, and dask, distributed, matplotlib and tqdm
    when installed), the platform and CPU count, numba's thread count and
    threading layer, and the BLAS and OpenMP libraries loaded in the
    process with their thread counts (from :mod:`threadpoolctl`). Paste the
    output into the issue.

    See Also
    --------
    sklearn.show_versions : The same for scikit-learn.

    Examples
    --------
    >>> import skquant
    >>> skquant.show_versions()  # doctest: +ELLIPSIS
    <BLANKLINE>
    System:
    ...
    Python dependencies:
    ...
    """
    out = []
    out.extend(_lines("System", _system_info()))
    out.extend(_lines("Python dependencies", _dependency_info()))
    out.extend(_lines("numba (compiled kernels)", _numba_info()))
    for library in _threadpool_info():
        title = f"threadpoolctl: {library['user_api']} ({library['internal_api']})"
        shown = {
            key: library.get(key)
            for key in ("prefix", "version", "num_threads", "threading_layer")
            if key in library
        }
        shown["filepath"] = library.get("filepath")
        out.extend(_lines(title, shown, missing="unknown"))
    print("\n".join(out))
