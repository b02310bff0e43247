"""How the kernels are compiled and cached, and why the cache cannot go stale.

Compiled functions of :mod:`skquant._kernels` are declared with
:data:`kernel` (``numba.njit`` with ``cache=True, nogil=True``). The guard
below applies to every cached function defined in a file of this package,
whatever decorator it uses.

The rule
--------
numba's on-disk cache checks only the source file of the function it loads:
a kernel whose callee in *another* file changed (or whose module-level
constant, frozen into the machine code, comes from :mod:`skquant._color`)
would be loaded stale. So the freshness stamp of every kernel here is the
hash of *all* the files it can depend on: every ``.py`` file of this package
plus those of ``skquant/_color/`` (:data:`SOURCES_DIGEST`). Editing any of them
recompiles every kernel on next use; nothing needs deleting by hand. This
works with the default ``__pycache__`` location and with
``NUMBA_CACHE_DIR``.

The stamp is put in place by a cache locator registered in front of numba's
own (they stay in charge of where the files go). If a numba release changes
that mechanism, :data:`CACHING` is False and the kernels are compiled
without caching: slower to start, never stale.
"""

import functools
import hashlib
from pathlib import Path

import numba

_PACKAGE = Path(__file__).resolve().parent
#: Files whose content every kernel may depend on.
SOURCES = (*sorted(_PACKAGE.glob("*.py")), *sorted(_PACKAGE.parent.glob("_color/*.py")))


def _digest(paths):
    sha = hashlib.sha256()
    for path in paths:
        sha.update(path.name.encode())
        sha.update(path.read_bytes())
    return sha.hexdigest()


#: Hash of :data:`SOURCES`: the freshness stamp of every cached kernel.
SOURCES_DIGEST = _digest(SOURCES)


def _install_locator():
    """Register the package-wide stamp with numba; False if impossible."""
    try:
        from numba.core.caching import CacheImpl, _CacheLocator
    except ImportError:
        return False

    class PackageStampLocator(_CacheLocator):
        """numba's own locator for the file, with the package's stamp."""

        def __init__(self, inner):
            self._inner = inner

        def ensure_cache_path(self):
            self._inner.ensure_cache_path()

        def get_cache_path(self):
            return self._inner.get_cache_path()

        def get_source_stamp(self):
            return SOURCES_DIGEST

        def get_disambiguator(self):
            return self._inner.get_disambiguator()

        @classmethod
        def from_function(cls, py_func, py_file):
            if Path(py_file).resolve().parent != _PACKAGE:
                return None
            for other in CacheImpl._locator_classes:
                if other is not cls:
                    inner = other.from_function(py_func, py_file)
                    if inner is not None:
                        return cls(inner)
            return None

    classes = getattr(CacheImpl, "_locator_classes", None)
    if not isinstance(classes, list):
        return False
    if not any(c.__name__ == "PackageStampLocator" for c in classes):
        classes.insert(0, PackageStampLocator)
    return True


#: Whether kernels are cached on disk (with the package-wide stamp).
CACHING = _install_locator()

#: The decorator of every kernel: ``@kernel`` or ``@kernel(inline="always")``.
kernel = functools.partial(numba.njit, cache=CACHING, nogil=True)
