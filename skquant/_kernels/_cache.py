"""How the kernels are compiled and cached, and why the cache cannot go stale.

Compiled functions of :mod:`skquant._kernels` are declared with
:data:`kernel` (``numba.njit`` with ``nogil=True``, cached on disk). The guard
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

Start-up: no SciPy
------------------
The kernels use nothing of SciPy, but numba imports it twice on its own:
``import scipy`` to check its version when numba is imported, and
``scipy.linalg.cython_blas`` when its array-function registry
(``numba.np.arraymath``) is loaded, before anything is compiled (0.2-0.7 s
of a command that takes 1 s). So this module imports numba, and the
registry before the first compile (:func:`_ready_to_compile`), with SciPy
hidden from the importing thread (:class:`_Hidden`: other threads import
it as usual), then tells the registry what it would have found
(:func:`_restore_blas`). numba's BLAS-backed functions (``np.dot`` of
matrices, ``np.linalg``) import SciPy when they are compiled, as before;
none is used here. PyYAML is hidden the same way when the current folder
has no numba configuration file (:data:`NUMBA_CONFIG_FILE`, the only thing
numba reads with it).

Start-up: loading compiled kernels
----------------------------------
Each kernel's on-disk cache is set up when the kernel is first compiled or
loaded (:class:`_CacheOnFirstCompile`), not when its module is imported:
numba's set-up checks that the cache folder is writable with a temporary
file, for each kernel, and a run calls few of them.

Before loading a kernel from the cache, numba refreshes its whole compiler:
it imports and installs every typing and lowering registry (the array
functions, typed containers, random generators, ...: 0.15-0.3 s at the
first call of a process), which machine code loaded from disk does not
use. :meth:`_CacheOnFirstCompile.load_overload` sets up only what loading
needs (numba's NRT runtime, whose symbols the code links to) and leaves
the refresh to a compile: when a kernel is not in the cache (or cannot be
loaded that way), numba's own load and compile run as before. While it
loads, the environments of numba's own functions (array allocation) are
rebuilt without importing their modules (:func:`_numba_environments`).

Processes that compile at once
------------------------------
numba names the data file of a compiled signature by the first number its
index does not use yet. Two processes that compile two signatures of one
kernel at the same time (two pytest workers, a pool of processes, each
calling skquant for the first time) can both read the index before either
saves: both pick file 1, and the index can end up naming, for one
signature, the machine code of the other. Kernels whose signatures differ
only by a literal (the colour space of error diffusion) then load and run
the other's code without an error: wrong labels. Here the data file of a
signature is named by a hash of the stamp and the signature itself
(:func:`_keyed_cache_file`), and written before the index names it: a
process that missed another's entry writes its own file, and an index
entry can only name the code of its own signature. (An entry can still be
lost when two processes rewrite the index at once; that signature is
compiled again later.) A save removes the kernel's data files that its
index does not name, those of earlier stamps among them.
"""

import contextlib
import functools
import hashlib
import importlib.util
import os
import re
import sys
import threading
from pathlib import Path


class _Hidden:
    """A meta-path finder that makes imports of ``packages`` fail in one thread."""

    def __init__(self, packages):
        self.thread = threading.get_ident()
        self.packages = packages

    def find_spec(self, name, path=None, target=None):
        if threading.get_ident() == self.thread and name.split(".")[0] in self.packages:
            raise ModuleNotFoundError(f"{name} hidden while numba loads", name=name)
        return None


#: numba's configuration file, read with PyYAML (numba imports PyYAML on
#: import only to read it).
NUMBA_CONFIG_FILE = ".numba_config.yaml"


@contextlib.contextmanager
def _hidden_from_numba():
    """Hide SciPy, and PyYAML when there is no numba configuration file,
    from imports of this thread (unless already imported)."""
    packages = {"scipy", "yaml"} - set(sys.modules)
    if os.path.exists(NUMBA_CONFIG_FILE):
        packages.discard("yaml")
    finder = _Hidden(packages)
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)


