"""Compiling on two cores when numba's cache is cold (the first use).

The first process after an install or an edit of the kernels compiles every
kernel it calls, one after the other, on one core (about 1 s each). When
that happens, the process (the *main* one) starts one helper process that
compiles, into numba's on-disk cache, kernels the same work will need later
(the k-means iterations, mapping and dithering for the same settings,
dtype and colour space: :mod:`skquant._warm_helper`), while the main
process compiles what it needs first (pooling, seeding). Neither compiles
a kernel twice: before compiling one, a process claims it (a file created
with ``O_EXCL`` in a folder the two share); a process that needs a kernel
the other has claimed waits for it to be saved, then loads it from the
cache.

When nothing is compiled (a warm cache) none of this runs: the helper is
started at the first compile of a process (:func:`before_compile`), and
only if a fit has said what is coming (:func:`expect`, a few attribute
reads). The helper is started at most once per process, and never by a
helper.

Safety
------
- numba writes cache files atomically (a temporary file, then
  ``os.replace``); two processes saving signatures of one kernel at once
  could lose an entry of its index (then compiled again later), so saves
  of one kernel are serialised with a lock file (:func:`saving`). (An
  entry never names another signature's code, whatever the processes:
  see "Processes that compile at once" in :mod:`skquant._kernels._cache`.)
- A waiting process stops waiting when the other one exits (or after
  :data:`WAIT_SECONDS`) and compiles the kernel itself.
- The helper is reaped by a thread of the main process (no zombie); at the
  main process's exit it is stopped (SIGTERM: Python's clean-up runs, and
  numba's temporary files are removed).
- The claim folder is a fresh temporary folder; if it or the helper cannot
  be made, the process compiles alone, as before.
- ``SKQUANT_BACKGROUND_COMPILE=0`` turns it off.
"""

import atexit
import contextlib
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

#: Environment variable naming the claim folder (set in the helper only).
ENV_DIR = "SKQUANT_COMPILE_DIR"
#: Environment variable with the helper's work (JSON of :func:`expect`).
ENV_PLAN = "SKQUANT_COMPILE_PLAN"
#: Environment variable with the main process's id (set in the helper).
ENV_MAIN = "SKQUANT_COMPILE_MAIN"
#: ``SKQUANT_BACKGROUND_COMPILE=0`` turns the helper off.
ENV_SWITCH = "SKQUANT_BACKGROUND_COMPILE"
#: Longest wait for a kernel the other process is compiling.
WAIT_SECONDS = 300.0
#: Settings the helper repeats (the rest keep their defaults).
PLAN_SETTINGS = (
    "n_colors",
    "color_space",
    "alpha",
    "channel_order",
    "dither",
    "dither_strength",
    "dither_adaptive",
    "keep_transparent_rgb",
)

_lock = threading.Lock()
_plan = None  # what the main process's fit said is coming
_exact = False  # the command line: does exactly what its fit says
_helper = None  # main process: {"dir": ..., "proc": Popen}, once started
_tried = False  # main process: the helper was started (or could not be)


def command_line():
    """The command line does what its settings say: no dithering later
    unless asked (the estimator's users often dither after a plain fit)."""
    global _exact
    _exact = True


def expect(settings, layout):
    """Record what a fit will compile (called by the fit, before its kernels).

    Only attribute reads: nothing happens unless a kernel is then compiled.
    """
    global _plan
    if _plan is not None or _tried:
        return
    try:
        plan = {name: getattr(settings, name, None) for name in PLAN_SETTINGS}
        array = layout.arrays[0]
        plan.update(
            dtype=array.dtype.str,
            n_channels=int(layout.n_channels),
            # what the kernels see: a non-contiguous array is copied (writable)
            readonly=not array.flags.writeable and array.flags.c_contiguous,
            image=any(a.ndim >= 3 for a in layout.arrays),
            exact=_exact,
        )
        json.dumps(plan)
    except Exception:  # noqa: BLE001 (an unusual input or setting: no helper)
        return
    _plan = plan


def _folder():
    """The claim folder of this process, or None (no helper, no claims)."""
    in_helper = os.environ.get(ENV_DIR)
    if in_helper:
        return in_helper
    return _helper["dir"] if _helper else None


def _start_helper():
    """Start the helper once, if a fit said what is coming."""
    global _helper, _tried
    with _lock:
        if _tried or _plan is None or os.environ.get(ENV_DIR):
            return
        _tried = True
        if os.environ.get(ENV_SWITCH, "1") == "0" or (os.cpu_count() or 1) < 2:
            return
        try:
            folder = tempfile.mkdtemp(prefix="skquant-compile-")
        except OSError:
            return
        env = dict(os.environ)
        env.update(
            {ENV_DIR: folder, ENV_PLAN: json.dumps(_plan), ENV_MAIN: str(os.getpid())}
        )
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "skquant._warm_helper"],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        except OSError:
            _remove(folder)
            return
        _helper = {"dir": folder, "proc": proc}
    # reaped as soon as it ends (no zombie); the claims stay until this
    # process ends (a later miss must not compile what the helper saved)
    threading.Thread(target=proc.wait, daemon=True).start()
    atexit.register(_stop, proc, folder)


def _stop(proc, folder):
    """At exit: stop a helper still compiling (SIGTERM: it cleans up), then
    remove the claim folder."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    _remove(folder)


def _remove(folder):
    for name in os.listdir(folder) if os.path.isdir(folder) else ():
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(folder, name))
    with contextlib.suppress(OSError):
        os.rmdir(folder)


def _key(py_func, sig):
    text = f"{py_func.__module__}.{py_func.__qualname__}{sig}"
    return hashlib.sha1(text.encode()).hexdigest()


def _other_alive():
    """Whether the process on the other side still runs."""
    if os.environ.get(ENV_DIR):  # in the helper: its parent, the main process
        return str(os.getppid()) == os.environ.get(ENV_MAIN)
    return _helper is not None and _helper["proc"].poll() is None


def before_compile(py_func, sig):
    """Called when ``py_func`` is about to be compiled for ``sig``.

    Returns True if the other process has just saved it (load it from the
    cache), False to compile it here (claimed by this process, or no helper).
    """
    _start_helper()
    folder = _folder()
    if folder is None:
        return False
    key = _key(py_func, sig)
    try:
        os.close(os.open(os.path.join(folder, key + ".claim"), os.O_CREAT | os.O_EXCL))
        return False  # ours
    except FileExistsError:
        pass
    except OSError:
        return False
    done = os.path.join(folder, key + ".done")
    deadline = time.monotonic() + WAIT_SECONDS
    while not os.path.exists(done):
        if not _other_alive() or time.monotonic() > deadline:
            return os.path.exists(done)
        time.sleep(0.005)
    return True


@contextlib.contextmanager
def saving(py_func, sig):
    """Around numba's save of one compiled kernel: one saver per kernel at a
    time, then mark it done for a process waiting on it."""
    folder = _folder()
    if folder is None:
        yield
        return
    lock = None
    try:
        import fcntl

        lock = os.open(
            os.path.join(folder, _key(py_func, ()) + ".lock"), os.O_CREAT | os.O_RDWR
        )
        fcntl.flock(lock, fcntl.LOCK_EX)
    except (ImportError, OSError):
        pass
    try:
        yield
    finally:
        if lock is not None:
            os.close(lock)  # releases the lock
        with contextlib.suppress(OSError):
            key = _key(py_func, sig)
            os.close(os.open(os.path.join(folder, key + ".done"), os.O_CREAT))