def _restore_blas(arraymath):
    """Give numba's array registry the BLAS flag it would have computed.

    It tested BLAS by importing ``scipy.linalg.cython_blas`` (hidden here);
    with SciPy installed the answer is yes, and numba imports SciPy when a
    function that needs it is compiled.
    """
    if not hasattr(arraymath, "_HAVE_BLAS") or "scipy" in sys.modules:
        return
    try:  # a finder may refuse even the look-up, as numba's check allows
        arraymath._HAVE_BLAS = importlib.util.find_spec("scipy") is not None
    except ImportError:
        arraymath._HAVE_BLAS = False


with _hidden_from_numba():
    import numba


def _ready_to_compile():
    """Import numba's array-function registry with SciPy hidden (numba's
    refresh before any compile imports it, and SciPy with it)."""
    if "numba.np.arraymath" not in sys.modules:
        with _hidden_from_numba():
            import numba.np.arraymath
        _restore_blas(numba.np.arraymath)


#: Whether numba's NRT runtime is set up in this process (``[True]``).
_RUNTIME_READY = []


def _ready_to_load(target_context):
    """Set up what loading compiled code needs: numba's NRT runtime (the
    allocation functions the machine code links to). False if that fails
    (numba's full refresh then runs, as it would have)."""
    if not _RUNTIME_READY:
        try:
            from numba.core.runtime import rtsys

            rtsys.initialize(target_context)
        except Exception:  # noqa: BLE001 (an unknown numba: its own way)
            return False
        _RUNTIME_READY.append(True)
    return True


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


@functools.cache
def _in_package(py_file):
    """Whether ``py_file`` is a file of this package (resolved once per file)."""
    return Path(py_file).resolve().parent == _PACKAGE


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

        def __getattr__(self, name):
            # what numba reads of its own locators (``_py_file`` when it
            # warns that a kernel cannot be cached)
            if name == "_inner":
                raise AttributeError(name)
            return getattr(self._inner, name)

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
            if not _in_package(py_file):
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
if not CACHING:  # every kernel is compiled: numba refreshes at the first
    _ready_to_compile()


@contextlib.contextmanager
def _numba_environments():
    """While compiled code is unpickled: the environments of numba's own
    functions whose module is not imported yet get the module's name only.

    A compiled function's environment holds the globals of its module and
    its constants; nopython code reads only the constants (the globals are
    read by object-mode code, which numba's array functions are not).
    numba's unpickling imports the module for the globals: loading a kernel
    that allocates an array imports ``numba.np.arrayobj`` and the string
    implementation behind it (0.04-0.07 s), which nothing else needs.
    """
    try:
        from numba.core import environment
    except ImportError:
        yield
        return
    rebuild = environment._rebuild_env

    def rebuild_env(modname, consts, env_name):
        if (
            not isinstance(modname, str)
            or not modname.startswith("numba.")
            or modname in sys.modules
            or environment.lookup_environment(env_name) is not None
        ):
            return rebuild(modname, consts, env_name)
        env = environment.Environment({"__name__": modname})
        env.consts[:] = consts
        env.env_name = env_name
        environment.Environment._memo[env_name] = env
        return env

    environment._rebuild_env = rebuild_env
    try:
        yield
    finally:
        environment._rebuild_env = rebuild


class _CacheOnFirstCompile:
    """numba's on-disk cache of one kernel, set up when it is first compiled.

    Setting it up finds the cache folder and checks that it is writable (a
    temporary file per kernel): for every kernel of every module imported,
    most of which a run never calls. Everything numba asks of it is passed
    to the real cache, made on first use.
    """

    def __init__(self, py_func):
        self._py_func = py_func
        self._cache = None

    def __getattr__(self, name):
        if name.startswith("__") or name in ("_py_func", "_cache"):
            raise AttributeError(name)
        return getattr(self._real(), name)

    def _real(self):
        if self._cache is None:
            from numba.core.caching import FunctionCache

            self._cache = _keyed_cache_file(FunctionCache(self._py_func))
        return self._cache

    def load_overload(self, sig, target_context):
        """Load one compiled signature, or None (numba then compiles it).

        numba refreshes the whole compiler first (imports and installs every
        typing and lowering registry: 0.15-0.3 s at the first call of a
        process), which loading machine code does not need; only the NRT
        runtime must be set up (its symbols are linked into the code).
        """
        cache = self._real()
        data = None
        if _ready_to_load(target_context):
            try:
                with _numba_environments(), cache._guard_against_spurious_io_errors():
                    data = cache._load_overload(sig, target_context)
            except Exception:  # noqa: BLE001 (numba's own load, below, decides)
                data = None
        if data is None:  # numba's refresh, load, then compile on a miss
            _ready_to_compile()
            data = cache.load_overload(sig, target_context)
        if data is None:
            from skquant import _warm

            if _warm.before_compile(self._py_func, sig):  # compiled meanwhile
                data = cache.load_overload(sig, target_context)
        return data

    def save_overload(self, sig, data):
        """numba's save of a compiled signature (see :mod:`._warm`)."""
        from skquant import _warm

        with _warm.saving(self._py_func, sig):
            self._real().save_overload(sig, data)


@functools.cache
def _keyed_class():
    """numba's index-and-data cache file, with data files named by their key."""
    from numba.core.caching import IndexDataCacheFile

    class KeyedCacheFile(IndexDataCacheFile):
        def base(self):
            """The kernel's part of its files' names (its index's, less ``.nbi``)."""
            return self._index_name[: -len(".nbi")]

        def keyed_name(self, key):
            """The data file of ``key``: a function of the stamp and the key
            alone, the same in every process."""
            text = repr((self._source_stamp, key)).encode()
            return f"{self.base()}.{hashlib.sha256(text).hexdigest()[:24]}.nbc"

        def save(self, key, data):
            name = self.keyed_name(key)
            self._save_data(name, data)  # before any index names it
            overloads = self._load_index()
            if overloads.get(key) != name:
                overloads[key] = name
                self._save_index(overloads)
            self.remove_unnamed(set(overloads.values()))

        def remove_unnamed(self, named):
            """Remove this kernel's data files that the index does not name:
            those of earlier stamps (numbered ones did get overwritten; a
            hash is new for every edit of the package). One another process
            has just written, before its index entry, is compiled again."""
            pattern = re.compile(re.escape(self.base()) + r"\.\w+\.nbc")
            with contextlib.suppress(OSError):
                for entry in os.scandir(self._cache_path):
                    if entry.name not in named and pattern.fullmatch(entry.name):
                        with contextlib.suppress(OSError):
                            os.remove(entry.path)

    return KeyedCacheFile


def _keyed_cache_file(cache):
    """``cache`` (numba's ``FunctionCache``) with its data files named by a
    hash of the stamp and the signature (see the module's notes); an
    unknown numba keeps its own."""
    from numba.core.caching import IndexDataCacheFile

    if type(getattr(cache, "_cache_file", None)) is IndexDataCacheFile:
        cache._cache_file.__class__ = _keyed_class()
    return cache


def _njit(*args, **options):
    """``numba.njit(..., nogil=True)`` with the cache set up on first compile."""
    options = {"nogil": True, **options}
    if args and callable(args[0]):
        return _lazily_cached(numba.njit(*args, **options))
    return lambda func: _lazily_cached(numba.njit(func, **options))


def _lazily_cached(dispatcher):
    if CACHING and type(getattr(dispatcher, "_cache", None)).__name__ == "NullCache":
        dispatcher._cache = _CacheOnFirstCompile(dispatcher.py_func)
    elif CACHING:  # an unknown numba: its own way
        dispatcher.enable_caching()
    return dispatcher


#: The decorator of every kernel: ``@kernel`` or ``@kernel(inline="always")``.
kernel = _njit
